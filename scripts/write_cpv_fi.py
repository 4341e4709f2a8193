"""Write ``config/cpv_fi.csv``: every CPV code with its Finnish label.

Run: ``.venv/bin/python scripts/write_cpv_fi.py [SOURCE_CSV]``

Staff read a sector's evidence as "pääkohteen CPV-koodi 90911200 Toimitilojen
siivouspalvelut", and the web pages show labels next to codes, so the project keeps
its own code → label table instead of reading the shared reference at run time. The
source is the CPV 2008 codelist with English, Finnish and Swedish labels (columns
``code,eng,fin,swe``); only the Finnish label is kept, and every code (about 9,500)
is written, since a page may show any code a notice carries.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

DEFAULT_SOURCE = Path("/work/shared/reference/eforms/codelists/cpv_labels_eng_fin_swe.csv")
TARGET = Path(__file__).resolve().parents[1] / "config" / "cpv_fi.csv"


def read_labels(source: Path) -> dict[str, str]:
    """Code → Finnish label; refuses a row whose code is not eight digits or whose label is empty."""
    labels: dict[str, str] = {}
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            code, label = row["code"].strip(), " ".join(row["fin"].split())
            if len(code) != 8 or not code.isdigit() or not label:
                raise SystemExit(f"{source}: unusable row {row!r}")
            labels[code] = label
    return labels


def write_labels(labels: dict[str, str], target: Path) -> None:
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["code", "fi"])
        writer.writerows(sorted(labels.items()))


def main(argv: list[str]) -> None:
    source = Path(argv[1]) if len(argv) > 1 else DEFAULT_SOURCE
    labels = read_labels(source)
    write_labels(labels, TARGET)
    print(f"{TARGET}: {len(labels)} CPV-koodia")


if __name__ == "__main__":
    main(sys.argv)
