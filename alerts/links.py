"""Signed links in emails: confirm a search, manage my searches, stop one search, stop everything; feeds.

The links carry no password: whoever holds the email may act on its subscriber, and
nobody else can, because each token is signed (itsdangerous) with ``SECRET_KEY`` and
a purpose of its own (a "stop this search" token cannot be replayed as "manage").
Tokens do not expire except confirmations: an old email's unsubscribe link must
still work years later.

When ``SECRET_KEY`` is not set (the embedded default) a key is generated once into
``var/secret_key`` so that links stay valid across restarts. Production
(``HANKINTAVAHTI_ENV=production``) never gets here without a key: the settings refuse
to load without one (:mod:`config.settings`).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from config.errors import InputError
from config.settings import Settings

SECRET_KEY_FILE = Path("var/secret_key")
CONFIRM_MAX_AGE_SECONDS = 30 * 24 * 3600

PURPOSES = ("confirm", "manage", "unsubscribe", "unsubscribe-all", "feed")
#: The formats of a search's feed: Atom for new matches, iCalendar for the deadlines.
FEED_FORMATS = ("atom", "ics")


class InvalidLinkError(InputError):
    """A token that is forged, altered, of another purpose or expired."""


def secret_key(settings: Settings, *, key_file: Path = SECRET_KEY_FILE) -> str:
    """``SECRET_KEY``, or the generated one kept in ``var/secret_key``."""
    if settings.secret_key:
        return settings.secret_key
    if key_file.is_file():
        stored = key_file.read_text(encoding="utf-8").strip()
        if stored:
            return stored
    key_file.parent.mkdir(parents=True, exist_ok=True)
    generated = secrets.token_urlsafe(32)
    descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(generated + "\n")
    return generated


@dataclass(frozen=True)
class Links:
    """Builds and reads the signed links of one installation (its public address and key)."""

    base_url: str
    key: str

    @classmethod
    def from_settings(cls, settings: Settings) -> Links:
        return cls(base_url=settings.base_url.rstrip("/"), key=secret_key(settings))

    # tokens -------------------------------------------------------------------------

    def token(self, purpose: str, value: Any) -> str:
        if purpose not in PURPOSES:
            raise ValueError(purpose)
        if purpose == "confirm":
            return URLSafeTimedSerializer(self.key, salt=purpose).dumps(value)
        return URLSafeSerializer(self.key, salt=purpose).dumps(value)

    def read(self, purpose: str, token: str) -> Any:
        """The value a token carries, or :class:`InvalidLinkError` in Finnish."""
        try:
            if purpose == "confirm":
                return URLSafeTimedSerializer(self.key, salt=purpose).loads(token, max_age=CONFIRM_MAX_AGE_SECONDS)
            return URLSafeSerializer(self.key, salt=purpose).loads(token)
        except SignatureExpired:
            raise InvalidLinkError("vahvistuslinkki on vanhentunut: tilaa haku uudelleen") from None
        except BadSignature:
            raise InvalidLinkError("linkki ei kelpaa: se on vanhentunut tai muuttunut matkalla") from None

    # urls -----------------------------------------------------------------------------

    def confirm(self, subscription_id: int) -> str:
        return f"{self.base_url}/tilaus/vahvista/{self.token('confirm', subscription_id)}"

    def manage(self, subscriber_id: int) -> str:
        return f"{self.base_url}/tilaus/hallinta/{self.token('manage', subscriber_id)}"

    def unsubscribe(self, subscription_ids: list[int]) -> str:
        """Stop these searches (one, or all that an email covered); also the RFC 8058 one-click target."""
        return f"{self.base_url}/tilaus/lopeta/{self.token('unsubscribe', sorted(subscription_ids))}"

    def unsubscribe_all(self, subscriber_id: int) -> str:
        return f"{self.base_url}/tilaus/lopeta-kaikki/{self.token('unsubscribe-all', subscriber_id)}"

    def feed(self, subscription_id: int, fmt: str) -> str:
        """A search's Atom (``atom``) or iCalendar (``ics``) feed: a URL that feed readers and calendars poll."""
        if fmt not in FEED_FORMATS:
            raise ValueError(fmt)
        return f"{self.base_url}/syote/{self.token('feed', subscription_id)}.{fmt}"
