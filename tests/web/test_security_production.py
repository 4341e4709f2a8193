"""Production mode: secrets only from the environment; without SECRET_KEY ``serve`` and ``run`` refuse to start.

The commands are run through the real entry point (:func:`service.cli.main`) in an
empty working folder, so a ``.env`` or ``var/secret_key`` of the developer's cannot
change the outcome and anything the command writes is seen.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from alerts.links import secret_key
from config.errors import ConfigurationError
from config.settings import load_settings
from service.cli import main
from web import create_app

GOOD_KEY = "k" * 43


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with a migrated SQLite database and only our variables set."""
    for name in ("SECRET_KEY", "HANKINTAVAHTI_ENV", "DATABASE_URL", "SMTP_URL", "BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'hv.sqlite3'}")
    main(["db", "upgrade"])
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as stopped:
        main(args)
    return int(stopped.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize("command", [["serve", "--port", "8799"], ["run"]])
def test_production_without_secret_key_refuses_to_start_with_one_finnish_line(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    monkeypatch.setenv("HANKINTAVAHTI_ENV", "production")
    status, err = run_cli(command, capsys)
    assert status == 1
    assert err.startswith("hankintavahti: SECRET_KEY puuttuu, eikä tuotannossa (HANKINTAVAHTI_ENV=production)")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "secrets.token_urlsafe(32)" in err  # says how to make one
    assert not (workdir / "var" / "secret_key").exists()  # nothing generated behind the operator's back


def test_production_refuses_a_short_key(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HANKINTAVAHTI_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "salasana")
    status, err = run_cli(["serve"], capsys)
    assert status == 1 and err.startswith("hankintavahti: SECRET_KEY on liian lyhyt tuotantoon (8 merkkiä).")
    assert "salasana" not in err  # the secret itself is never printed


def test_a_mistyped_mode_names_the_variable(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HANKINTAVAHTI_ENV", "prod")
    status, err = run_cli(["run"], capsys)
    assert status == 1 and err.startswith("hankintavahti: HANKINTAVAHTI_ENV='prod' ei kelpaa. Anna development")


def test_production_takes_the_key_from_the_environment_or_dotenv_and_writes_none(workdir: Path) -> None:
    (workdir / ".env").write_text(f"HANKINTAVAHTI_ENV=production\nSECRET_KEY={GOOD_KEY}\n", encoding="utf-8")
    settings = load_settings({"DATABASE_URL": "sqlite:///hv.sqlite3"})
    assert settings.production and secret_key(settings, key_file=workdir / "var" / "secret_key") == GOOD_KEY
    assert not (workdir / "var").exists()
    app = create_app(settings)
    assert app.config["SECRET_KEY"] == GOOD_KEY and not (workdir / "var").exists()


def test_development_keeps_generating_a_private_key_for_the_demo(workdir: Path) -> None:
    settings = load_settings({}, env_file=Path(os.devnull))
    assert not settings.production
    key_file = workdir / "var" / "secret_key"
    first = secret_key(settings, key_file=key_file)
    assert len(first) >= 40 and secret_key(settings, key_file=key_file) == first  # kept across restarts
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_the_settings_refuse_production_without_a_key_whoever_loads_them(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY puuttuu"):
        load_settings({"HANKINTAVAHTI_ENV": "production"}, env_file=tmp_path / "none.env")
    with pytest.raises(ConfigurationError, match="SECRET_KEY puuttuu"):
        load_settings({"HANKINTAVAHTI_ENV": "production", "SECRET_KEY": "  "}, env_file=tmp_path / "none.env")
