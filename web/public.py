"""Public pages for entrepreneurs: the front page, the subscribe form and the tender page.

Nobody logs in here. The front page lists the open tenders of Häme (Kanta-Häme and
Päijät-Häme) with filters that are plain GET selects, so a filtered list is a link one
can share. The subscribe form saves an unconfirmed search through
:func:`alerts.subscribe.subscribe`, which queues the confirmation email in the outbox;
the next ``alerts send`` mails it. Everything about a tender comes from the internet,
so templates autoescape it and only ``http``/``https`` addresses become links.

Both forms that send email (subscribe, and ``/tilaukseni`` that mails a subscriber
their manage link) are rate-limited per client address and per email address typed
(:mod:`models.rate_limits`, in the database like the staff login's limit), so that
nobody can use the site to flood someone's inbox; over the limit the answer is 429
with a Finnish page. ``/tilaukseni`` answers the same whether or not the address is
known, so it cannot be used to find out who subscribes.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, selectinload
from werkzeug.datastructures import MultiDict

from alerts.compose import Mailer, queue_manage_link, tender_entry
from alerts.render import (
    NATURE_WORDS,
    PROCEDURE_WORDS,
    STATUS_WORDS,
    Change,
    deadline_line,
    describe_change,
    format_moment,
    format_money,
    render_manage_link,
    safe_url,
)
from alerts.subscribe import FREQUENCY_WORDS, SearchRequest, normalise_email, subscribe
from config.errors import InputError
from crawler.classification.sectors import cpv_label
from models.db import session_scope
from models.notice import Notice
from models.queries import select_tenders
from models.rate_limits import Limit, take
from models.subscriptions import Subscriber
from models.tender import Tender, TenderChange, TenderRegion

blueprint = Blueprint("public", __name__)

#: The maakunta the front page covers: Kanta-Häme and Päijät-Häme (Statistics Finland codes).
HAME = ("05", "07")
#: The front page shows this many tenders at most; the count says how many there are.
FRONT_PAGE_LIMIT = 50
#: Kanta-Häme's sub-regions are offered one by one with their municipalities; Päijät-Häme as a whole.
KANTA_HAME = "05"
PAIJAT_HAME = "07"
NATIONWIDE = "nationwide"

#: What each notice in a tender's history was, in Finnish.
NOTICE_KIND_WORDS: dict[str, str] = {
    "plan": "hankintasuunnitelma",
    "prior_information": "ennakkoilmoitus",
    "contract_notice": "hankintailmoitus",
    "correction": "korjausilmoitus",
    "cancellation": "keskeytysilmoitus",
    "award": "jälki-ilmoitus (hankinnan tulos)",
}


#: Every accepted subscription mails a confirmation: a few per address typed, more per client (an office shares one).
SUBSCRIBE_LIMITS = (
    Limit("subscribe:address", max_hits=20, window=timedelta(hours=1)),
    Limit("subscribe:email", max_hits=5, window=timedelta(hours=1)),
)
#: One manage link is enough; a few allow for a lost email.
MANAGE_LINK_LIMITS = (
    Limit("manage-link:address", max_hits=10, window=timedelta(hours=1)),
    Limit("manage-link:email", max_hits=3, window=timedelta(hours=1)),
)


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        yield session


# --- region and sector choices ----------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    value: str
    label: str


@dataclass(frozen=True)
class SubregionChoice:
    """A sub-region with its municipalities, for the selects and the subscribe form."""

    code: str
    name: str
    maakunta: str
    municipalities: list[Choice]


def subregion_choices() -> list[SubregionChoice]:
    """Häme's sub-regions in code order, each with its municipalities by name."""
    data = _mailer().regions
    result = []
    for code, subregion in sorted(data.subregions.items()):
        if subregion.maakunta not in HAME:
            continue
        towns = sorted(
            (Choice(m.code, m.name_fi) for m in data.municipalities.values() if m.subregion == code),
            key=lambda choice: choice.label,
        )
        result.append(SubregionChoice(code, subregion.name_fi, subregion.maakunta, towns))
    return result


def sector_choices() -> list[Choice]:
    return [Choice(slug, name) for slug, name in _mailer().sectors.items()]


# --- front page -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """The front page's filters, each a known code or None (an unknown value is ignored, not an error)."""

    subregion: str | None = None
    municipality: str | None = None
    sector: str | None = None

    @classmethod
    def from_args(cls, args: MultiDict[str, str], subregions: list[SubregionChoice], sectors: list[Choice]) -> Filters:
        known_subregions = {choice.code for choice in subregions}
        known_towns = {town.value for choice in subregions for town in choice.municipalities}
        known_sectors = {choice.value for choice in sectors}

        def pick(name: str, known: set[str]) -> str | None:
            value = (args.get(name) or "").strip()
            return value if value in known else None

        return cls(
            subregion=pick("seutukunta", known_subregions),
            municipality=pick("kunta", known_towns),
            sector=pick("toimiala", known_sectors),
        )


def _in_region(level: str, codes: tuple[str, ...]) -> Any:
    return exists().where(
        TenderRegion.tender_id == Tender.id, TenderRegion.level == level, TenderRegion.code.in_(codes)
    )


def open_hame_tenders(session: Session, filters: Filters, *, now: datetime) -> tuple[list[Tender], int]:
    """The open tenders of Häme matching ``filters``, soonest deadline first: at most 50, and how many in all."""
    statement = select_tenders(open_only=True, now=now, sector=filters.sector).where(_in_region("region", HAME))
    if filters.subregion:
        statement = statement.where(_in_region("subregion", (filters.subregion,)))
    if filters.municipality:
        statement = statement.where(_in_region("municipality", (filters.municipality,)))
    count = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    tenders = list(session.scalars(statement.limit(FRONT_PAGE_LIMIT)))
    return tenders, count


def _card(tender: Tender, now: datetime) -> dict[str, Any]:
    mailer = _mailer()
    entry = tender_entry(tender, mailer, now)
    line, urgent = deadline_line(entry, now=now, timezone=mailer.timezone)
    return {
        "id": tender.id,
        "title": entry.title,
        "buyer": entry.buyer,
        "place": entry.place,
        "sectors": entry.sectors,
        "deadline": line,
        "urgent": urgent,
        "value": format_money(entry.estimated_value, entry.currency),
    }


@blueprint.get("/")
def front_page() -> str:
    now = datetime.now(UTC)
    subregions = subregion_choices()
    sectors = sector_choices()
    filters = Filters.from_args(request.args, subregions, sectors)
    with _session() as session:
        tenders, count = open_hame_tenders(session, filters, now=now)
        cards = [_card(tender, now) for tender in tenders]
    return render_template(
        "public/index.html",
        title="Hämeen avoimet julkiset hankinnat",
        tenders=cards,
        count=count,
        filters=filters,
        subregions=subregions,
        sectors=sectors,
        form=SubscribeForm(),
        errors={},
        frequencies=FREQUENCY_WORDS,
    )


# --- subscribe --------------------------------------------------------------------------------


@dataclass
class SubscribeForm:
    """What the subscribe form holds, as typed: re-rendered as is when something is wrong."""

    email: str = ""
    name: str = ""
    company: str = ""
    sectors: list[str] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # "subregion:051", "municipality:109", "region:07", "nationwide"
    keywords: str = ""
    frequency: str = "instant"

    @classmethod
    def from_form(cls, form: MultiDict[str, str]) -> SubscribeForm:
        return cls(
            email=form.get("email", "").strip(),
            name=form.get("name", "").strip(),
            company=form.get("company", "").strip(),
            sectors=form.getlist("sectors"),
            regions=form.getlist("regions"),
            keywords=form.get("keywords", "").strip(),
            frequency=form.get("frequency", "instant"),
        )

    def search(self) -> SearchRequest:
        return SearchRequest(
            sectors=self.sectors,
            regions=[value for value in self.regions if value != NATIONWIDE],
            include_nationwide=NATIONWIDE in self.regions,
            keywords=[word.strip() for word in self.keywords.split(",") if word.strip()],
            frequency=self.frequency,
        )


#: Which form field an InputError of :mod:`alerts.subscribe` is about, by how its message starts.
_ERROR_FIELDS = (
    ("sähköpostiosoite", "email"),
    ("tuntematon toimiala", "sectors"),
    ("tuntematon alue", "regions"),
    ("tiheys", "frequency"),
    ("y-tunnus", "company"),
)


def _error_field(message: str) -> str:
    lowered = message.lower()
    return next((name for prefix, name in _ERROR_FIELDS if lowered.startswith(prefix)), "form")


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _subscribe_page(form: SubscribeForm, errors: dict[str, str]) -> str:
    return render_template(
        "public/subscribe.html",
        title="Tilaa hankintavahti",
        form=form,
        errors=errors,
        subregions=subregion_choices(),
        sectors=sector_choices(),
        frequencies=FREQUENCY_WORDS,
    )


@blueprint.get("/tilaa")
def subscribe_form() -> str:
    return _subscribe_page(SubscribeForm(), {})


def _client_address() -> str:
    """The client's address (behind the reverse proxy, from its ``X-Forwarded-For``: see :mod:`web.serve`)."""
    return request.remote_addr or "tuntematon"


def _too_many(until: datetime, now: datetime, what: str) -> Response:
    """429 with a Finnish page that says how long to wait, and ``Retry-After`` for programs."""
    minutes = max(1, math.ceil((until - now).total_seconds() / 60))
    page = render_template(
        "subscriber/message.html",
        title="Liian monta pyyntöä",
        text=f"Lyhyessä ajassa on tehty liian monta {what} samasta verkko-osoitteesta tai samalle "
        f"sähköpostiosoitteelle. Yritä uudelleen {minutes} minuutin kuluttua.",
    )
    return Response(page, status=429, headers={"Retry-After": str(minutes * 60)})


@blueprint.post("/tilaa")
def subscribe_submit() -> str | Response | tuple[str, int]:
    form = SubscribeForm.from_form(request.form)
    if not form.name:
        return _subscribe_page(form, {"name": "Kirjoita nimesi, niin tiedämme, miten sinua tervehditään."}), 400
    now = datetime.now(UTC)
    try:
        with _session() as session:
            # Counted in the same transaction: a refused form (bad input) sends nothing and counts nothing.
            limits = [(SUBSCRIBE_LIMITS[0], _client_address()), (SUBSCRIBE_LIMITS[1], form.email)]
            until = take(session, limits, now=now)
            if until is not None:
                return _too_many(until, now, "tilausta")
            subscription = subscribe(
                session,
                _mailer(),
                email=form.email,
                search=form.search(),
                now=now,
                name=form.name,
                company=form.company or None,
                origin="web",
                confirmed=False,
            )
            email = subscription.subscriber.email
    except InputError as error:
        message = str(error)
        return _subscribe_page(form, {_error_field(message): _sentence(message)}), 400
    return render_template("public/check_email.html", title="Tarkista sähköpostisi", email=email)


# --- the manage link by email -----------------------------------------------------------------


def _manage_link_page(email: str = "", error: str | None = None) -> str:
    return render_template("public/manage_link.html", title="Hakujesi hallintalinkki", email=email, error=error)


@blueprint.get("/tilaukseni")
def manage_link_form() -> str:
    return _manage_link_page()


@blueprint.post("/tilaukseni")
def manage_link_submit() -> str | Response | tuple[str, int]:
    """Mail the manage link to a known address; answer the same for an unknown one.

    The answer, the limit and (roughly) the time taken are the same either way: the
    email is rendered for an unknown address too and then dropped, so neither the page
    nor a stopwatch tells whether someone subscribes.
    """
    typed = request.form.get("email", "").strip()
    try:
        address = normalise_email(typed)
    except InputError as error:
        return _manage_link_page(typed, _sentence(str(error))), 400
    now = datetime.now(UTC)
    mailer = _mailer()
    with _session() as session:
        limits = [(MANAGE_LINK_LIMITS[0], _client_address()), (MANAGE_LINK_LIMITS[1], address)]
        until = take(session, limits, now=now)
        if until is not None:
            return _too_many(until, now, "linkkipyyntöä")
        subscriber = session.scalars(select(Subscriber).where(Subscriber.email == address)).first()
        if subscriber is not None:
            queue_manage_link(session, mailer, subscriber, now=now)
        else:
            render_manage_link(
                recipient_name=None, manage_url=mailer.links.manage(0), now=now, timezone=mailer.timezone
            )
    return render_template("public/manage_link_sent.html", title="Tarkista sähköpostisi", email=address)


# --- tender page ------------------------------------------------------------------------------


def _places(tender: Tender) -> list[str]:
    """Every place of the tender by name: municipalities, then sub-regions, then maakunta; or the whole country."""
    data = _mailer().regions
    names = [data.place_name(row.level, row.code) for row in tender.regions if row.level == "municipality"]
    if not names:
        names = [data.place_name(row.level, row.code) for row in tender.regions if row.level == "subregion"]
    names += [data.place_name(row.level, row.code) for row in tender.regions if row.level == "region"]
    if tender.nationwide:
        names.append("koko maa")
    return names


def _cpv_lines(tender: Tender) -> list[Choice]:
    codes = list(dict.fromkeys([code for code in [tender.cpv_main, *(tender.cpv or [])] if code]))
    return [Choice(code, cpv_label(code) or "") for code in codes]


def notice_history(session: Session, tender: Tender) -> list[dict[str, Any]]:
    """The tender's notices oldest first, each with the changes it made, in two queries."""
    timezone = _mailer().timezone
    notices = session.scalars(
        select(Notice)
        .where(Notice.tender_id == tender.id, Notice.status == "ok")
        .order_by(Notice.published_at.asc().nulls_first(), Notice.id)
    ).all()
    changes: dict[int | None, list[TenderChange]] = defaultdict(list)
    for row in session.scalars(
        select(TenderChange).where(TenderChange.tender_id == tender.id).order_by(TenderChange.id)
    ):
        changes[row.notice_id].append(row)
    history = []
    for notice in notices:
        lines = [
            describe_change(Change(row.field, row.old, row.new), timezone=timezone, currency=tender.currency)
            for row in changes.get(notice.id, [])
        ]
        history.append(
            {
                "published": format_moment(notice.published_at, timezone) if notice.published_at else "ei tiedossa",
                "kind": NOTICE_KIND_WORDS.get(notice.kind or "", notice.kind or "ilmoitus"),
                "url": safe_url(notice.url),
                "changes": lines,
            }
        )
    return history


@blueprint.get("/hankinnat/<int:tender_id>")
def tender_page(tender_id: int) -> str | tuple[str, int]:
    now = datetime.now(UTC)
    mailer = _mailer()
    with _session() as session:
        tender = session.get(
            Tender,
            tender_id,
            options=[selectinload(Tender.buyer), selectinload(Tender.regions), selectinload(Tender.sectors)],
        )
        if tender is None:
            return not_found()
        entry = tender_entry(tender, mailer, now)
        line, urgent = deadline_line(entry, now=now, timezone=mailer.timezone)
        status = tender.effective_status(now)
        page = {
            "title": entry.title,
            "buyer": entry.buyer,
            "places": _places(tender),
            "sectors": entry.sectors,
            "status": STATUS_WORDS.get(status, status),
            "deadline": _capitalised(line.removeprefix("Määräaika ")),  # the label already says "Määräaika"
            "urgent": urgent,
            "value": format_money(tender.estimated_value, tender.currency),
            "procedure": PROCEDURE_WORDS.get(tender.procedure_type or "", tender.procedure_type),
            "nature": NATURE_WORDS.get(tender.contract_nature or "", tender.contract_nature),
            "cpv": _cpv_lines(tender),
            "description": tender.description,
            "notice_url": safe_url(tender.url),
            "documents_url": safe_url(tender.documents_url),
            "history": notice_history(session, tender),
        }
    return render_template("public/tender.html", title=page["title"], tender=page)


@blueprint.app_errorhandler(404)
def not_found(error: Exception | None = None) -> tuple[str, int]:
    return render_template("public/not_found.html", title="Sivua ei löydy"), 404
