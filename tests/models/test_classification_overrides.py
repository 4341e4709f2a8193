"""A tender's stored classification, and staff overrides that outlast recomputation and merges."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.classification import ClassificationOverride, Regions, overrides_in_force, save_classification, set_override
from models.ingest import store_notice
from models.tender import Tender, TenderRegion
from tests.conftest import MakeNotice

FORSSA = Regions(regions=["05"], subregions=["053"], municipalities=["061"])
EVIDENCE = [{"aspect": "municipality", "code": "061", "source": "title", "text": "Forssan", "note": ""}]


def stored_tender(session: Session, make_notice: MakeNotice) -> Tender:
    outcome = store_notice(session, make_notice())
    assert outcome.tender is not None
    return outcome.tender


def codes(tender: Tender) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in tender.regions:
        found.setdefault(row.level, []).append(row.code)
    return {level: sorted(values) for level, values in found.items()}


def test_a_computed_classification_is_stored_as_rows_and_evidence(session: Session, make_notice: MakeNotice) -> None:
    tender = stored_tender(session, make_notice)
    assert save_classification(session, tender, FORSSA, ["siivous", "tarvikkeet"], EVIDENCE) is True
    session.expire_all()
    tender = session.get_one(Tender, tender.id)
    assert codes(tender) == {"region": ["05"], "subregion": ["053"], "municipality": ["061"]}
    assert [(row.slug, row.rank) for row in tender.sectors] == [("siivous", 1), ("tarvikkeet", 2)]
    assert tender.classification["evidence"] == EVIDENCE and tender.nationwide is False
    assert save_classification(session, tender, FORSSA, ["siivous", "tarvikkeet"], EVIDENCE) is False


def test_a_changed_classification_replaces_the_rows_in_place(session: Session, make_notice: MakeNotice) -> None:
    tender = stored_tender(session, make_notice)
    save_classification(session, tender, FORSSA, ["siivous"], EVIDENCE)
    lahti = Regions(regions=["05", "07"], subregions=["071"], municipalities=["398"])
    assert save_classification(session, tender, lahti, ["tarvikkeet", "siivous"], []) is True
    session.expire_all()
    tender = session.get_one(Tender, tender.id)
    assert codes(tender) == {"region": ["05", "07"], "subregion": ["071"], "municipality": ["398"]}
    assert [(row.slug, row.rank) for row in tender.sectors] == [("tarvikkeet", 1), ("siivous", 2)]
    assert session.scalar(select(TenderRegion).where(TenderRegion.code == "061")) is None


def test_a_staff_override_wins_over_the_classifier_and_survives_recomputation(
    session: Session, make_notice: MakeNotice
) -> None:
    tender = stored_tender(session, make_notice)
    save_classification(session, tender, FORSSA, ["siivous"], EVIDENCE)
    heinola = Regions(regions=["07"], subregions=["071"], municipalities=["111"])
    note = "Työmaa on Heinolassa, ks. liite"
    set_override(session, tender, "regions", heinola.as_json(), author="neuvoja.anna", note=note)
    set_override(session, tender, "sectors", {"sectors": ["kiinteistonhoito"]}, author="neuvoja.anna")
    assert save_classification(session, tender, FORSSA, ["siivous"], EVIDENCE) is True  # as a re-crawl would
    assert codes(tender) == {"region": ["07"], "subregion": ["071"], "municipality": ["111"]}
    assert [row.slug for row in tender.sectors] == ["kiinteistonhoito"]
    stored = tender.classification
    assert stored["computed"]["municipalities"] == ["061"] and stored["computed"]["sectors"] == ["siivous"]
    assert stored["overrides"]["regions"]["author"] == "neuvoja.anna"
    assert stored["overrides"]["regions"]["note"] == "Työmaa on Heinolassa, ks. liite"


def test_lifting_an_override_brings_the_computed_classification_back(
    session: Session, make_notice: MakeNotice
) -> None:
    tender = stored_tender(session, make_notice)
    set_override(session, tender, "sectors", {"sectors": ["kiinteistonhoito"]}, author="a")
    save_classification(session, tender, FORSSA, ["siivous"], EVIDENCE)
    assert [row.slug for row in tender.sectors] == ["kiinteistonhoito"]
    set_override(session, tender, "sectors", None, author="b", note="luokittelija osui oikeaan")
    assert overrides_in_force(session, tender.id) == {}
    save_classification(session, tender, FORSSA, ["siivous"], EVIDENCE)
    assert [row.slug for row in tender.sectors] == ["siivous"]
    assert len(session.scalars(select(ClassificationOverride)).all()) == 2  # the history stays


def test_an_override_moves_with_its_notices_when_two_tenders_merge(session: Session, make_notice: MakeNotice) -> None:
    contract = make_notice(kind="contract_notice")
    # the award arrives first and starts its own tender (it names the procedure only by reference)
    award = make_notice(kind="award", procedure_id=None, previous_notices=[contract.full_notice_id],
                        published_at=contract.published_at.replace(year=contract.published_at.year + 1))
    first = store_notice(session, award).tender
    assert first is not None
    set_override(session, first, "sectors", {"sectors": ["kuljetus"]}, author="neuvoja")
    merged = store_notice(session, contract).tender
    assert merged is not None
    session.flush()
    overrides = overrides_in_force(session, merged.id)
    assert overrides["sectors"].value == {"sectors": ["kuljetus"]}
    assert len(session.scalars(select(Tender)).all()) == 1
