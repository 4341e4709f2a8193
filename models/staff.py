"""Staff users of the review app and the login attempts that rate-limit them.

Passwords are kept only as werkzeug scrypt hashes. Login attempts are rows rather
than counters in memory, so that the limit holds across the processes and threads
of the web server and survives a restart: five failures for one username or from
one address within :data:`LOGIN_WINDOW` close the door until the window has passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Boolean, CheckConstraint, Index, String, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from werkzeug.security import check_password_hash, generate_password_hash

from config.errors import InputError
from models.base import Base
from models.types import UtcDateTime

MIN_PASSWORD_LENGTH = 10
MAX_USERNAME_LENGTH = 64
#: Failed attempts within the window after which logging in is refused.
MAX_FAILED_LOGINS = 5
LOGIN_WINDOW = timedelta(minutes=15)
#: Attempts older than this are of no use to the limit and are deleted.
KEEP_ATTEMPTS = timedelta(days=1)
USERNAME_PATTERN = re.compile(r"[\w.@-]+")
#: Compared against when the username is unknown, so that a wrong name costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not a password of anybody", method="scrypt")


class StaffUser(Base):
    """A member of the association's staff who may log in to the review pages."""

    __tablename__ = "staff_users"
    __table_args__ = (CheckConstraint("username = lower(username)", name="username_lower_case"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(MAX_USERNAME_LENGTH), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    def __repr__(self) -> str:
        return f"StaffUser({self.id!r}, {self.username!r})"


class LoginAttempt(Base):
    """One try at logging in: who was named, from where, when, and whether it succeeded."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "at"),
        Index("ix_login_attempts_remote_address_at", "remote_address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(MAX_USERNAME_LENGTH))
    remote_address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    success: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class Staff:
    """The logged-in staff member as views see it (no password hash, no session attached)."""

    id: int
    username: str


def normalise_username(username: str) -> str:
    """The stored form: trimmed and lower-cased, so that ``Maija`` and ``maija`` are one user."""
    return username.strip().lower()


def check_new_credentials(username: str, password: str) -> str:
    """The normalised username, or an :class:`InputError` saying what is wrong with the pair."""
    name = normalise_username(username)
    if not name or len(name) > MAX_USERNAME_LENGTH or not USERNAME_PATTERN.fullmatch(name):
        raise InputError(
            f"käyttäjätunnus {username!r} ei kelpaa: käytä kirjaimia, numeroita ja merkkejä . _ - @ "
            f"(enintään {MAX_USERNAME_LENGTH} merkkiä)"
        )
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"salasana on liian lyhyt: vähintään {MIN_PASSWORD_LENGTH} merkkiä")
    return name


def add_staff_user(session: Session, username: str, password: str, *, now: datetime) -> StaffUser:
    """Create a staff user with a hashed password; a taken username is an :class:`InputError`."""
    name = check_new_credentials(username, password)
    if session.scalar(select(StaffUser.id).where(StaffUser.username == name)) is not None:
        raise InputError(f"käyttäjä {name} on jo olemassa: valitse toinen tunnus")
    user = StaffUser(username=name, password_hash=generate_password_hash(password, method="scrypt"), created_at=now)
    session.add(user)
    session.flush()
    return user


def login_blocked_until(session: Session, username: str, remote_address: str, *, now: datetime) -> datetime | None:
    """When logging in for this username or from this address is possible again, or None when it is now.

    Failures count within the window and only after the last success of the same
    username (or address), so that a user who mistyped a few times and then got in
    starts again from zero.
    """
    since = now - LOGIN_WINDOW
    name = normalise_username(username)[:MAX_USERNAME_LENGTH]
    oldest: list[datetime] = []
    for column, value in ((LoginAttempt.username, name), (LoginAttempt.remote_address, remote_address[:64])):
        last_success = session.scalar(
            select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.success.is_(True))
        )
        start = max(since, last_success) if last_success is not None else since
        failures = session.scalars(
            select(LoginAttempt.at)
            .where(column == value, LoginAttempt.success.is_(False), LoginAttempt.at > start)
            .order_by(LoginAttempt.at.desc())
            .limit(MAX_FAILED_LOGINS)
        ).all()
        if len(failures) >= MAX_FAILED_LOGINS:
            oldest.append(failures[-1] + LOGIN_WINDOW)
    return max(oldest) if oldest else None


def authenticate(session: Session, username: str, password: str, remote_address: str, *, now: datetime) -> Staff | None:
    """Check a login and record the attempt; the user when the password is right, else None.

    The caller checks :func:`login_blocked_until` first. An unknown username and a
    wrong password take the same time and give the same None.
    """
    name = normalise_username(username)[:MAX_USERNAME_LENGTH]
    user = session.scalar(select(StaffUser).where(StaffUser.username == name)) if name else None
    correct = check_password_hash(user.password_hash if user else _DUMMY_HASH, password) and user is not None
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - KEEP_ATTEMPTS))
    session.add(LoginAttempt(username=name, remote_address=remote_address[:64], at=now, success=correct))
    if not correct or user is None:
        return None
    user.last_login_at = now
    session.flush()
    return Staff(id=user.id, username=user.username)


def staff_by_id(session: Session, user_id: int) -> Staff | None:
    """The staff member with this id, if they still exist."""
    row = session.execute(select(StaffUser.id, StaffUser.username).where(StaffUser.id == user_id)).first()
    return Staff(id=row.id, username=row.username) if row else None
