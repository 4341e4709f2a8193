"""Pages that the links in alert emails open: confirm a search, stop one, stop all, manage.

Every link carries a signed token (:mod:`alerts.links`). A GET only shows a page
with a button; the change happens on POST, because mail security scanners and
link previewers follow links in emails, and they must not confirm or stop
anybody's searches. The RFC 8058 one-click POST (``List-Unsubscribe=One-Click``)
that mail clients send goes to the same stop address and works without a page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, current_app, render_template
from sqlalchemy.orm import Session

from alerts.compose import Mailer, search_label
from alerts.links import InvalidLinkError, Links
from alerts.render import FREQUENCY_WORDS
from alerts.subscribe import SUBSCRIPTION_STATUS_WORDS, confirm, unsubscribe, unsubscribe_all
from models.db import session_scope
from models.subscriptions import Subscriber, Subscription
from web.csrf import csrf_exempt

blueprint = Blueprint("subscriber", __name__, url_prefix="/tilaus")


def _mailer() -> Mailer:
    return current_app.config["HANKINTAVAHTI_MAILER"]


def _links() -> Links:
    return _mailer().links


@contextmanager
def _session() -> Iterator[Session]:
    with session_scope(current_app.config["HANKINTAVAHTI_SESSIONS"]) as session:
        yield session


@blueprint.errorhandler(InvalidLinkError)
def invalid_link(error: InvalidLinkError) -> tuple[str, int]:
    return _message(title="Linkki ei kelpaa", text=f"{str(error).capitalize()}."), 400


def _message(title: str, text: str = "", manage_url: str | None = None) -> str:
    return render_template("subscriber/message.html", title=title, text=text or GONE, manage_url=manage_url)


def _search(subscription: Subscription) -> dict[str, Any]:
    return {
        "id": subscription.id,
        "label": search_label(subscription, _mailer()),
        "frequency": FREQUENCY_WORDS[subscription.frequency],
        "status": subscription.status,
        "status_text": SUBSCRIPTION_STATUS_WORDS[subscription.status],
        "stop_url": _links().unsubscribe([subscription.id]),
    }


@blueprint.get("/vahvista/<token>")
def confirm_page(token: str) -> str:
    subscription_id = _links().read("confirm", token)
    with _session() as session:
        subscription = session.get(Subscription, subscription_id)
        if subscription is None:
            return _message("Hakua ei löydy")
        return render_template("subscriber/confirm.html", search=_search(subscription))


@blueprint.post("/vahvista/<token>")
@csrf_exempt  # the signed token in the URL is the authorisation
def confirm_search(token: str) -> str:
    subscription_id = _links().read("confirm", token)
    with _session() as session:
        subscription = confirm(session, subscription_id, now=datetime.now(UTC))
        if subscription is None:
            return _message("Hakua ei löydy")
        if subscription.status != "active":
            return _message(
                title="Haku on lopetettu",
                text="Tämä haku on jo lopetettu. Voit tilata uuden haun etusivulta.",
            )
        return _message(
            title="Kiitos, haku on voimassa",
            text=f"Saat jatkossa viestin {FREQUENCY_WORDS[subscription.frequency]}: "
            f"{search_label(subscription, _mailer())}.",
            manage_url=_links().manage(subscription.subscriber_id),
        )


@blueprint.get("/lopeta/<token>")
def stop_page(token: str) -> str:
    ids = _ids(_links().read("unsubscribe", token))
    with _session() as session:
        searches = [_search(row) for row in map(lambda i: session.get(Subscription, i), ids) if row is not None]
        if not searches:
            return _message("Hakua ei löydy")
        return render_template("subscriber/stop.html", searches=searches)


@blueprint.post("/lopeta/<token>")
@csrf_exempt  # the signed token in the URL is the authorisation
def stop_searches(token: str) -> str:
    """Stop the searches: from the page's button, or a mail client's RFC 8058 one-click POST."""
    ids = _ids(_links().read("unsubscribe", token))
    with _session() as session:
        stopped = unsubscribe(session, ids, now=datetime.now(UTC))
        labels = [search_label(row, _mailer()) for row in stopped]
        manage_url = _links().manage(stopped[0].subscriber_id) if stopped else None
    if not labels:
        return _message("Hakua ei löydy")
    return _message(
        title="Haku lopetettu" if len(labels) == 1 else "Haut lopetettu",
        text="Et saa enää viestejä haulla: " + "; ".join(labels) + ".",
        manage_url=manage_url,
    )


@blueprint.get("/lopeta-kaikki/<token>")
def stop_all_page(token: str) -> str:
    subscriber_id = _links().read("unsubscribe-all", token)
    with _session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return _message("Tilaajaa ei löydy")
        return render_template("subscriber/stop_all.html", email=subscriber.email)


@blueprint.post("/lopeta-kaikki/<token>")
@csrf_exempt  # the signed token in the URL is the authorisation
def stop_all(token: str) -> str:
    subscriber_id = _links().read("unsubscribe-all", token)
    with _session() as session:
        subscriber = unsubscribe_all(session, subscriber_id, now=datetime.now(UTC))
    if subscriber is None:
        return _message("Tilaajaa ei löydy")
    return _message(
        title="Kaikki viestit lopetettu",
        text=f"Osoitteeseen {subscriber.email} ei lähetetä enää hakuviestejä.",
    )


@blueprint.get("/hallinta/<token>")
def manage(token: str) -> str:
    subscriber_id = _links().read("manage", token)
    with _session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return _message("Tilaajaa ei löydy")
        return render_template(
            "subscriber/manage.html",
            subscriber=subscriber,
            searches=[_search(row) for row in subscriber.subscriptions],
            stop_all_url=_links().unsubscribe_all(subscriber.id),
        )


GONE = "Tätä hakua ei ole enää: se on voitu poistaa tietoineen. Voit tilata uuden haun etusivulta."


def _ids(value: Any) -> list[int]:
    if isinstance(value, list) and all(isinstance(item, int) for item in value):
        return value
    raise InvalidLinkError("linkki ei kelpaa")
