"""The other commands as a user meets them: import, tenders, db upgrade, demo, and their errors."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.service.conftest import COMMAND, RunCommand

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).parents[1] / "fixtures"
HILMA_RESPONSE = FIXTURES / "hilma" / "search_response_forssa_cleaning_plan_award_correction.json"
RECORD_KEYS = {
    "id", "source", "source_id", "title", "buyer", "buyer_business_id", "published_at", "deadline", "kind",
    "status", "cpv", "estimated_value", "currency", "url", "documents_url", "regions", "municipalities",
    "nationwide", "sectors",
}  # fmt: skip


def test_import_reads_every_format_from_files_and_folders_and_a_second_import_changes_nothing(
    hankintavahti: RunCommand,
) -> None:
    paths = [str(FIXTURES / "eforms"), str(HILMA_RESPONSE), str(FIXTURES / "ted")]
    first = hankintavahti("import", *paths)
    assert first.returncode == 0, first.output
    files = len(list((FIXTURES / "eforms").glob("*.xml"))) + 1 + len(list((FIXTURES / "ted").glob("*.json")))
    assert first.stdout.startswith(f"Tuotiin {files}/{files} tiedostoa:")
    again = hankintavahti("import", *paths)
    assert again.returncode == 0
    assert "0 uutta, 0 päivittynyttä" in again.stdout


def test_import_skips_what_is_not_a_notice_says_so_and_keeps_the_rest(
    hankintavahti: RunCommand, tmp_path: Path
) -> None:
    (tmp_path / "settings.json").write_text('{"theme": "dark"}', encoding="utf-8")
    (tmp_path / "broken.xml").write_text("<ContractNotice", encoding="utf-8")
    done = hankintavahti("import", str(tmp_path / "settings.json"), str(tmp_path / "broken.xml"), str(HILMA_RESPONSE))
    assert done.returncode == 1
    assert "Ohitettiin:" in done.stderr and "settings.json: ei hankintailmoituksia" in done.stderr
    assert "Tuotiin 1/3 tiedostoa: 4 uutta" in done.stdout
    assert "Traceback" not in done.output


def test_import_of_a_missing_path_is_one_line(hankintavahti: RunCommand) -> None:
    done = hankintavahti("import", "no/such/file.json")
    assert done.returncode == 1
    assert done.stderr == "hankintavahti: no/such/file.json: tiedostoa tai kansiota ei ole\n"


def test_tenders_as_json_has_the_promised_keys_and_formats(hankintavahti: RunCommand) -> None:
    assert hankintavahti("import", str(HILMA_RESPONSE)).returncode == 0
    done = hankintavahti("tenders", "--all", "--format", "json")
    assert done.returncode == 0, done.output
    records = {record["source_id"]: record for record in json.loads(done.stdout)}
    assert all(set(record) >= RECORD_KEYS for record in records.values())
    # the correction EF-71490 is now the latest notice of the Forssa cleaning tender
    cleaning = records["EF-71490"]
    assert cleaning["source"] == "hilma" and cleaning["kind"] == "correction"
    assert cleaning["status"] in ("open", "closed")
    assert cleaning["deadline"] == "2026-12-04T12:00:00+02:00"
    assert datetime.fromisoformat(cleaning["published_at"]).utcoffset() is not None
    assert cleaning["cpv"][:2] == ["90911200", "90919200"] and all(len(code) == 8 for code in cleaning["cpv"])
    assert cleaning["buyer"] == "Forssan kaupunki" and cleaning["buyer_business_id"] == "0137605-0"
    assert cleaning["estimated_value"] == 480000 and cleaning["currency"] == "EUR"
    assert cleaning["url"] == "https://www.hankintailmoitukset.fi/fi/public/procedure/40511/enotice/71490/"
    assert (cleaning["regions"], cleaning["subregions"], cleaning["municipalities"]) == (["05"], ["053"], ["061"])
    assert cleaning["nationwide"] is False and cleaning["sectors"] == ["siivous"]
    plan = records["PLAN-1187"]
    assert plan["municipalities"] == ["169"] and plan["sectors"] == ["rakentaminen"]  # Jokioinen's own plan
    assert records["PLAN-1187"]["kind"] == "plan" and records["PLAN-1187"]["status"] == "planned"
    assert records["EF-71301"]["status"] == "awarded"


def test_tenders_as_csv_and_as_a_table(hankintavahti: RunCommand) -> None:
    assert hankintavahti("import", str(HILMA_RESPONSE)).returncode == 0
    rows = list(csv.DictReader(io.StringIO(hankintavahti("tenders", "--all", "--format", "csv").stdout)))
    assert {row["source_id"] for row in rows} == {"EF-71490", "PLAN-1187", "EF-71301"}
    table = hankintavahti("tenders", "--all").stdout
    assert table.splitlines()[0].split() == ["Määräaika", "Hankinta", "Hankkija", "Alue", "Tila"]
    assert "4.12.2026 12.00" in table and "3 hankintaa." in table


def test_db_upgrade_creates_the_default_sqlite_database_where_the_command_runs(
    hankintavahti: RunCommand, tmp_path: Path
) -> None:
    done = hankintavahti("db", "upgrade", DATABASE_URL="")
    assert done.returncode == 0, done.output
    assert done.stdout == "Tietokanta on ajan tasalla (versio 0011): sqlite:///var/hankintavahti.sqlite3\n"
    assert (tmp_path / "var" / "hankintavahti.sqlite3").is_file()


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["tenders"], {"DATABASE_URL": "mysql://db/x"}, "hankintavahti: DATABASE_URL='mysql://db/x' ei kelpaa."),
        (["tenders"], {"TIMEZONE": "Mars/Olympus"}, "hankintavahti: TIMEZONE='Mars/Olympus' ei kelpaa."),
        (["crawl", "hilma"], {"HILMA_RATE_LIMIT": "nopeasti"}, "hankintavahti: HILMA_RATE_LIMIT='nopeasti' ei kelpaa."),
        (["crawl", "hilma", "--since", "2026-13-01"], {}, "hankintavahti: --since '2026-13-01' ei ole päivämäärä"),
        (["tenders"], {"DATABASE_URL": "sqlite:///empty.sqlite3"}, "Aja ensin: hankintavahti db upgrade"),
        (["tenders"], {"DATABASE_URL": "postgresql://nobody@127.0.0.1:1/x"}, "ei saatu avattua (DATABASE_URL)"),
    ],
    ids=["database-url", "timezone", "rate", "since", "not-migrated", "unreachable"],
)
def test_bad_settings_and_input_are_one_line_that_says_what_to_do(
    hankintavahti: RunCommand, args: list[str], env: dict[str, str], message: str
) -> None:
    done = hankintavahti(*args, **env)
    assert done.returncode == 1
    assert message in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert "Traceback" not in done.output


def test_the_demo_crawls_the_sample_offline_into_the_default_database(
    hankintavahti: RunCommand, tmp_path: Path
) -> None:
    done = hankintavahti("demo", "--no-serve", DATABASE_URL="postgresql://should-not-be-used@127.0.0.1:1/x")
    assert done.returncode == 0, done.output
    assert "HILMA: valmis – 64 uutta" in done.stdout and "TED: valmis – 4 uutta" in done.stdout
    assert "Avoimet hankinnat:" in done.stdout and "hankintaa." in done.stdout
    assert (tmp_path / "var" / "hankintavahti.sqlite3").is_file()
    # the alert loop: sample subscribers' emails in the outbox folder, nothing mailed
    assert "Sähköpostit (4): var/outbox/*.eml" in done.stdout
    assert len(list((tmp_path / "var" / "outbox").glob("*.eml"))) == 4
    assert len(list((tmp_path / "var" / "outbox" / "esikatselu").glob("*.html"))) == 4
    assert "DATABASE_URL=sqlite:///var/hankintavahti.sqlite3 .venv/bin/hankintavahti tenders" in done.stdout


def test_the_demo_ends_by_serving_the_web_app_with_a_staff_login(tmp_path: Path) -> None:
    """What `make demo` runs: after the emails, the web app answers on the printed address until Ctrl-C."""
    import signal
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "LANG": "C.UTF-8"}
    demo = subprocess.Popen(
        [str(COMMAND), "demo", "--port", str(port)],
        cwd=tmp_path,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert demo.stdout is not None
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if line.startswith("  elinvoimamittari:"):
                break
        printed = "".join(lines)
        assert f"Verkkosovellus: http://127.0.0.1:{port}/" in printed
        assert f"Hankintakalenteri ja tapaamisten tulosteet: http://127.0.0.1:{port}/kalenteri" in printed
        assert "tunnus henkilokunta, salasana hankintavahti-demo" in printed
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as answer:
                    page = answer.read().decode("utf-8")
                break
            except OSError:
                time.sleep(0.1)
        assert "Hankintavahti" in page and "Tilaa" in page
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/kalenteri/forssan-seutu", timeout=5) as answer:
            assert "Forssan seutu" in answer.read().decode("utf-8")
    finally:
        demo.send_signal(signal.SIGINT)
        demo.communicate(timeout=30)
    assert demo.returncode in (0, 130)
