"""Classification as staff meet it: filters by region level, explain, override, reclassify."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models.notice import Notice
from models.tender import Tender, TenderRegion
from tests.service.conftest import RunCommand

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parents[1] / "fixtures"
HILMA_RESPONSE = FIXTURES / "hilma" / "search_response_forssa_cleaning_plan_award_correction.json"


def tender_id_of(session_factory: sessionmaker[Session], source_id: str) -> int:
    with session_factory() as session:
        notice = session.scalars(select(Notice).where(Notice.source_id == source_id)).one()
        assert notice.tender_id is not None
        return notice.tender_id


def listed(run: RunCommand, *args: str) -> set[str]:
    done = run("tenders", "--all", "--format", "json", *args)
    assert done.returncode == 0, done.output
    return {record["source_id"] for record in json.loads(done.stdout)}


@pytest.fixture
def imported(hankintavahti: RunCommand) -> RunCommand:
    assert hankintavahti("import", str(HILMA_RESPONSE)).returncode == 0
    return hankintavahti


def test_region_filters_take_maakunta_seutukunta_kunta_codes_and_names(imported: RunCommand) -> None:
    forssa, riihimaki, jokioinen = "EF-71490", "EF-71301", "PLAN-1187"
    assert listed(imported, "--region", "05") == {forssa, riihimaki, jokioinen}
    assert listed(imported, "--region", "053") == {forssa, jokioinen}  # Forssan seutukunta
    assert listed(imported, "--region", "061") == {forssa}
    assert listed(imported, "--region", "Riihimäki") == {riihimaki}
    assert listed(imported, "--region", "seutukunta:052") == {riihimaki}
    assert listed(imported, "--region", "07") == set()
    assert listed(imported, "--sector", "kuljetus") == {riihimaki}
    done = imported("tenders", "--region", "Atlantis")
    assert done.returncode == 1 and "ei maakunnan, seutukunnan eikä kunnan koodi tai nimi" in done.stderr


def test_explain_shows_each_code_with_the_field_and_words_that_gave_it(
    imported: RunCommand, session_factory: sessionmaker[Session]
) -> None:
    done = imported("explain", str(tender_id_of(session_factory, "EF-71490")))
    assert done.returncode == 0, done.output
    out = done.stdout
    assert "Kunnat:       061 Forssa" in out and "Seutukunnat:  053 Forssan seutukunta" in out
    assert "Maakunnat:    05 Kanta-Häme" in out and "Koko maa:     ei" in out
    assert '05 Kanta-Häme ← suorituspaikan NUTS-koodi: "FI1C2"' in out
    assert "061 Forssa ← " in out  # from the title's "Forssan" or the buyer
    assert "siivous: Siivous ja puhtaanapito" in out and 'siivous ← CPV-koodi: "90911200"' in out


def test_explain_of_an_unknown_tender_is_one_line(imported: RunCommand) -> None:
    done = imported("explain", "999999")
    assert done.returncode == 1 and done.stderr.startswith("hankintavahti: hankintaa 999999 ei ole")


def test_a_staff_override_survives_a_new_notice_and_reclassify(
    imported: RunCommand, session_factory: sessionmaker[Session], tmp_path: Path
) -> None:
    tender_id = tender_id_of(session_factory, "EF-71490")
    done = imported("override", str(tender_id), "--region", "Heinola", "--sector", "kiinteistonhoito",
                    "--by", "neuvoja.anna", "--note", "Kohde on Heinolassa")
    assert done.returncode == 0, done.output
    assert "111 Heinola" in done.stdout and "neuvoja.anna" in done.stdout and "Kohde on Heinolassa" in done.stdout
    assert listed(imported, "--region", "111") == {"EF-71490"}

    # a new version of the correction arrives (HILMA changed it): the tender is classified again
    response = json.loads(HILMA_RESPONSE.read_text(encoding="utf-8"))
    correction = next(d for d in response["value"] if d["id"] == "EF-71490")
    correction.update(dateModified="2026-11-12T08:00:00Z", titleFi=correction["titleFi"] + " (päivitetty)")
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({"value": [correction]}), encoding="utf-8")
    assert "1 päivittynyt" in imported("import", str(changed)).stdout
    assert imported("reclassify").returncode == 0

    with session_factory() as session:
        tender = session.get_one(Tender, tender_id)
        codes = {(row.level, row.code) for row in tender.regions}
        assert codes == {("region", "07"), ("subregion", "071"), ("municipality", "111")}
        assert [row.slug for row in tender.sectors] == ["kiinteistonhoito"]
        assert tender.classification["computed"]["municipalities"] == ["061"]  # what the classifier says
    lifted = imported("override", str(tender_id), "--clear", "regions", "--by", "neuvoja.anna")
    assert lifted.returncode == 0 and "Kunnat:       061 Forssa" in lifted.stdout


def test_reclassify_recomputes_what_the_data_would_say_and_counts_the_changes(
    imported: RunCommand, session_factory: sessionmaker[Session]
) -> None:
    with session_factory() as session, session.begin():
        for row in session.scalars(select(TenderRegion)):
            session.delete(row)  # as if the region data had changed since the crawl
    done = imported("reclassify")
    assert done.returncode == 0, done.output
    assert done.stdout.startswith("Luokiteltiin 3 hankintaa uudelleen: 3 luokitusta muuttui.")
    assert "3/3 hankintaa luokiteltu" in done.stderr
    assert listed(imported, "--region", "061") == {"EF-71490"}
    again = imported("reclassify")
    assert again.stdout.startswith("Luokiteltiin 3 hankintaa uudelleen: 0 luokitusta muuttui.")


def test_an_override_needs_something_to_change_and_known_codes(
    imported: RunCommand, session_factory: sessionmaker[Session]
) -> None:
    tender_id = str(tender_id_of(session_factory, "EF-71490"))
    assert "anna --region, --nationwide, --sector tai --clear" in imported("override", tender_id, "--by", "x").stderr
    unknown = imported("override", tender_id, "--sector", "avaruus", "--by", "x")
    assert unknown.returncode == 1 and "tuntematon toimiala" in unknown.stderr
