"""The comparison's totals and cards keep variance on paired invoices apart from amounts not
received and not expected; a highlighted row says why, and the legend prints only when a row is
highlighted. Hand-built invoices read through the real extract queries; every file is read back
and every expected number is worked out by hand beside it.

Fixture (ZAR, October 2026):
    contract     expected     received    status
    Over         1,000.00     1,100.00    overbilled  (+100.00)
    Under        2,000.00     1,950.00    underbilled (−50.00)
    Pending    370,026.24        —        not received
    Surprise         —          500.00    not expected
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from reporting_dagster.lib.documents.reports import invoice_comparison as report
from reporting_dagster.lib.documents.reports.common import ReportContext
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render import render
from reporting_dagster.lib.render.document import Branding, Sections
from reporting_dagster.lib.rules.comparison import totals_by_currency
from tests.builders import Platform, compare_period


@pytest.fixture
def world(fresh_engine):
    p = Platform(fresh_engine)
    p.period_id = p.period(2026, 10)
    p.org_id = p.org("Karoo Solar")
    p.project_id = p.project(p.org_id, "Karoo One")
    return p


def pair(p, name, expected, received, currency="ZAR"):
    c = p.contract(p.org_id, p.project_id, name)
    e = p.expected(p.period_id, c, p.project_id, currency, [("OM_FEE", "Fee", expected)]) if expected else None
    r = p.received(p.period_id, c, p.project_id, currency, [("OM_FEE", "Fee", received)], f"V-{name}") if received else None
    return e, r


def mixed(p):
    pair(p, "Over", "1000.00", "1100.00")
    pair(p, "Under", "2000.00", "1950.00")
    pair(p, "Pending", "370026.24", None)
    pair(p, "Surprise", None, "500.00")


def context(org_id: int) -> ReportContext:
    return ReportContext(org_id, "Karoo Solar", BillingPeriod(1, "October 2026", dt.date(2026, 10, 1), dt.date(2026, 10, 31)),
                         dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc), Branding(), Sections())


def document(p):
    result = compare_period(p.engine, p.period_id)
    return report.build_document(result.for_organization(p.org_id), context(p.org_id), dict(result.parameters))


def pdf_text(data: bytes) -> str:
    return " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_totals_split_paired_variance_from_not_received_and_not_expected(world):
    mixed(world)
    zar = totals_by_currency(compare_period(world.engine, world.period_id).invoices)["ZAR"]
    # paired: expected 1,000.00 + 2,000.00 = 3,000.00; received 1,100.00 + 1,950.00 = 3,050.00
    assert zar["paired"] == {"pairs": 2, "expected": D("3000.00"), "received": D("3050.00"),
                             "variance": D("50.00"),  # 3,050.00 − 3,000.00
                             "variance_percent": D("1.67")}  # 50 / 3,000 × 100 = 1.666… → 1.67
    assert zar["not_received"] == {"pairs": 1, "expected": D("370026.24")}
    assert zar["not_expected"] == {"pairs": 1, "received": D("500.00")}
    # the headline variance is the paired one, never 3,550.00 − 373,026.24 = −369,476.24
    assert (zar["variance"], zar["variance_percent"]) == (D("50.00"), D("1.67"))
    # the column sums stay what the columns hold: 3,000.00 + 370,026.24; 3,050.00 + 500.00
    assert (zar["expected"], zar["received"]) == (D("373026.24"), D("3550.00"))


def test_card_and_total_rows_on_the_page(world):
    mixed(world)
    doc = document(world)
    card = doc.cards[0]
    assert card.title == "ZAR · variance on 2 invoice pairs"
    assert card.value == "ZAR 50.00 (1.67%)"
    assert card.lines == ("Expected ZAR 3,000.00 · received ZAR 3,050.00", "Overbilled: 1", "Underbilled: 1",
                          "Not received (1): expected ZAR 370,026.24", "Not expected (1): received ZAR 500.00")
    totals = {t["contract_name"]: t for t in doc.table("invoices").totals}
    assert list(totals) == ["Paired ZAR (2)", "Not received ZAR (1)", "Not expected ZAR (1)", "Total ZAR"]
    assert totals["Paired ZAR (2)"]["variance"] == D("50.00") and totals["Paired ZAR (2)"]["variance_percent"] == D("1.67")
    assert totals["Not received ZAR (1)"]["expected_amount"] == D("370026.24")
    assert "variance" not in totals["Total ZAR"]  # no variance over rows that have none

    for text in (pdf_text(render(doc, "pdf")), " ".join(render(doc, "html").decode().split())):
        assert "ZAR 50.00 (1.67%)" in text and "variance on 2 invoice pairs" in text.lower()  # titles: capitals in CSS
        assert "Not received (1): expected ZAR 370,026.24" in text and "Not expected (1): received ZAR 500.00" in text
        assert "369,476.24" not in text  # the mixed number of old
        assert "Highlighted rows are discrepancies" in text


def test_a_paired_only_currency_keeps_one_total_row(world):
    pair(world, "Exact", "10.00", "10.00", currency="USD")
    pair(world, "Fee", "40.00", "42.00", currency="USD")
    doc = document(world)
    # one total: expected 10 + 40 = 50.00, received 10 + 42 = 52.00, variance 2.00 = 4.00 % of 50
    assert [(t["contract_name"], t["expected_amount"], t["received_amount"], t["variance"], t["variance_percent"])
            for t in doc.table("invoices").totals] == [("Total USD", D("50.00"), D("52.00"), D("2.00"), D("4.00"))]
    assert doc.cards[0].lines[-2:] == ("Not received (0)", "Not expected (0)")


def test_highlighted_rows_say_why(world):
    mixed(world)
    e, r = pair(world, "Disputed", "80.00", "80.00")
    world.stored_comparison(e, r, "overbilled")  # computed: matched (0.00); stored: overbilled
    pair(world, "Fine", "5.00", "5.00")
    result = compare_period(world.engine, world.period_id)
    why = dict(zip(result.invoices["contract_name"], result.invoices["discrepancy_reason"]))
    assert why == {"Over": "Outside tolerance", "Under": "Outside tolerance", "Pending": "No received invoice",
                   "Surprise": "No expected invoice", "Disputed": "Stored status disagrees", "Fine": ""}
    line_why = dict(zip(result.lines["contract_name"], result.lines["discrepancy_reason"]))
    assert line_why["Pending"] == "No received line" and line_why["Surprise"] == "No expected line"
    assert line_why["Fine"] == "" and line_why["Over"] == "Outside tolerance"

    doc = report.build_document(result.for_organization(world.org_id), context(world.org_id), {})
    html = render(doc, "html").decode()
    # every highlighted row of the invoice table carries its reason, and only those rows
    invoices_table = html[html.index("table-invoices"):html.index("table-lines")]
    rows = re.findall(r'<tr(?: class="([^"]*)")?>(.*?)</tr>', invoices_table, re.S)
    highlighted = [cells for css, cells in rows if "hl" in css.split()]
    assert len(highlighted) == 5  # Over, Under, Pending, Surprise, Disputed
    reasons = ("Outside tolerance", "No received invoice", "No expected invoice", "Stored status disagrees")
    assert all(any(reason in cells for reason in reasons) for cells in highlighted)
    assert not any(reason in cells for css, cells in rows if "hl" not in css.split() for reason in reasons)
    csv_text = render(doc, "csv").decode("utf-8")
    assert "No received line" in csv_text and "Discrepancy" in csv_text.split("\r\n")[5]


def test_legend_on_highlighted_rows_only_when_a_row_is_highlighted(world):
    pair(world, "Exact", "10.00", "10.00")
    doc = document(world)
    for text in (pdf_text(render(doc, "pdf")), render(doc, "html").decode()):
        assert "Highlighted rows" not in text  # nothing is highlighted
        assert "Variance = received − expected" in text  # how to read the numbers stays
    pair(world, "Short", "10.00", "9.00")
    assert "Highlighted rows are discrepancies" in render(document(world), "html").decode()


def test_chart_panels_follow_the_cards_and_name_repeated_contracts_apart(world):
    pair(world, "Fee", "100.00", "90.00", currency="USD")
    pair(world, "Fee", "100.00", "130.00", currency="EUR")
    c = world.contract(world.org_id, world.project_id, "Twice")
    for number, received in (("A-1", "60.00"), ("A-2", "75.00")):
        e = world.expected(world.period_id, c, world.project_id, "EUR", [("OM_FEE", "Fee", "50.00")])
        r = world.received(world.period_id, c, world.project_id, "EUR", [("OM_FEE", "Fee", received)], number)
        world.stored_comparison(e, r, "unchecked")  # two stored pairs on one contract
    doc = document(world)
    chart = doc.charts[0]
    cards = [card.title.split(" · ")[0] for card in doc.cards]
    series = list(dict.fromkeys(bar.series for bar in chart.bars))
    assert cards == series == ["EUR", "USD"]
    eur = [bar.label for bar in chart.bars if bar.series == "EUR"]
    assert sorted(eur) == ["Fee", "Twice · A-1", "Twice · A-2"]  # by vendor invoice number
    html = render(doc, "html").decode()
    assert html.index("<h3>EUR</h3>") < html.index("<h3>USD</h3>")


def test_a_currency_without_pairs_says_so_instead_of_a_variance(world):
    pair(world, "Late", "700.00", None, currency="USD")
    pair(world, "Early", None, "300.00", currency="USD")
    (card,) = document(world).cards
    # nothing paired: no variance and no percentage; 1 not received + 1 not expected = 2 unpaired
    assert (card.title, card.value) == ("USD · no paired invoices", "2 unpaired")
    assert card.lines == ("Not received (1): expected USD 700.00", "Not expected (1): received USD 300.00")
