"""Storage: SQLAlchemy 2.0 models, the database session, queries, Alembic migrations.

Importing the package registers every table on :data:`Base.metadata`, which is what
the migrations are compared with.
"""

from models.base import Base
from models.classification import ClassificationOverride
from models.company import Company
from models.crawl import CrawlRun
from models.notice import Buyer, Notice, NoticeRef
from models.outbox import Alert, DigestRun, Message
from models.rate_limits import RateLimitHit
from models.review import StaffPick, TenderReview
from models.staff import LoginAttempt, StaffUser
from models.subscriptions import Subscriber, Subscription
from models.tender import Tender, TenderChange, TenderRegion, TenderSector

__all__ = [
    "Alert",
    "Base",
    "Buyer",
    "ClassificationOverride",
    "Company",
    "CrawlRun",
    "DigestRun",
    "LoginAttempt",
    "Message",
    "Notice",
    "NoticeRef",
    "RateLimitHit",
    "StaffPick",
    "StaffUser",
    "Subscriber",
    "Subscription",
    "Tender",
    "TenderChange",
    "TenderRegion",
    "TenderReview",
    "TenderSector",
]
