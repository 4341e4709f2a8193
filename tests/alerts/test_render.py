"""The alert and confirmation emails: Finnish wording, days left in Helsinki time, links, escaping, the cap."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.render import (
    MAX_TENDERS_PER_EMAIL,
    MAX_TENDERS_PER_SECTION,
    SUBJECT_LIMIT,
    AlertEmail,
    Change,
    RenderedEmail,
    SearchSection,
    TenderEntry,
    UpdateEntry,
    count_phrase,
    describe_change,
    format_money,
    format_period,
    render_alert,
    render_confirmation,
    tender_limits,
)

HELSINKI = ZoneInfo("Europe/Helsinki")
#: Thursday 26.11.2026 at 7.00 in Helsinki, when the morning digests go out.
NOW = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
LABEL = "siivous, Forssan seutukunta"
MANAGE = "https://hankintavahti.fi/haut/abc"
STOP_ALL = "https://hankintavahti.fi/lopeta/abc"
STOP_SEARCH = "https://hankintavahti.fi/haku/1/lopeta"


def helsinki(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Helsinki wall-clock time as the aware UTC datetime the database holds."""
    return datetime(year, month, day, hour, minute, tzinfo=HELSINKI).astimezone(UTC)


def tender(tender_id: int = 1, **overrides: Any) -> TenderEntry:
    values: dict[str, Any] = {
        "tender_id": tender_id,
        "title": f"Toimitilojen siivous {tender_id}",
        "buyer": "Forssan kaupunki",
        "place": "Forssa",
        "sectors": ["Siivous- ja kiinteistöpalvelut"],
        "status": "open",
        "kind": "contract_notice",
        "deadline": helsinki(2026, 12, 4),
        "estimated_value": Decimal("240000"),
        "currency": "EUR",
        "notice_url": f"https://www.hankintailmoitukset.fi/fi/public/procurement/{tender_id}/notice/1/overview",
        "documents_url": f"https://tarjouspalvelu.fi/forssa?id={tender_id}&tpk=x",
    }
    values.update(overrides)
    return TenderEntry(**values)


def section(
    new: list[TenderEntry] | None = None,
    updates: list[UpdateEntry] | None = None,
    label: str = LABEL,
    unsubscribe_url: str = STOP_SEARCH,
) -> SearchSection:
    return SearchSection(label=label, new=new or [], updates=updates or [], unsubscribe_url=unsubscribe_url)


def email(
    *sections: SearchSection,
    kind: str = "instant",
    closing_soon: list[TenderEntry] | None = None,
    name: str | None = "Maija",
    period: tuple[date, date] | None = None,
) -> AlertEmail:
    if period is None and kind == "weekly":
        period = (date(2026, 11, 16), date(2026, 11, 22))
    if period is None and kind == "daily":
        period = (date(2026, 11, 25), date(2026, 11, 25))
    return AlertEmail(
        kind=kind,  # type: ignore[arg-type]
        recipient_name=name,
        sections=list(sections),
        closing_soon=closing_soon or [],
        period_start=period[0] if period else None,
        period_end=period[1] if period else None,
        manage_url=MANAGE,
        unsubscribe_all_url=STOP_ALL,
    )


def update(tender_id: int = 50, *changes: Change, **overrides: Any) -> UpdateEntry:
    return UpdateEntry(tender(tender_id, **overrides), list(changes) or [Change("deadline", None, None)])


def render(alert: AlertEmail, now: datetime = NOW) -> RenderedEmail:
    return render_alert(alert, now=now, timezone=HELSINKI)


def cleaned(text: str) -> str:
    """What a title looks like once made one line: control characters as spaces, whitespace runs as one space."""
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.unstyled: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.hrefs.append(attributes["href"] or "")
        if tag in ("a", "p", "h2", "h3", "body") and not attributes.get("style"):
            self.unstyled.append(tag)


def parse(html: str) -> _Hrefs:
    parser = _Hrefs()
    parser.feed(html)
    return parser


def url_lines(text: str) -> set[str]:
    return {line.strip() for line in text.splitlines() if line.strip().startswith("http")}


# --- subjects ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("alert", "subject"),
    [
        pytest.param(
            email(section([tender(1), tender(2), tender(3)])),
            "3 uutta tarjouspyyntöä: siivous, Forssan seutukunta",
            id="three-calls",
        ),
        pytest.param(email(section([tender(1)])), "1 uusi tarjouspyyntö: siivous, Forssan seutukunta", id="one-call"),
        pytest.param(
            email(section([tender(1), tender(2, kind="plan", status="planned")])),
            "2 uutta hankintailmoitusta: siivous, Forssan seutukunta",
            id="a-plan-among-calls",
        ),
        pytest.param(
            email(section([tender(1, kind="award", status="awarded")])),
            "1 uusi hankintailmoitus: siivous, Forssan seutukunta",
            id="one-award",
        ),
        pytest.param(
            email(section([tender(1), tender(2, kind="correction")], [update(50)])),
            "2 uutta tarjouspyyntöä ja 1 muutos: siivous, Forssan seutukunta",
            id="calls-and-a-change",
        ),
        pytest.param(
            email(section([tender(1)], [update(50), update(51), update(52)])),
            "1 uusi tarjouspyyntö ja 3 muutosta: siivous, Forssan seutukunta",
            id="a-call-and-changes",
        ),
        pytest.param(
            email(section(updates=[update(50, title="Humppilan koulun siivous")])),
            "Muutos seuraamaasi hankintaan: Humppilan koulun siivous",
            id="one-change",
        ),
        pytest.param(
            email(section(updates=[update(50), update(51)]), section(updates=[update(52)], label="kuljetus")),
            "3 muutosta seuraamiisi hankintoihin",
            id="changes-only",
        ),
        pytest.param(
            email(section([tender(1), tender(2)]), section([tender(3)], label="kuljetus")),
            "3 uutta tarjouspyyntöä: siivous, Forssan seutukunta ja 1 muu haku",
            id="two-searches",
        ),
        pytest.param(
            email(section([tender(1)]), section([tender(2)], label="a"), section([tender(3)], label="b")),
            "3 uutta tarjouspyyntöä: siivous, Forssan seutukunta ja 2 muuta hakua",
            id="three-searches",
        ),
        pytest.param(
            email(section([tender(1), tender(2)]), section([tender(2)], label="koko Kanta-Häme")),
            "2 uutta tarjouspyyntöä: siivous, Forssan seutukunta ja 1 muu haku",
            id="a-tender-two-searches-match-counts-once",
        ),
    ],
)
def test_an_instant_alert_subject_says_how_many_of_what_and_for_which_search(alert: AlertEmail, subject: str) -> None:
    assert render(alert).subject == subject


@pytest.mark.parametrize(
    ("alert", "subject"),
    [
        pytest.param(
            email(
                section([tender(1), tender(2, kind="plan", status="planned"), tender(3), tender(4), tender(5)]),
                kind="weekly",
            ),
            "Viikkokooste 16.–22.11.2026: 5 uutta hankintaa",
            id="weekly-mixed",
        ),
        pytest.param(
            email(section([tender(1), tender(2), tender(3)]), kind="daily", period=(date(2026, 11, 26),) * 2),
            "Päiväkooste 26.11.2026: 3 uutta tarjouspyyntöä",
            id="daily-calls",
        ),
        pytest.param(
            email(section([tender(1)], [update(50), update(51)]), kind="weekly"),
            "Viikkokooste 16.–22.11.2026: 1 uusi tarjouspyyntö ja 2 muutosta",
            id="weekly-with-changes",
        ),
        pytest.param(
            email(section(updates=[update(50)]), kind="weekly", period=(date(2026, 11, 30), date(2026, 12, 6))),
            "Viikkokooste 30.11.–6.12.2026: 1 muutos seuraamaasi hankintaan",
            id="weekly-across-months-changes-only",
        ),
        pytest.param(
            email(
                section([tender(1), tender(2, kind="award", status="awarded")]),
                kind="weekly",
                period=(date(2026, 12, 28), date(2027, 1, 3)),
            ),
            "Viikkokooste 28.12.2026–3.1.2027: 2 uutta hankintaa",
            id="weekly-across-years",
        ),
    ],
)
def test_a_digest_subject_names_the_period_and_the_counts(alert: AlertEmail, subject: str) -> None:
    assert render(alert).subject == subject


def test_a_long_label_is_clipped_so_the_subject_stays_short_and_keeps_its_ending() -> None:
    label = "siivous, ikkunanpesu, kiinteistönhoito, lumityöt, viheralueiden hoito, Forssan seutukunta, Kanta-Häme"
    subject = render(email(section([tender(1)], label=label), section([tender(2)], label="b"))).subject
    assert len(subject) <= SUBJECT_LIMIT
    assert subject.startswith("2 uutta tarjouspyyntöä: siivous, ikkunanpesu")
    assert subject.endswith("… ja 1 muu haku")


def test_a_long_title_in_a_single_change_subject_is_clipped_at_a_word() -> None:
    title = "Forssan kaupungin toimitilojen, koulujen ja päiväkotien ylläpitosiivous sekä ikkunanpesu 2027–2029"
    subject = render(email(section(updates=[update(50, title=title)]))).subject
    clipped = subject.removeprefix("Muutos seuraamaasi hankintaan: ")
    assert len(clipped) <= 60
    assert clipped.endswith("…")
    assert title.startswith(clipped.removesuffix("…"))


@pytest.mark.parametrize(
    ("number", "phrase"),
    [
        (1, "1 uusi tarjouspyyntö"),
        (2, "2 uutta tarjouspyyntöä"),
        (11, "11 uutta tarjouspyyntöä"),
        (21, "21 uutta tarjouspyyntöä"),
    ],
)
def test_numbers_other_than_one_take_the_partitive(number: int, phrase: str) -> None:
    assert count_phrase(number, "uusi tarjouspyyntö", "uutta tarjouspyyntöä") == phrase


@pytest.mark.parametrize(
    ("start", "end", "written"),
    [
        (date(2026, 11, 26), date(2026, 11, 26), "26.11.2026"),
        (date(2026, 11, 16), date(2026, 11, 22), "16.–22.11.2026"),
        (date(2026, 11, 30), date(2026, 12, 6), "30.11.–6.12.2026"),
        (date(2026, 12, 28), date(2027, 1, 3), "28.12.2026–3.1.2027"),
    ],
)
def test_a_period_writes_month_and_year_once_when_they_are_shared(start: date, end: date, written: str) -> None:
    assert format_period(start, end) == written


# --- days left -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("deadline", "now", "line"),
    [
        pytest.param(
            helsinki(2026, 12, 4),
            helsinki(2026, 11, 26, 7),
            "Määräaika pe 4.12.2026 klo 12.00 – 8 päivää aikaa",
            id="eight-days",
        ),
        pytest.param(
            helsinki(2026, 12, 4),
            helsinki(2026, 12, 2, 23, 59),
            "Määräaika pe 4.12.2026 klo 12.00 – 2 päivää aikaa",
            id="two-days",
        ),
        pytest.param(
            helsinki(2026, 12, 4),
            helsinki(2026, 12, 3, 23, 59),
            "Määräaika pe 4.12.2026 klo 12.00 – viimeinen päivä on huomenna",
            id="tomorrow-a-minute-to-midnight",
        ),
        pytest.param(
            helsinki(2026, 12, 4),
            helsinki(2026, 12, 4, 0, 1),
            "Määräaika pe 4.12.2026 klo 12.00 – tänään on viimeinen päivä",
            id="today-a-minute-past-midnight",
        ),
        pytest.param(
            helsinki(2026, 12, 4),
            datetime(2026, 12, 3, 22, 30, tzinfo=UTC),
            "Määräaika pe 4.12.2026 klo 12.00 – tänään on viimeinen päivä",
            id="today-in-helsinki-while-still-yesterday-in-utc",
        ),
        pytest.param(
            helsinki(2026, 12, 4),
            helsinki(2026, 12, 4, 12),
            "Määräaika on mennyt (pe 4.12.2026 klo 12.00)",
            id="past-at-the-minute",
        ),
        pytest.param(
            helsinki(2026, 12, 5, 0, 0),
            helsinki(2026, 12, 4, 23),
            "Määräaika la 5.12.2026 klo 0.00 – tänään on viimeinen päivä",
            id="a-midnight-deadline-belongs-to-the-evening-before",
        ),
        pytest.param(
            helsinki(2026, 6, 12, 9),
            helsinki(2026, 6, 1),
            "Määräaika pe 12.6.2026 klo 9.00 – 11 päivää aikaa",
            id="summer-time",
        ),
    ],
)
def test_the_deadline_says_the_days_left_counted_in_helsinki_dates(
    deadline: datetime, now: datetime, line: str
) -> None:
    text = render(email(section([tender(1, deadline=deadline)])), now=now).text
    assert line in text


@pytest.mark.parametrize(
    ("overrides", "line"),
    [
        ({"deadline": None}, "Ei määräaikaa"),
        ({"status": "planned", "kind": "prior_information", "deadline": None}, "Ennakkotieto – tarjouspyyntö tulossa"),
        ({"status": "cancelled", "kind": "cancellation"}, "Hankinta on keskeytetty."),
        ({"status": "awarded", "kind": "award"}, "Hankinta on ratkaistu."),
    ],
)
def test_a_tender_without_a_running_deadline_says_why(overrides: dict[str, Any], line: str) -> None:
    text = render(email(section([tender(1, **overrides)]))).text
    assert line in text
    assert "päivää aikaa" not in text


def test_deadlines_of_today_and_tomorrow_are_marked_urgent_in_the_html() -> None:
    html = render(email(section([tender(1, deadline=helsinki(2026, 11, 26, 16)), tender(2)]))).html
    urgent, calm = html.split("tänään on viimeinen päivä")[0], html.split("8 päivää aikaa")[0]
    assert "#a1170c" in urgent.rsplit("<p", 1)[1]
    assert "#a1170c" not in calm.rsplit("<p", 1)[1]


# --- money -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "written"),
    [
        (Decimal("240000"), "EUR", "240\xa0000\xa0€"),
        ("240000.00", "EUR", "240\xa0000\xa0€"),
        (Decimal("18500.50"), "EUR", "18\xa0500,50\xa0€"),
        (Decimal("1200"), None, "1\xa0200\xa0€"),
        (Decimal("99000"), "SEK", "99\xa0000\xa0SEK"),
        (None, "EUR", None),
        (Decimal("NaN"), "EUR", None),
        ("not a number", "EUR", None),
    ],
)
def test_money_is_written_the_finnish_way_without_zero_cents(value: Any, currency: str | None, written: str) -> None:
    assert format_money(value, currency) == written


def test_the_estimated_value_is_shown_only_when_known() -> None:
    rendered = render(email(section([tender(1), tender(2, estimated_value=None)])))
    assert rendered.text.count("Arvioitu arvo") == 1
    assert "Arvioitu arvo 240\xa0000\xa0€" in rendered.text


# --- body structure -------------------------------------------------------------------------------------------------


def test_the_greeting_uses_the_name_when_there_is_one() -> None:
    assert render(email(section([tender(1)]), name="Maija")).text.startswith("Hei Maija,\n")
    assert render(email(section([tender(1)]), name=None)).text.startswith("Hei,\n")
    assert render(email(section([tender(1)]), name="  ")).text.startswith("Hei,\n")


@pytest.mark.parametrize(
    ("alert", "sentence"),
    [
        (email(section([tender(1)])), "Hakuusi löytyi uusi tarjouspyyntö."),
        (
            email(section([tender(1), tender(2)]), section([tender(3, kind="plan")], label="b")),
            "Hakuihisi löytyi 3 uutta hankintailmoitusta.",
        ),
        (email(section(updates=[update(50)])), "Hankintaan, josta kerroimme sinulle aiemmin, on tullut muutoksia."),
        (
            email(section([tender(1)], [update(50), update(51)])),
            "Hakuusi löytyi uusi tarjouspyyntö. Lisäksi hankintoihin, joista kerroimme sinulle aiemmin, on tullut"
            " muutoksia.",
        ),
        (
            email(section([tender(1)]), kind="weekly"),
            "Tässä ovat hakuusi sopivat uudet hankinnat ajalta 16.–22.11.2026.",
        ),
        (
            email(section(updates=[update(50)]), kind="daily"),
            "Tässä ovat päivältä 25.11.2026 muutokset hankintoihin, joista kerroimme sinulle aiemmin.",
        ),
    ],
)
def test_the_first_sentence_says_what_the_email_is(alert: AlertEmail, sentence: str) -> None:
    assert render(alert).text.split("\n")[2] == sentence


def test_a_digest_groups_new_tenders_by_their_main_sector_with_counts() -> None:
    tenders = [
        tender(1, sectors=["Siivous- ja kiinteistöpalvelut", "Maanrakennus ja infra"]),
        tender(2, sectors=["Kuljetus ja logistiikka"]),
        tender(3, sectors=["Siivous- ja kiinteistöpalvelut"]),
        tender(4, sectors=[]),
    ]
    text = render(email(section(tenders), kind="weekly")).text
    cleaning, transport, other = (
        text.index("Siivous- ja kiinteistöpalvelut (2)"),
        text.index("Kuljetus ja logistiikka (1)"),
        text.index("Muut hankinnat (1)"),
    )
    assert cleaning < text.index("Toimitilojen siivous 1") < text.index("Toimitilojen siivous 3") < transport
    assert transport < text.index("Toimitilojen siivous 2") < other < text.index("Toimitilojen siivous 4")


def test_an_instant_alert_lists_new_tenders_without_sector_headings() -> None:
    text = render(email(section([tender(1), tender(2, sectors=["Kuljetus ja logistiikka"])]))).text
    assert "(1)" not in text
    assert text.index("Toimitilojen siivous 1") < text.index("Toimitilojen siivous 2")


def test_a_digest_ends_with_the_tenders_whose_deadline_is_near() -> None:
    soon = tender(7, title="Ikkunanpesu", deadline=helsinki(2026, 11, 28))
    rendered = render(email(section([tender(1)]), kind="weekly", closing_soon=[soon]))
    closing = rendered.text.split("Määräaika lähestyy", 1)[1]
    assert "Ikkunanpesu" in closing
    assert "Määräaika la 28.11.2026 klo 12.00 – 2 päivää aikaa" in closing
    assert "Määräaika lähestyy" in rendered.html
    assert "Määräaika lähestyy" not in render(email(section([tender(1)]), kind="weekly")).text


def test_each_tender_shows_title_buyer_place_and_sectors() -> None:
    entry = tender(
        1,
        title="Koulukuljetukset",
        buyer="Ypäjän kunta",
        place="Ypäjä",
        sectors=["Kuljetus ja logistiikka", "Sosiaali- ja terveyspalvelut"],
    )
    text = render(email(section([entry]))).text
    assert (
        "* Koulukuljetukset\n  Ypäjän kunta · Ypäjä\n  Kuljetus ja logistiikka, Sosiaali- ja terveyspalvelut\n" in text
    )


def test_only_the_links_that_exist_are_shown() -> None:
    rendered = render(email(section([tender(1, documents_url=None)])))
    assert "Hankinta-asiakirjat" not in rendered.text
    assert "Hankinta-asiakirjat" not in rendered.html
    assert "Ilmoitus:" in rendered.text


def test_the_footer_says_why_and_offers_every_way_out() -> None:
    rendered = render(email(section([tender(1)])))
    assert "Saat tämän viestin, koska tilasit Hankintavahdista haun ”siivous, Forssan seutukunta”." in rendered.text
    for part in (rendered.text, rendered.html):
        for words in (
            "Muokkaa hakujasi",
            "Lopeta tämän haun viestit",
            "Lopeta kaikki viestit",
            "Hankintavahti – Hämeen julkiset hankinnat yrittäjille",
        ):
            assert words in part


def test_with_several_searches_each_stop_link_names_its_search() -> None:
    rendered = render(
        email(
            section([tender(1)]),
            section([tender(2)], label="kuljetus, Ypäjä", unsubscribe_url="https://hankintavahti.fi/haku/2/lopeta"),
        )
    )
    assert "haut ”siivous, Forssan seutukunta” ja ”kuljetus, Ypäjä”" in rendered.text
    assert "Lopeta haun ”kuljetus, Ypäjä” viestit:\nhttps://hankintavahti.fi/haku/2/lopeta\n" in rendered.text
    assert "Lopeta haun ”siivous, Forssan seutukunta” viestit:\n" + STOP_SEARCH in rendered.text


def test_every_link_is_in_both_parts_and_each_address_has_a_line_of_its_own_in_the_text() -> None:
    first, second = tender(1), tender(2, notice_url="https://ted.europa.eu/fi/notice/-/detail/123-2026")
    changed = update(50, Change("status", "open", "cancelled"))
    rendered = render(
        email(
            section([first]),
            section([second], [changed], label="b", unsubscribe_url="https://x.fi/2"),
            kind="weekly",
            closing_soon=[tender(3)],
        )
    )
    expected = {
        MANAGE,
        STOP_ALL,
        STOP_SEARCH,
        "https://x.fi/2",
        *(
            url
            for entry in (first, second, changed.tender, tender(3))
            for url in (entry.notice_url, entry.documents_url)
        ),
    }
    assert expected <= set(parse(rendered.html).hrefs)
    assert expected <= url_lines(rendered.text)


def test_the_first_new_title_is_the_inbox_preview() -> None:
    html = render(email(section([tender(1, title="Ikkunanpesu", buyer="Jokioisten kunta")]))).html
    assert 'class="preheader"' in html
    assert html.index("Ikkunanpesu – Jokioisten kunta") < html.index("Hei Maija")


# --- changes ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "described"),
    [
        (
            Change("deadline", "2026-12-04T10:00:00+00:00", "2026-12-14T10:00:00+00:00"),
            ("Määräaika", "pe 4.12.2026 klo 12.00", "ma 14.12.2026 klo 12.00"),
        ),
        (
            Change("deadline", None, "2026-12-14T10:00:00+00:00"),
            ("Määräaika", "ei ilmoitettu", "ma 14.12.2026 klo 12.00"),
        ),
        (
            Change("estimated_value", "240000.00", "260000.50"),
            ("Arvioitu arvo", "240\xa0000\xa0€", "260\xa0000,50\xa0€"),
        ),
        (Change("currency", None, "EUR"), ("Valuutta", "ei ilmoitettu", "EUR")),
        (
            Change("documents_url", None, "https://tarjouspalvelu.fi/a"),
            ("Hankinta-asiakirjat", "ei ilmoitettu", "https://tarjouspalvelu.fi/a"),
        ),
        (Change("status", "open", "cancelled"), ("Tila", "avoin", "keskeytetty")),
        (Change("status", "closed", "awarded"), ("Tila", "tarjousaika päättynyt", "ratkaistu")),
        (Change("title", "Siivous", "Siivous ja ikkunanpesu"), ("Otsikko", "Siivous", "Siivous ja ikkunanpesu")),
        (
            Change(
                "winners", [], [{"name": "Puhdas Oy", "business_id": "1234567-8", "town": "Forssa", "size": "micro"}]
            ),
            ("Voittaja", "ei ilmoitettu", "Puhdas Oy"),
        ),
        (
            Change(
                "winners",
                None,
                [
                    {"name": "A Oy", "business_id": None, "town": None, "size": None},
                    {"name": None, "business_id": "7654321-0", "town": None, "size": None},
                ],
            ),
            ("Voittajat", "ei ilmoitettu", "A Oy ja 7654321-0"),
        ),
        (Change("awarded_value", None, "86400.00"), ("Sopimuksen arvo", "ei ilmoitettu", "86\xa0400\xa0€")),
        (Change("description", "Vanha kuvaus.", "Uusi kuvaus."), ("Kuvaus", "Vanha kuvaus.", "Uusi kuvaus.")),
        (
            Change("cpv", ["90910000"], ["90910000", "90911300"]),
            (
                "CPV-koodit",
                "Siivous- ja puhdistuspalvelut (90910000)",
                "Siivous- ja puhdistuspalvelut (90910000) ja Ikkunanpesupalvelut (90911300)",
            ),
        ),
        (
            Change(
                "buyer",
                {"name": "Forssan kaupunki", "business_id": "0203055-3"},
                {"name": "Forssan seudun hankintatoimi", "business_id": "1234567-8"},
            ),
            ("Hankintayksikkö", "Forssan kaupunki", "Forssan seudun hankintatoimi"),
        ),
        (
            Change(
                "buyer",
                {"name": "Forssan kaupunki", "business_id": None},
                {"name": "Forssan kaupunki", "business_id": "0203055-3"},
            ),
            ("Hankintayksikkö", "Forssan kaupunki", "Forssan kaupunki (0203055-3)"),
        ),
        (Change("procedure_type", "open", "neg-w-call"), ("Menettely", "avoin menettely", "neuvottelumenettely")),
        (Change("contract_nature", "supplies", "services"), ("Hankintalaji", "tavarahankinta", "palveluhankinta")),
    ],
    ids=lambda value: value.field if isinstance(value, Change) else "",
)
def test_each_change_is_described_in_finnish(change: Change, described: tuple[str, str, str]) -> None:
    assert describe_change(change, timezone=HELSINKI) == described


def test_a_change_line_reads_what_old_arrow_new() -> None:
    changed = update(
        50,
        Change("deadline", "2026-12-04T10:00:00+00:00", "2026-12-14T10:00:00+00:00"),
        Change("estimated_value", None, "120000.00"),
    )
    rendered = render(email(section(updates=[changed])))
    assert "  - Määräaika: pe 4.12.2026 klo 12.00 → ma 14.12.2026 klo 12.00\n" in rendered.text
    assert "  - Arvioitu arvo: ei ilmoitettu → 120\xa0000\xa0€\n" in rendered.text
    assert "Muutokset seuraamiisi hankintoihin" in rendered.text
    assert "<strong>Määräaika:</strong>" in rendered.html


def test_a_cancellation_and_an_award_are_said_plainly() -> None:
    cancelled = update(50, Change("status", "open", "cancelled"), title="Koulukuljetukset", status="cancelled")
    awarded = update(
        51,
        Change("status", "closed", "awarded"),
        Change("winners", [], [{"name": "Viherpalvelu Oy", "business_id": "1234567-8", "town": None, "size": None}]),
        Change("awarded_value", None, "86400.00"),
        status="awarded",
    )
    text = render(email(section(updates=[cancelled, awarded]))).text
    assert "  - Hankinta on keskeytetty.\n" in text
    assert "  - Hankinta on ratkaistu: voittaja Viherpalvelu Oy.\n" in text
    assert "  - Sopimuksen arvo: ei ilmoitettu → 86\xa0400\xa0€\n" in text
    assert "Tila:" not in text
    assert "Voittaja:" not in text


def test_new_documents_are_announced_without_repeating_the_address() -> None:
    changed = update(50, Change("documents_url", None, "https://tarjouspalvelu.fi/forssa?id=50&tpk=x"))
    text = render(email(section(updates=[changed]))).text
    assert "  - Hankinta-asiakirjat on julkaistu.\n" in text
    assert text.count("https://tarjouspalvelu.fi/forssa?id=50&tpk=x") == 1


# --- safety ----------------------------------------------------------------------------------------------------------


def test_a_hostile_title_and_buyer_are_escaped_in_the_html() -> None:
    hostile = tender(
        1,
        title='<script>alert("x")</script> Siivous',
        buyer="<img src=x onerror=alert(1)>",
        notice_url="javascript:alert(1)",
        documents_url='https://a.fi/" onclick="alert(1)',
    )
    rendered = render(email(section([hostile]), name="<b>Maija</b>"))
    assert "<script>" not in rendered.html
    assert "<img" not in rendered.html
    assert "<b>Maija" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert "javascript:" not in rendered.html
    assert "onclick" not in rendered.html
    assert '<script>alert("x")</script> Siivous' in rendered.text


def test_a_title_with_line_breaks_cannot_break_the_subject() -> None:
    subject = render(email(section(updates=[update(50, title="Siivous\r\nBcc: kaikki@example.com")]))).subject
    assert subject == "Muutos seuraamaasi hankintaan: Siivous Bcc: kaikki@example.com"


def test_the_css_is_inlined_into_style_attributes() -> None:
    rendered = render(
        email(
            section([tender(1)], [update(50, Change("status", "open", "cancelled"))]),
            kind="weekly",
            closing_soon=[tender(2)],
        )
    )
    assert "<style" not in rendered.html
    assert parse(rendered.html).unstyled == []
    assert 'class="button" href="' in rendered.html
    assert "max-width:600px" in rendered.html


# --- the cap ---------------------------------------------------------------------------------------------------------


def shown_numbers(text: str, numbers: range) -> list[int]:
    return [number for number in numbers if f"Toimitilojen siivous {number}\n" in text]


def test_a_long_list_shows_thirty_and_says_how_many_more() -> None:
    rendered = render(email(section([tender(number) for number in range(1, 46)], [update(100), update(101)])))
    assert shown_numbers(rendered.text, range(1, 46)) == list(range(1, MAX_TENDERS_PER_SECTION + 1))
    assert f"ja 15 muuta – katso kaikki:\n{MANAGE}\n" in rendered.text
    assert f'ja 15 muuta – <a href="{MANAGE}"' in rendered.html
    assert rendered.subject.startswith("45 uutta tarjouspyyntöä ja 2 muutosta: ")


def test_an_email_lists_at_most_sixty_tenders_so_gmail_never_clips_the_stop_links() -> None:
    sections = [
        section([tender(start + number) for number in range(35)], label=f"haku {start}") for start in (0, 100, 200)
    ]
    rendered = render(email(*sections, kind="weekly", closing_soon=[tender(900)]))
    assert len(shown_numbers(rendered.text, range(0, 35))) == 30
    assert len(shown_numbers(rendered.text, range(100, 135))) == 30
    assert shown_numbers(rendered.text, range(200, 235)) == []
    assert shown_numbers(rendered.text, range(900, 901)) == []
    assert f"35 hankintaa – katso kaikki:\n{MANAGE}\n" in rendered.text
    assert f"1 hankinta – katso kaikki:\n{MANAGE}\n" in rendered.text
    assert len(rendered.html.encode()) < 102_000
    assert rendered.html.rstrip().endswith("</html>")
    assert STOP_ALL in parse(rendered.html).hrefs


def test_changes_are_never_dropped_and_take_their_room_first() -> None:
    updates = [update(100 + number, title=f"Muutettu hankinta {number}") for number in range(70)]
    rendered = render(email(section([tender(1), tender(2)], updates)))
    assert all(f"Muutettu hankinta {number}\n" in rendered.text for number in range(70))
    assert shown_numbers(rendered.text, range(1, 3)) == []
    assert f"2 hankintaa – katso kaikki:\n{MANAGE}\n" in rendered.text


# --- confirmation -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frequency", "words"),
    [("instant", "heti kun uusia löytyy"), ("daily", "päivittäin klo 7"), ("weekly", "maanantaisin klo 7")],
)
def test_the_confirmation_says_what_was_ordered_and_that_nothing_comes_before_confirming(
    frequency: str, words: str
) -> None:
    rendered = render_confirmation(
        recipient_name="Maija",
        label="siivous, <Forssa>",
        frequency=frequency,
        confirm_url="https://hankintavahti.fi/vahvista/t0k3n",
        manage_url=MANAGE,
        now=NOW,
        timezone=HELSINKI,
    )
    assert rendered.subject == "Vahvista Hankintavahdin tilaus"
    for part in (rendered.text, rendered.html):
        assert f"Viestit:{'</strong>' if part is rendered.html else ''} {words}" in part
        assert "Emme lähetä sinulle mitään ennen kuin vahvistat tilauksen." in part
        assert "voit jättää viestin huomiotta" in part
        assert "Tilaus tehtiin to 26.11.2026 klo 7.00." in part
    assert "Haku: siivous, <Forssa>" in rendered.text
    assert "siivous, &lt;Forssa&gt;" in rendered.html
    assert "https://hankintavahti.fi/vahvista/t0k3n" in url_lines(rendered.text)
    assert '"https://hankintavahti.fi/vahvista/t0k3n"' in rendered.html
    assert ">Vahvista tilaus</a>" in rendered.html
    assert "<style" not in rendered.html


def test_the_confirmation_refuses_a_frequency_it_cannot_describe() -> None:
    with pytest.raises(ValueError, match="hourly"):
        render_confirmation(
            recipient_name=None,
            label="x",
            frequency="hourly",
            confirm_url="https://a.fi",
            manage_url=MANAGE,
            now=NOW,
            timezone=HELSINKI,
        )


# --- properties ----------------------------------------------------------------------------------------------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
_moments = st.datetimes(timezones=st.just(UTC)) | st.datetimes(
    min_value=datetime(2026, 11, 1), max_value=datetime(2027, 1, 31), timezones=st.just(UTC)
)
_tenders = st.builds(
    TenderEntry,
    tender_id=st.integers(1, 40),
    title=st.text(max_size=200),
    buyer=st.none() | st.text(max_size=80),
    place=st.text(max_size=30),
    sectors=st.lists(st.text(max_size=30), max_size=3),
    status=st.sampled_from(["planned", "open", "closed", "cancelled", "awarded", "not_awarded", "?"]),
    kind=st.sampled_from(["plan", "prior_information", "contract_notice", "correction", "cancellation", "award"]),
    deadline=st.none() | _moments,
    estimated_value=st.none() | st.decimals(),
    currency=st.none() | st.text(max_size=4),
    notice_url=st.none() | st.text(max_size=20) | st.just("https://example.fi/a?b=1&c=<2>"),
    documents_url=st.none() | st.text(max_size=20),
)
_changes = st.builds(
    Change,
    field=st.sampled_from(
        [
            "deadline",
            "estimated_value",
            "currency",
            "documents_url",
            "status",
            "title",
            "winners",
            "awarded_value",
            "description",
            "cpv",
            "buyer",
            "procedure_type",
            "contract_nature",
            "?",
        ]
    ),
    old=_json | _moments.map(datetime.isoformat),
    new=_json | _moments.map(datetime.isoformat),
)
_sections = st.builds(
    SearchSection,
    label=st.text(max_size=150),
    new=st.lists(_tenders, max_size=35),
    updates=st.lists(st.builds(UpdateEntry, tender=_tenders, changes=st.lists(_changes, max_size=4)), max_size=3),
    unsubscribe_url=st.just(STOP_SEARCH),
)
_emails = st.builds(
    AlertEmail,
    kind=st.sampled_from(["instant", "daily", "weekly"]),
    recipient_name=st.none() | st.text(max_size=30),
    sections=st.lists(_sections, min_size=1, max_size=3),
    closing_soon=st.lists(_tenders, max_size=3),
    period_start=st.none() | st.dates(),
    period_end=st.none() | st.dates(),
    manage_url=st.just(MANAGE),
    unsubscribe_all_url=st.just(STOP_ALL),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(alert=_emails, now=_moments)
def test_any_email_renders_with_every_shown_title_and_a_one_line_subject(alert: AlertEmail, now: datetime) -> None:
    rendered = render_alert(alert, now=now, timezone=HELSINKI)
    assert "\n" not in rendered.subject and "\r" not in rendered.subject
    assert len(rendered.subject) <= SUBJECT_LIMIT
    limits, soon_limit = tender_limits(alert)
    assert sum(limits) + soon_limit <= max(MAX_TENDERS_PER_EMAIL - sum(len(part.updates) for part in alert.sections), 0)
    listed = [*alert.closing_soon[:soon_limit]]
    for part, limit in zip(alert.sections, limits, strict=True):
        assert limit <= min(len(part.new), MAX_TENDERS_PER_SECTION)
        listed += [*part.new[:limit], *(changed.tender for changed in part.updates)]
    for entry in listed:
        assert (cleaned(entry.title) or "Nimetön hankinta") in rendered.text
    assert "<style" not in rendered.html
    assert STOP_ALL in rendered.text


@settings(max_examples=300, deadline=None)
@given(change=_changes, currency=st.none() | st.text(max_size=4))
def test_any_stored_change_can_be_described(change: Change, currency: str | None) -> None:
    what, old, new = describe_change(change, timezone=HELSINKI, currency=currency)
    assert what and old and new
    assert "\n" not in old + new


def test_the_public_shapes_are_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        tender(1).title = "x"  # type: ignore[misc]
