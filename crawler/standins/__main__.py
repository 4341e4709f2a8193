"""``python -m crawler.standins [hilma|ted] [--port N]``: serve the sample until Ctrl-C.

For people trying the spiders by hand: prints the base URL (and HILMA's key) to put in
``.env`` as ``HILMA_API_URL``/``HILMA_API_KEY`` or ``TED_API_URL``. Without a service
name both are started, TED on the next port.
"""

from __future__ import annotations

import argparse
import threading

from crawler.standins import HilmaStandIn, StandInServer, TedStandIn, load_sample


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.standins",
        description="Paikalliset HILMA- ja TED-sijaisrajapinnat esimerkkiaineistolla.",
    )
    parser.add_argument(
        "service", nargs="?", choices=("hilma", "ted"), help="käynnistettävä palvelu (oletus: molemmat)"
    )
    parser.add_argument("--port", type=int, default=0, help="portti (oletus: vapaa portti)")
    parser.add_argument("--key", default="demo-key", help="HILMA-sijaisen hyväksymä API-avain (oletus: demo-key)")
    arguments = parser.parse_args(argv)

    sample = load_sample()
    both = arguments.service is None
    hilma = HilmaStandIn(sample.hilma_documents, sample.hilma_eforms, api_key=arguments.key, port=arguments.port)
    ted_port = arguments.port + 1 if both and arguments.port else arguments.port
    ted = TedStandIn(sample.ted_notices, port=ted_port)
    servers: list[StandInServer] = []
    if arguments.service in (None, "hilma"):
        servers.append(hilma)
    if arguments.service in (None, "ted"):
        servers.append(ted)
    for server in servers:
        server.start()
    if hilma in servers:
        print(f"HILMA-sijainen: {hilma.base_url}  ({len(sample.hilma_documents)} ilmoitusta)")
        print(f"  HILMA_API_URL={hilma.base_url}")
        print(f"  HILMA_API_KEY={arguments.key}")
    if ted in servers:
        print(f"TED-sijainen: {ted.base_url}  ({len(sample.ted_notices)} ilmoitusta)")
        print(f"  TED_API_URL={ted.base_url}")
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
