"""``hankintavahti serve``: the web app on waitress, a production WSGI server.

Behind a reverse proxy (nginx, Caddy) run it on 127.0.0.1 and let the proxy
terminate TLS; ``X-Forwarded-*`` headers from the proxy are trusted only when it
connects from loopback (waitress's ``trusted_proxy``).
"""

from __future__ import annotations

from waitress import serve as waitress_serve

from config.settings import Settings
from web import create_app


def serve(settings: Settings, *, host: str, port: int, threads: int = 8) -> None:
    """Serve until interrupted."""
    app = create_app(settings)
    waitress_serve(
        app,
        host=host,
        port=port,
        threads=threads,
        trusted_proxy="127.0.0.1",
        trusted_proxy_headers={"x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"},
        clear_untrusted_proxy_headers=True,
        ident="Hankintavahti",
    )
