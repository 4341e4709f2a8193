"""``python -m crawler.standins [hilma|ted|prh] [--port N]``: serve the sample until Ctrl-C.

For people trying the spiders by hand: prints the base URL (and HILMA's key) to put in
``.env`` as ``HILMA_API_URL``/``HILMA_API_KEY``, ``TED_API_URL`` or ``PRH_API_URL``.
Without a service name all three are started, TED and PRH on the next ports.
"""

from __future__ import annotations

import argparse
import threading

from crawler.standins import HilmaStandIn, StandInServer, TedStandIn, load_sample
from crawler.standins.prh import prh_standin


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.standins",
        description="Paikalliset HILMA-, TED- ja PRH-sijaisrajapinnat esimerkkiaineistolla.",
    )
    parser.add_argument(
        "service", nargs="?", choices=("hilma", "ted", "prh"), help="käynnistettävä palvelu (oletus: kaikki)"
    )
    parser.add_argument("--port", type=int, default=0, help="portti (oletus: vapaa portti)")
    parser.add_argument("--key", default="demo-key", help="HILMA-sijaisen hyväksymä API-avain (oletus: demo-key)")
    arguments = parser.parse_args(argv)

    sample = load_sample()
    every = arguments.service is None
    hilma = HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=arguments.key, port=arguments.port)
    ted_port = arguments.port + 1 if every and arguments.port else arguments.port
    ted = TedStandIn(sample.ted_notices, port=ted_port)
    prh = prh_standin(port=arguments.port + 2 if every and arguments.port else arguments.port)
    servers: list[StandInServer] = []
    if arguments.service in (None, "hilma"):
        servers.append(hilma)
    if arguments.service in (None, "ted"):
        servers.append(ted)
    if arguments.service in (None, "prh"):
        servers.append(prh)
    for server in servers:
        server.start()
    if hilma in servers:
        print(f"HILMA-sijainen: {hilma.base_url}  ({len(sample.hilma_documents)} ilmoitusta)")
        print(f"  HILMA_API_URL={hilma.base_url}")
        print(f"  HILMA_API_KEY={arguments.key}")
    if ted in servers:
        print(f"TED-sijainen: {ted.base_url}  ({len(sample.ted_notices)} ilmoitusta)")
        print(f"  TED_API_URL={ted.base_url}")
    if prh in servers:
        print(f"PRH-sijainen (yritysrekisteri): {prh.base_url}  ({len(prh.business_ids)} yritystä)")
        print(f"  PRH_API_URL={prh.api_url}")
    print("Pysäytä painamalla Ctrl-C.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nPysäytetään.")
    finally:
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
