"""Staff tender detail and review: relevance, notes, overrides, staff picks.

The detail page shows everything the database knows of one tender: its fields, the
classification with the evidence for each code (worded by :mod:`service.explain`, as
``hankintavahti explain`` prints it), the overrides in force, every notice with what it
changed and its raw payload. The forms below it change the tender the way the command
line does: an override goes through :func:`models.classification.set_override` and
:func:`crawler.classification.tenders.classify_tender`, which bumps the tender's
revision so that matching sees the corrected classification on its next run.

Everything in a notice comes from the internet: templates autoescape it, the raw
payloads are shown as text, and only ``http``/``https`` addresses become links.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload
from werkzeug.wrappers import Response

from alerts.compose import Mailer
from alerts.render import NATURE_WORDS, PROCEDURE_WORDS, STATUS_WORDS, format_moment, format_money, safe_url
from config.errors import InputError
from crawler.classification.sectors import cpv_label
from crawler.classification.tenders import classify_tender
from models.classification import Regions, set_override
from models.db import session_scope
from models.notice import Notice
from models.review import StaffPick, TenderReview
from models.tender import Tender
from service.explain import evidence_line, override_regions, region_choice, region_name
from web.auth import current_staff, login_required
from web.public import NOTICE_KIND_WORDS, notice_history

blueprint = Blueprint("review", __name__, url_prefix="/henkilokunta/hankinnat")

#: What the relevance choices read as.
RELEVANCE_WORDS = {"relevant": "olennainen paikallisille yrityksille", "not_relevant": "ei olennainen"}
#: The region field's word for the whole country.
NATIONWIDE_WORDS = ("koko maa", "koko suomi")
LEVEL_HEADINGS = (("region", "Maakunnat"), ("subregion", "Seutukunnat"), ("municipality", "Kunnat"))


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        yield session


def _username() -> str:
    staff = current_staff()
    assert staff is not None  # login_required let this request through
    return staff.username


def _not_found() -> tuple[str, int]:
    return render_template("public/not_found.html", title="Hankintaa ei löydy"), 404


def _back(tender_id: int) -> Response:
    return redirect(url_for("review.detail", tender_id=tender_id))


# --- reading the forms ------------------------------------------------------------------------


def chosen_regions(text: str, nationwide: bool) -> Regions:
    """What staff wrote in the region field (codes of any level or names, comma-separated) as an override.

    Each place is widened as ``hankintavahti override --region`` widens it
    (:func:`service.explain.override_regions`). "koko maa" in the text is the same as the checkbox.
    """
    choices: list[tuple[str, str]] = []
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        if part.lower() in NATIONWIDE_WORDS:
            nationwide = True
            continue
        try:
            choices.append(region_choice(part))
        except InputError:
            raise InputError(
                f"Aluetta ”{part}” ei tunneta. Anna maakunnan, seutukunnan tai kunnan koodi tai nimi "
                "(esim. 05, 053, Forssa tai kunta:051) tai ”koko maa”."
            ) from None
    if not (choices or nationwide):
        raise InputError("Anna ainakin yksi alue tai valitse koko maa.")
    return override_regions(choices, nationwide=nationwide)


def chosen_sectors(slugs: list[str]) -> list[str]:
    known = _mailer().sectors
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise InputError(f"Tuntematon toimiala: {', '.join(unknown)}.")
    if not slugs:
        raise InputError("Valitse ainakin yksi toimiala.")
    return list(dict.fromkeys(slugs))


def _note() -> str | None:
    return request.form.get("note", "").strip() or None


# --- the detail page --------------------------------------------------------------------------


@dataclass(frozen=True)
class Fact:
    label: str
    value: str


def _moment(value: datetime | None) -> str:
    return format_moment(value, _mailer().timezone) if value else "–"


def _facts(tender: Tender, now: datetime) -> list[Fact]:
    """Every stored field of the tender, in Finnish."""
    status = tender.effective_status(now)
    cpv = [code for code in dict.fromkeys([tender.cpv_main, *(tender.cpv or [])]) if code]
    buyer = "–"
    if tender.buyer is not None:
        buyer = tender.buyer.name + (f" ({tender.buyer.business_id})" if tender.buyer.business_id else "")
    winners = "; ".join(
        " ".join(str(part) for part in (row.get("name"), row.get("business_id")) if part)
        for row in tender.winners or []
    )
    places = "; ".join(
        ", ".join(str(value) for value in place.values() if value) for place in tender.places or [] if place
    )
    return [
        Fact("Tunnus", f"{tender.id} ({tender.key})"),
        Fact("Hankkija", buyer),
        Fact("Ilmoituksen laji", NOTICE_KIND_WORDS.get(tender.kind, tender.kind)),
        Fact("Tila", STATUS_WORDS.get(status, status)),
        Fact("Määräaika", _moment(tender.deadline)),
        Fact("Arvioitu arvo", format_money(tender.estimated_value, tender.currency) or "–"),
        Fact("Hankintalaji", NATURE_WORDS.get(tender.contract_nature or "", tender.contract_nature or "–")),
        Fact("Menettely", PROCEDURE_WORDS.get(tender.procedure_type or "", tender.procedure_type or "–")),
        Fact("CPV-koodit", "; ".join(f"{code} {cpv_label(code) or ''}".strip() for code in cpv) or "–"),
        Fact("Suorituspaikat", places or "–"),
        Fact("Voittajat", winners or "–"),
        Fact("Toteutunut arvo", format_money(tender.awarded_value, tender.awarded_currency) or "–"),
        Fact("Ensimmäinen julkaisu", _moment(tender.first_published_at)),
        Fact("Viimeisin julkaisu", _moment(tender.last_published_at)),
        Fact("Versio", f"{tender.revision} (hälytykset käsitelty: {tender.matched_revision})"),
    ]


def _classification(tender: Tender) -> dict[str, Any]:
    """The classification as ``hankintavahti explain`` words it: codes by level, evidence, overrides."""
    stored = tender.classification or {}
    levels: dict[str, list[str]] = {level: [] for level, _ in LEVEL_HEADINGS}
    for row in tender.regions:
        levels[row.level].append(row.code)
    evidence = stored.get("evidence", [])
    sectors = _mailer().sectors
    overrides = []
    for aspect, row in stored.get("overrides", {}).items():
        computed = stored.get("computed", {})
        given = (
            computed.get("municipalities") or computed.get("regions")
            if aspect == "regions"
            else computed.get("sectors")
        )
        overrides.append(
            {
                "aspect": "Alue" if aspect == "regions" else "Toimialat",
                "author": row["author"],
                "at": _moment(datetime.fromisoformat(row["at"])),
                "note": row.get("note"),
                "computed": ", ".join(given or ["–"]),
            }
        )
    return {
        "levels": [
            (heading, [region_name(level, code) for code in sorted(levels[level])]) for level, heading in LEVEL_HEADINGS
        ],
        "nationwide": tender.nationwide,
        "sectors": [f"{row.slug}: {sectors.get(row.slug, row.slug)}" for row in tender.sectors],
        "region_evidence": [evidence_line(e) for e in evidence if e["aspect"] != "sector"],
        "sector_evidence": [evidence_line(e) for e in evidence if e["aspect"] == "sector"],
        "overrides": overrides,
    }


def _payload_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace")


def _notices(session: Session, tender: Tender) -> list[dict[str, Any]]:
    """The public page's history (what each notice changed) with each notice's source and raw payloads."""
    history = notice_history(session, tender)
    notices = session.scalars(
        select(Notice)
        .where(Notice.tender_id == tender.id, Notice.status == "ok")
        .order_by(Notice.published_at.asc().nulls_first(), Notice.id)
    ).all()
    return [
        {
            **entry,
            "source": f"{notice.source.upper()} {notice.source_id}",
            "payloads": [(name, _payload_text(raw)) for name, raw in sorted(notice.payloads().items())],
        }
        for entry, notice in zip(history, notices, strict=True)
    ]


@blueprint.get("/<int:tender_id>")
@login_required
def detail(tender_id: int) -> str | tuple[str, int]:
    now = datetime.now(UTC)
    with _session() as session:
        tender = session.get(
            Tender,
            tender_id,
            options=[selectinload(Tender.buyer), selectinload(Tender.regions), selectinload(Tender.sectors)],
        )
        if tender is None:
            return _not_found()
        review = session.get(TenderReview, tender_id)
        pick = _pending_pick(session, tender_id)
        page = {
            "id": tender.id,
            "title": tender.title or "(nimetön hankinta)",
            "description": tender.description,
            "facts": _facts(tender, now),
            "notice_url": safe_url(tender.url),
            "documents_url": safe_url(tender.documents_url),
            "classification": _classification(tender),
            "notices": _notices(session, tender),
            "sector_slugs": [row.slug for row in tender.sectors],
            "review": {
                "relevance": review.relevance if review else None,
                "relevance_words": RELEVANCE_WORDS.get(review.relevance or "", "ei arvioitu") if review else None,
                "note": review.note if review else "",
                "by": review.reviewed_by if review else None,
                "at": _moment(review.reviewed_at) if review else None,
            },
            "pick": {"by": pick.picked_by, "at": _moment(pick.picked_at), "note": pick.note} if pick else None,
        }
    return render_template(
        "review/detail.html",
        title=f"Hankinta {tender_id}: {page['title']}",
        tender=page,
        sectors=_mailer().sectors,
        relevance_words=RELEVANCE_WORDS,
    )


# --- actions ----------------------------------------------------------------------------------


def _pending_pick(session: Session, tender_id: int) -> StaffPick | None:
    return session.scalars(
        select(StaffPick).where(StaffPick.tender_id == tender_id, StaffPick.digest_run_id.is_(None)).limit(1)
    ).first()


@blueprint.post("/<int:tender_id>/arvio")
@login_required
def review(tender_id: int) -> Response | tuple[str, int]:
    """Mark the tender relevant or not (or clear the mark), with a note: one review per tender, the latest word."""
    relevance = request.form.get("relevance", "")
    if relevance not in (*RELEVANCE_WORDS, ""):
        flash("Valitse, onko hankinta olennainen.", "error")
        return _back(tender_id)
    with _session() as session:
        if session.get(Tender, tender_id) is None:
            return _not_found()
        row = session.get(TenderReview, tender_id)
        if row is None:
            row = TenderReview(tender_id=tender_id)
            session.add(row)
        row.relevance = relevance or None
        row.note = _note()
        row.reviewed_by = _username()
        row.reviewed_at = datetime.now(UTC)
    flash("Arvio tallennettu." if relevance else "Arvio tyhjennetty.", "ok")
    return _back(tender_id)


@blueprint.post("/<int:tender_id>/luokitus")
@login_required
def override(tender_id: int) -> Response | tuple[str, int]:
    """Override the regions or sectors, or lift an override; then classify again, as ``hankintavahti override``."""
    aspect = request.form.get("aspect", "")
    lift = request.form.get("action") == "clear"
    if aspect not in ("regions", "sectors"):
        flash("Valitse, korjataanko aluetta vai toimialoja.", "error")
        return _back(tender_id)
    try:
        value: dict[str, Any] | None = None
        if not lift and aspect == "regions":
            value = chosen_regions(request.form.get("regions", ""), request.form.get("nationwide") == "on").as_json()
        elif not lift:
            value = {"sectors": chosen_sectors(request.form.getlist("sectors"))}
    except InputError as error:
        flash(str(error), "error")
        return _back(tender_id)
    with _session() as session:
        tender = session.get(Tender, tender_id)
        if tender is None:
            return _not_found()
        set_override(session, tender, aspect, value, author=_username(), note=_note())
        classify_tender(session, tender)
    word = "Alueen" if aspect == "regions" else "Toimialojen"
    flash(f"{word} korjaus poistettu." if lift else f"{word} korjaus tallennettu; hälytykset seuraavat sitä.", "ok")
    return _back(tender_id)


@blueprint.post("/<int:tender_id>/poiminta")
@login_required
def pick(tender_id: int) -> Response | tuple[str, int]:
    """Pick the tender for the next weekly digest, or take a pending pick back (a shown pick stays in history)."""
    unpick = request.form.get("action") == "unpick"
    with _session() as session:
        if session.get(Tender, tender_id) is None:
            return _not_found()
        pending = _pending_pick(session, tender_id)
        if unpick and pending is not None:
            session.delete(pending)
        elif not unpick and pending is None:
            session.add(
                StaffPick(tender_id=tender_id, picked_by=_username(), picked_at=datetime.now(UTC), note=_note())
            )
    flash("Poiminta peruttu." if unpick else "Poimittu seuraavaan viikkokoosteeseen.", "ok")
    return _back(tender_id)
