"""``hankintavahti staff``: adding staff users from the command line, as an administrator would."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.security import check_password_hash

from models.staff import StaffUser
from tests.service.conftest import COMMAND, Run, RunCommand


@pytest.fixture
def staff_command(database_url: str, tmp_path: Path) -> RunCommand:
    """``staff_command(*args, input=...)``: run ``hankintavahti`` with text on its standard input."""

    def run(*args: str, input: str = "") -> Run:
        environment = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(tmp_path),
            "LANG": "C.UTF-8",
            "DATABASE_URL": database_url,
        }
        done = subprocess.run(
            [str(COMMAND), *args],
            env=environment,
            cwd=tmp_path,
            input=input,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


def stored(session_factory: sessionmaker[Session]) -> list[StaffUser]:
    with session_factory() as session:
        return list(session.scalars(select(StaffUser).order_by(StaffUser.username)))


def test_a_staff_user_is_added_with_a_hashed_password_from_stdin(
    staff_command: RunCommand, session_factory: sessionmaker[Session]
) -> None:
    done = staff_command("staff", "add", "Maija", "--password-stdin", input="pitkä salasana 123\n")
    assert done.returncode == 0, done.output
    assert done.stdout == "Käyttäjä maija lisätty.\n"
    [user] = stored(session_factory)
    assert user.username == "maija"
    assert "pitkä salasana" not in user.password_hash and user.password_hash.startswith("scrypt:")
    assert check_password_hash(user.password_hash, "pitkä salasana 123")


def test_a_taken_username_is_one_finnish_line_and_exit_1(
    staff_command: RunCommand, session_factory: sessionmaker[Session]
) -> None:
    assert staff_command("staff", "add", "maija", "--password-stdin", input="salasana-1234\n").returncode == 0
    done = staff_command("staff", "add", "MAIJA", "--password-stdin", input="toinen-salasana\n")
    assert done.returncode == 1
    assert done.stderr == "hankintavahti: käyttäjä maija on jo olemassa: valitse toinen tunnus\n"
    assert len(stored(session_factory)) == 1


def test_a_short_password_is_refused(staff_command: RunCommand, session_factory: sessionmaker[Session]) -> None:
    done = staff_command("staff", "add", "maija", "--password-stdin", input="lyhyt\n")
    assert done.returncode == 1
    assert done.stderr == "hankintavahti: salasana on liian lyhyt: vähintään 10 merkkiä\n"
    assert stored(session_factory) == []


def test_the_prompted_password_must_be_typed_the_same_twice(
    staff_command: RunCommand, session_factory: sessionmaker[Session]
) -> None:
    done = staff_command("staff", "add", "maija", input="salasana-1234\nsalasana-9999\n")
    assert done.returncode == 1
    assert done.stderr.endswith("hankintavahti: salasanat eivät täsmää: aja komento uudelleen\n")
    assert stored(session_factory) == []
    done = staff_command("staff", "add", "maija", input="salasana-1234\nsalasana-1234\n")
    assert done.returncode == 0, done.output
    assert "salasana-1234" not in done.stdout  # hidden input is not echoed
    assert done.stdout.endswith("Käyttäjä maija lisätty.\n")


def test_staff_list_shows_the_users(staff_command: RunCommand) -> None:
    assert staff_command("staff", "list").stdout == "Ei käyttäjiä. Lisää: hankintavahti staff add TUNNUS\n"
    staff_command("staff", "add", "pekka", "--password-stdin", input="salasana-1234\n")
    staff_command("staff", "add", "aino", "--password-stdin", input="salasana-5678\n")
    lines = staff_command("staff", "list").stdout.splitlines()
    assert [line.split()[0] for line in lines[:2]] == ["aino", "pekka"]
    assert "ei vielä kirjautunut" in lines[0]
    assert lines[-1] == "2 käyttäjää."
