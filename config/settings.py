"""Settings from the environment and a ``.env`` file.

Every variable is declared once in :data:`VARIABLES` with its default and the help
text shown when it is wrong; ``.env.example`` documents the same list and a test
keeps the two in step. Values already in the environment win over the ``.env``
file, so a deployment can override anything without editing files.

A setting that is needed only by one command (``HILMA_API_KEY`` for crawling HILMA)
is checked when that command asks for it with :meth:`Settings.require`, so that
``hankintavahti tenders`` works on a machine that has no key.

``HANKINTAVAHTI_ENV=production`` is the one switch for a real server: there every
secret comes from the environment (or ``.env``), and a missing or short
``SECRET_KEY`` stops every command at start with one line, instead of a key being
generated into ``var/`` as it is for development and the demo.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values

from config.errors import ConfigurationError

HILMA_KEY_HELP = (
    "Hae maksuton avp-read-avain osoitteesta https://hns-hilma-prod-apim.developer.azure-api.net/ "
    "(rekisteröidy, sitten Products > avp-read > Subscribe) ja lisää se .env-tiedostoon: HILMA_API_KEY=…"
)


@dataclass(frozen=True)
class Variable:
    name: str
    default: str | None
    help: str


VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        "sqlite:///var/hankintavahti.sqlite3",
        "Anna tietokannan osoite, esim. sqlite:///var/hankintavahti.sqlite3 tai postgresql://käyttäjä@palvelin:5432/kanta.",
    ),
    Variable("TIMEZONE", "Europe/Helsinki", "Anna aikavyöhyke, jossa ajat näytetään, esim. Europe/Helsinki."),
    Variable(
        "HILMA_API_URL",
        "https://api.hankintailmoitukset.fi",
        "Anna HILMAn AVP-rajapinnan osoite, joka alkaa http:// tai https://.",
    ),
    Variable("HILMA_API_KEY", None, HILMA_KEY_HELP),
    Variable(
        "HILMA_RATE_LIMIT",
        "6",
        "Anna pyyntöjen määrä minuutissa HILMAan positiivisena lukuna (AVP-rajapinta sallii 6 avainta kohden).",
    ),
    Variable(
        "TED_API_URL", "https://api.ted.europa.eu", "Anna TEDin API v3:n osoite, joka alkaa http:// tai https://."
    ),
    Variable(
        "TED_RATE_LIMIT",
        "60",
        "Anna pyyntöjen määrä minuutissa TEDiin positiivisena lukuna "
        "(rajaa ei ole julkaistu; noin yksi sekunnissa on kohtuullinen).",
    ),
    Variable(
        "PRH_API_URL",
        "https://avoindata.prh.fi/opendata-ytj-api/v3",
        "Anna PRH:n avoimen datan YTJ-rajapinnan (v3) osoite, joka alkaa http:// tai https://.",
    ),
    Variable(
        "PRH_RATE_LIMIT",
        "60",
        "Anna yrityshakujen määrä minuutissa PRH:n rajapintaan positiivisena lukuna "
        "(PRH sallii kaikille käyttäjille yhteensä noin 300 hakua minuutissa).",
    ),
    Variable(
        "CRAWL_RETRIES",
        "5",
        "Anna positiivisena kokonaislukuna, montako kertaa epäonnistunut pyyntö uusitaan ennen kuin haku keskeytyy.",
    ),
    Variable(
        "CRAWL_BACKOFF_SECONDS",
        "2",
        "Anna sekunteina ensimmäisen uusintayrityksen odotus; odotus kaksinkertaistuu joka kerta.",
    ),
    Variable(
        "CRAWL_TIMEOUT_SECONDS",
        "60",
        "Anna sekunteina, kauanko yhden pyynnön vastausta odotetaan.",
    ),
    Variable(
        "CRAWL_INITIAL_DAYS",
        "30",
        "Anna positiivisena kokonaislukuna, montako päivää taaksepäin lähteen ensimmäinen haku ulottuu.",
    ),
    Variable(
        "CRAWL_INTERVAL",
        "15",
        "Anna minuutteina positiivisena lukuna, kuinka usein hankintavahti run hakee uudet ilmoitukset.",
    ),
    Variable(
        "SMTP_URL",
        None,
        "Anna postipalvelimen osoite muodossa smtp://käyttäjä:salasana@palvelin:587 (STARTTLS) tai "
        "smtps://käyttäjä:salasana@palvelin:465. Tyhjänä viestit kirjoitetaan .eml-tiedostoiksi OUTBOX_DIR-kansioon.",
    ),
    Variable(
        "MAIL_FROM",
        "Hankintavahti <hankintavahti@localhost>",
        "Anna lähettäjän osoite, esim. Hankintavahti <hankintavahti@yrittajat.fi>.",
    ),
    Variable(
        "BASE_URL",
        "http://127.0.0.1:8000",
        "Anna palvelun julkinen osoite, jota sähköpostien linkit käyttävät, esim. https://hankintavahti.fi.",
    ),
    Variable(
        "OUTBOX_DIR",
        "var/outbox",
        "Anna kansio, johon viestit kirjoitetaan .eml-tiedostoina, kun SMTP_URL ei ole asetettu.",
    ),
    Variable(
        "SECRET_KEY",
        None,
        "Anna pitkä satunnainen merkkijono (vähintään 32 merkkiä), jolla sähköpostien linkit ja "
        "kirjautumiset allekirjoitetaan, esim. python3 -c 'import secrets; print(secrets.token_urlsafe(32))'. "
        "Tyhjänä avain luodaan tiedostoon var/secret_key, paitsi tuotannossa (HANKINTAVAHTI_ENV=production).",
    ),
    Variable(
        "HANKINTAVAHTI_ENV",
        "development",
        "Anna development (kehitys ja demo) tai production (tuotanto: SECRET_KEY on annettava ympäristössä "
        "tai .env-tiedostossa, eikä palvelu käynnisty ilman sitä).",
    ),
)
_BY_NAME = {variable.name: variable for variable in VARIABLES}
#: HANKINTAVAHTI_ENV's values.
ENVIRONMENTS = ("development", "production")
#: The shortest SECRET_KEY production accepts (secrets.token_urlsafe(32) gives 43 characters).
MIN_SECRET_KEY_LENGTH = 32


@dataclass(frozen=True)
class Settings:
    """Validated settings. Build with :func:`load_settings`."""

    database_url: str
    timezone: ZoneInfo
    hilma_api_url: str
    hilma_api_key: str | None
    hilma_rate_limit: float
    ted_api_url: str
    ted_rate_limit: float
    prh_api_url: str
    prh_rate_limit: float
    crawl_initial_days: int
    crawl_retries: int
    crawl_backoff_seconds: float
    crawl_timeout_seconds: float
    crawl_interval_minutes: float
    smtp_url: str | None
    mail_from: str
    base_url: str
    outbox_dir: Path
    secret_key: str | None
    #: Production: secrets come only from the environment (no key generated into var/), see load_settings.
    production: bool = False

    def require(self, name: str) -> str:
        """Return a setting that this command cannot do without, or explain how to set it."""
        value = getattr(self, name.lower())
        if value in (None, ""):
            raise ConfigurationError(f"{name} puuttuu. {_BY_NAME[name].help}")
        return str(value)


def load_settings(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> Settings:
    """Read the settings: ``environ`` (default ``os.environ``) over ``env_file`` (default ``./.env``)."""
    env_file = env_file if env_file is not None else Path.cwd() / ".env"
    values: dict[str, str | None] = {}
    if env_file.is_file():
        values.update(dotenv_values(env_file))
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        if raw is None or raw.strip() == "":
            return _BY_NAME[name].default
        return raw.strip()

    production = _environment(get("HANKINTAVAHTI_ENV") or "") == "production"
    return Settings(
        database_url=_database_url(get("DATABASE_URL") or ""),
        timezone=_timezone(get("TIMEZONE") or ""),
        hilma_api_url=_http_url("HILMA_API_URL", get("HILMA_API_URL") or ""),
        hilma_api_key=get("HILMA_API_KEY"),
        hilma_rate_limit=_positive_number("HILMA_RATE_LIMIT", get("HILMA_RATE_LIMIT") or ""),
        ted_api_url=_http_url("TED_API_URL", get("TED_API_URL") or ""),
        ted_rate_limit=_positive_number("TED_RATE_LIMIT", get("TED_RATE_LIMIT") or ""),
        prh_api_url=_http_url("PRH_API_URL", get("PRH_API_URL") or ""),
        prh_rate_limit=_positive_number("PRH_RATE_LIMIT", get("PRH_RATE_LIMIT") or ""),
        crawl_initial_days=int(_positive_number("CRAWL_INITIAL_DAYS", get("CRAWL_INITIAL_DAYS") or "", integer=True)),
        crawl_retries=int(_positive_number("CRAWL_RETRIES", get("CRAWL_RETRIES") or "", integer=True)),
        crawl_backoff_seconds=_positive_number("CRAWL_BACKOFF_SECONDS", get("CRAWL_BACKOFF_SECONDS") or ""),
        crawl_timeout_seconds=_positive_number("CRAWL_TIMEOUT_SECONDS", get("CRAWL_TIMEOUT_SECONDS") or ""),
        crawl_interval_minutes=_positive_number("CRAWL_INTERVAL", get("CRAWL_INTERVAL") or ""),
        smtp_url=get("SMTP_URL"),
        mail_from=_mail_from(get("MAIL_FROM") or ""),
        base_url=_http_url("BASE_URL", get("BASE_URL") or ""),
        outbox_dir=Path(get("OUTBOX_DIR") or "var/outbox"),
        secret_key=_secret_key(get("SECRET_KEY"), production=production),
        production=production,
    )


def _wrong(name: str, value: str) -> ConfigurationError:
    return ConfigurationError(f"{name}={value!r} ei kelpaa. {_BY_NAME[name].help}")


def _database_url(value: str) -> str:
    """Accept sqlite and PostgreSQL URLs; PostgreSQL always goes through psycopg 3."""
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme == "sqlite":
        return value
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        return "postgresql+psycopg://" + value.split("://", 1)[1]
    raise _wrong("DATABASE_URL", value)


def _environment(value: str) -> str:
    if value not in ENVIRONMENTS:
        raise _wrong("HANKINTAVAHTI_ENV", value)
    return value


def _secret_key(value: str | None, *, production: bool) -> str | None:
    """In production the key must be given, and long enough not to be guessed; elsewhere one may be generated.

    Development and the demo generate a key into ``var/secret_key`` (:func:`alerts.links.secret_key`).
    A production server must not: a key that lives only in a file on one machine changes when the
    service moves or scales out, and every link in every email sent so far stops working.
    """
    if not production:
        return value
    if not value:
        raise ConfigurationError(
            "SECRET_KEY puuttuu, eikä tuotannossa (HANKINTAVAHTI_ENV=production) avainta luoda itse. "
            + _BY_NAME["SECRET_KEY"].help
        )
    if len(value) < MIN_SECRET_KEY_LENGTH:
        raise ConfigurationError(
            f"SECRET_KEY on liian lyhyt tuotantoon ({len(value)} merkkiä). {_BY_NAME['SECRET_KEY'].help}"
        )
    return value


def _timezone(value: str) -> ZoneInfo:
    try:
        return ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise _wrong("TIMEZONE", value) from None


def _mail_from(value: str) -> str:
    """A sender such as ``Hankintavahti <hv@example.fi>`` or a bare address."""
    from email.utils import parseaddr

    _, address = parseaddr(value)
    if "@" not in address or " " in address:
        raise _wrong("MAIL_FROM", value)
    return value


def _http_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise _wrong(name, value)
    return value.rstrip("/")


def _positive_number(name: str, value: str, integer: bool = False) -> float:
    try:
        number = int(value) if integer else float(value)
    except ValueError:
        raise _wrong(name, value) from None
    if number <= 0:
        raise _wrong(name, value)
    return number
