"""Security headers on every response of the web app.

Everything on a tender page comes from the internet, so besides escaping (Jinja's
autoescape) the browser is told to run nothing that could have slipped through:

* ``Content-Security-Policy``: no scripts at all, styles only from our own stylesheet
  (``/static/hankintavahti.css``: no inline ``<style>`` or ``style=""``), images only from
  us, forms only to us, no ``<base>``, and no framing (``frame-ancestors 'none'``).
* ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors`` (clickjacking
  of the manage page's buttons).
* ``Referrer-Policy: no-referrer``: the links in emails carry signed tokens in the path
  (``/tilaus/hallinta/<token>``); a click from such a page to a buyer's site must not
  hand the token over in ``Referer``.
* ``X-Content-Type-Options: nosniff``: a feed or an export is never sniffed into HTML.
* ``Strict-Transport-Security`` when ``BASE_URL`` is ``https://``: the site is then
  reached over TLS only, and browsers should never try plain HTTP again.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)
#: A year, the value browsers' preload lists ask for.
HSTS = "max-age=31536000"


def init_security_headers(app: Flask, *, https: bool) -> None:
    """Add the headers to every response, error pages, static files and the API included."""
    headers = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
    }
    if https:
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers[name] = value
        return response
