"""Evidence: which field and which words or codes gave a region or a sector.

Staff check a classification by reading its evidence (``hankintavahti explain``), and
the region and sector classifiers both produce it, so it has one shape for both.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Evidence:
    """One reason for one code: what was found, where, and a short Finnish note for staff."""

    aspect: str  # "municipality", "region", "nationwide" or "sector"
    code: str  # "109", "05", "FI", "siivous"
    # where: "place.nuts", "place.town", "place.postcode", "place.description", "title", "description",
    #        "lot.title", "lot.description", "buyer.address", "buyer.nuts", "buyer.type", "cpv", "keyword"
    source: str
    text: str  # the words or code that gave it, as written: "Lopella", "30100", "FI1C2", "90911200"
    note: str = ""  # short Finnish explanation for staff, e.g. "suorituspaikan postinumero"
