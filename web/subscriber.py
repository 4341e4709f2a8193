"""Pages that the links in alert emails open: confirm a search, stop one, stop all, manage.

Every link carries a signed token (:mod:`alerts.links`). A GET only shows a page
with a button; the change happens on POST, because mail security scanners and
link previewers follow links in emails, and they must not confirm or stop
anybody's searches. The RFC 8058 one-click POST (``List-Unsubscribe=One-Click``)
that mail clients send goes to the same stop address and works without a page.

The manage page (``/tilaus/hallinta/<token>``) is a real page with forms: edit, add,
pause, resume and stop searches, and delete all my data. Its forms POST to URLs that
carry the manage token and also a CSRF token, because they are submitted from our own
page (unlike the one-click POST). A search is only found through the token's
subscriber, so one person's link cannot reach another's searches (404).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, current_app, flash, get_flashed_messages, redirect, render_template, request
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from alerts.compose import Mailer, search_label
from alerts.links import InvalidLinkError, Links
from alerts.render import FREQUENCY_WORDS
from alerts.subscribe import FREQUENCY_WORDS as FREQUENCY_CHOICES
from alerts.subscribe import (
    SUBSCRIPTION_STATUS_WORDS,
    SearchRequest,
    confirm,
    delete_subscriber,
    pause,
    resume,
    search_request,
    subscribe,
    unsubscribe,
    unsubscribe_all,
    update_search,
)
from config.errors import InputError
from models.db import session_scope
from models.subscriptions import Subscriber, Subscription
from web.csrf import csrf_exempt
from web.public import NATIONWIDE, Choice, SubscribeForm, sector_choices, subregion_choices

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
        "atom_url": _links().feed(subscription.id, "atom"),
        "ics_url": _links().feed(subscription.id, "ics"),
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


# --- manage page --------------------------------------------------------------------------------


def _subscriber_id(token: str) -> int:
    value = _links().read("manage", token)
    if not isinstance(value, int):
        raise InvalidLinkError("linkki ei kelpaa")
    return value


def _manage_url(token: str) -> str:
    return f"/tilaus/hallinta/{token}"


def _own_search(session: Session, subscriber_id: int, search_id: int) -> Subscription:
    """The search if it belongs to the link's subscriber; otherwise 404: another person's search is not here."""
    subscription = session.get(Subscription, search_id)
    if subscription is None or subscription.subscriber_id != subscriber_id:
        abort(404)
    return subscription


@blueprint.get("/hallinta/<token>")
def manage(token: str) -> str:
    subscriber_id = _subscriber_id(token)
    with _session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return _message("Tilaajaa ei löydy", text="Tietojasi ei ole enää palvelussa. Voit tilata uuden haun.")
        return render_template(
            "subscriber/manage.html",
            title="Hakusi",
            token=token,
            subscriber=subscriber,
            searches=[_search(row) for row in subscriber.subscriptions],
            stop_all_url=_links().unsubscribe_all(subscriber.id),
            notices=get_flashed_messages(),
        )


def _form_of(subscription: Subscription) -> SubscribeForm:
    """The edit form filled from a saved search."""
    regions = list(subscription.regions or [])
    if subscription.include_nationwide:
        regions.append(NATIONWIDE)
    return SubscribeForm(
        sectors=list(subscription.sectors or []),
        regions=regions,
        keywords=", ".join(subscription.keywords or []),
        frequency=subscription.frequency,
    )


def _offered_regions() -> set[str]:
    offered = {NATIONWIDE, "region:07"}
    for subregion in subregion_choices():
        if subregion.maakunta == "05":
            offered.add(f"subregion:{subregion.code}")
            offered |= {f"municipality:{town.value}" for town in subregion.municipalities}
    return offered


def _search_page(token: str, form: SubscribeForm, *, heading: str, action: str, error: str | None = None) -> str:
    """The search form; places saved elsewhere (the command line) that it does not offer are kept as extra boxes."""
    offered = _offered_regions()
    extra = [
        Choice(value, _mailer().regions.place_name(*value.split(":", 1)))
        for value in form.regions
        if value not in offered and ":" in value
    ]
    return render_template(
        "subscriber/search_form.html",
        title=heading,
        heading=heading,
        action=action,
        manage_url=_manage_url(token),
        form=form,
        errors={"form": error} if error else {},
        extra_regions=extra,
        subregions=subregion_choices(),
        sectors=sector_choices(),
        frequencies=FREQUENCY_CHOICES,
    )


def _posted_search(base: SearchRequest) -> SearchRequest:
    """The form's parts (sectors, regions, keywords, frequency) over ``base``, whose other parts stay."""
    posted = SubscribeForm.from_form(request.form).search()
    base.sectors = posted.sectors
    base.regions = posted.regions
    base.include_nationwide = posted.include_nationwide
    base.keywords = posted.keywords
    base.frequency = posted.frequency
    return base


def _sentence(message: str) -> str:
    text = message[:1].upper() + message[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


@blueprint.get("/hallinta/<token>/haku/<int:search_id>")
def edit_page(token: str, search_id: int) -> str:
    subscriber_id = _subscriber_id(token)
    with _session() as session:
        subscription = _own_search(session, subscriber_id, search_id)
        form = _form_of(subscription)
    return _search_page(token, form, heading="Muokkaa hakua", action=f"{_manage_url(token)}/haku/{search_id}")


@blueprint.post("/hallinta/<token>/haku/<int:search_id>")
def edit_search(token: str, search_id: int) -> str | Response | tuple[str, int]:
    subscriber_id = _subscriber_id(token)
    try:
        with _session() as session:
            subscription = _own_search(session, subscriber_id, search_id)
            update_search(session, _mailer(), subscription, _posted_search(search_request(subscription)))
            label = search_label(subscription, _mailer())
    except InputError as error:
        form = SubscribeForm.from_form(request.form)
        action = f"{_manage_url(token)}/haku/{search_id}"
        return _search_page(token, form, heading="Muokkaa hakua", action=action, error=_sentence(str(error))), 400
    flash(f"Haku tallennettu: {label}.")
    return redirect(_manage_url(token), code=303)


@blueprint.get("/hallinta/<token>/uusi")
def add_page(token: str) -> str:
    _subscriber_id(token)
    return _search_page(token, SubscribeForm(), heading="Uusi haku", action=f"{_manage_url(token)}/uusi")


@blueprint.post("/hallinta/<token>/uusi")
def add_search(token: str) -> str | Response | tuple[str, int]:
    """A new search from the manage page starts confirmed: the link came to this very address."""
    subscriber_id = _subscriber_id(token)
    try:
        with _session() as session:
            subscriber = session.get(Subscriber, subscriber_id)
            if subscriber is None:
                abort(404)
            subscription = subscribe(
                session,
                _mailer(),
                email=subscriber.email,
                search=_posted_search(SearchRequest()),
                now=datetime.now(UTC),
                confirmed=True,
                origin="web",
            )
            label = search_label(subscription, _mailer())
    except InputError as error:
        form = SubscribeForm.from_form(request.form)
        action = f"{_manage_url(token)}/uusi"
        return _search_page(token, form, heading="Uusi haku", action=action, error=_sentence(str(error))), 400
    flash(f"Uusi haku on voimassa: {label}.")
    return redirect(_manage_url(token), code=303)


@blueprint.post("/hallinta/<token>/haku/<int:search_id>/<action>")
def search_action(token: str, search_id: int, action: str) -> Response:
    """Pause ("tauko"), resume ("jatka") or stop ("lopeta") one search from the manage page."""
    if action not in SEARCH_ACTIONS:
        abort(404)
    subscriber_id = _subscriber_id(token)
    now = datetime.now(UTC)
    with _session() as session:
        subscription = _own_search(session, subscriber_id, search_id)
        label = search_label(subscription, _mailer())
        if action == "tauko":
            done = pause(session, subscription)
        elif action == "jatka":
            done = resume(session, subscription)
        else:
            done = subscription.status != "unsubscribed"
            unsubscribe(session, [subscription.id], now=now)
    flash(SEARCH_ACTIONS[action].format(label=label) if done else f"Hakua ei muutettu: {label}.")
    return redirect(_manage_url(token), code=303)


#: What the manage page says after each one-search action.
SEARCH_ACTIONS = {
    "tauko": "Haku on tauolla, etkä saa siitä viestejä ennen kuin jatkat sitä: {label}.",
    "jatka": "Haku on taas voimassa: {label}.",
    "lopeta": "Haku lopetettu: {label}.",
}


@blueprint.get("/hallinta/<token>/poista-tiedot")
def delete_page(token: str) -> str:
    subscriber_id = _subscriber_id(token)
    with _session() as session:
        subscriber = session.get(Subscriber, subscriber_id)
        if subscriber is None:
            return _message("Tilaajaa ei löydy", text="Tietojasi ei ole enää palvelussa.")
        email = subscriber.email
    return render_template(
        "subscriber/delete.html", title="Poista kaikki tietoni", email=email, manage_url=_manage_url(token)
    )


@blueprint.post("/hallinta/<token>/poista-tiedot")
def delete_data(token: str) -> str:
    subscriber_id = _subscriber_id(token)
    with _session() as session:
        email = delete_subscriber(session, subscriber_id)
    if email is None:
        return _message("Tilaajaa ei löydy", text="Tietojasi ei ole enää palvelussa.")
    return _message(
        title="Tietosi on poistettu",
        text=f"Osoite {email}, sen haut ja kaikki sille lähetetyt viestit on poistettu palvelusta. "
        "Voit tilata uuden haun etusivulta milloin tahansa.",
    )


GONE = "Tätä hakua ei ole enää: se on voitu poistaa tietoineen. Voit tilata uuden haun etusivulta."


def _ids(value: Any) -> list[int]:
    if isinstance(value, list) and all(isinstance(item, int) for item in value):
        return value
    raise InvalidLinkError("linkki ei kelpaa")
