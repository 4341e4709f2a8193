"""Settings: every variable documented, the environment over .env, one clear line when one is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from dotenv import dotenv_values

from config.errors import ConfigurationError
from config.settings import VARIABLES, load_settings

ROOT = Path(__file__).parents[2]


def test_env_example_documents_every_variable_with_its_default_and_help() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    documented = dotenv_values(ROOT / ".env.example")
    assert list(documented) == [variable.name for variable in VARIABLES]
    for variable in VARIABLES:
        assert documented[variable.name] == (variable.default or "")
        assert f"# {variable.help}\n{variable.name}=" in text


def test_the_embedded_defaults_need_no_configuration(tmp_path: Path) -> None:
    settings = load_settings({}, env_file=tmp_path / "absent.env")
    assert settings.database_url == "sqlite:///var/hankintavahti.sqlite3"
    assert settings.timezone.key == "Europe/Helsinki"
    assert settings.hilma_api_url == "https://api.hankintailmoitukset.fi"
    assert settings.ted_api_url == "https://api.ted.europa.eu"
    assert settings.hilma_rate_limit == 6 and settings.crawl_initial_days == 30
    assert settings.hilma_api_key is None


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("HILMA_API_KEY=from-file\nTIMEZONE=Europe/Stockholm\n", encoding="utf-8")
    settings = load_settings({"TIMEZONE": "Europe/Helsinki"}, env_file=env_file)
    assert settings.hilma_api_key == "from-file" and settings.timezone.key == "Europe/Helsinki"


def test_postgresql_urls_always_use_psycopg_3(tmp_path: Path) -> None:
    for url in ("postgresql://u@h/db", "postgres://u@h/db", "postgresql+psycopg://u@h/db"):
        assert load_settings({"DATABASE_URL": url}, env_file=tmp_path / "x").database_url == "postgresql+psycopg://u@h/db"


def test_a_missing_key_says_where_the_free_key_comes_from(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({}, env_file=tmp_path / "x").require("HILMA_API_KEY")
    message = str(raised.value)
    assert message.startswith("HILMA_API_KEY puuttuu.") and "avp-read" in message and "\n" not in message
    assert "https://hns-hilma-prod-apim.developer.azure-api.net/" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://localhost/db"),
        ("DATABASE_URL", "hankintavahti.sqlite3"),
        ("TIMEZONE", "Europe/Hämeenlinna"),
        ("HILMA_API_URL", "api.hankintailmoitukset.fi"),
        ("TED_API_URL", "ftp://api.ted.europa.eu"),
        ("HILMA_RATE_LIMIT", "0"),
        ("TED_RATE_LIMIT", "kuusi"),
        ("CRAWL_INITIAL_DAYS", "1.5"),
        ("CRAWL_RETRIES", "-2"),
    ],
)
def test_a_wrong_value_is_named_with_what_to_write_instead(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({name: value}, env_file=tmp_path / "x")
    assert re.match(rf"{name}='.*' ei kelpaa\. Anna ", str(raised.value))
