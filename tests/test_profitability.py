"""Project profitability rules on hand-built entries; expected numbers worked out by hand beside them.

Fixture (organization 1, October 2026); revenue = rate × min / 60 for billable entries with a
billing snapshot, cost = rate × min / 60 for every entry with a cost snapshot:
    id  project            min  billable  billing        cost
    1   Solar North (20)    90  yes       100.00 USD     40.00 USD   rev 150.00, cost 60.00
    2   Solar North (20)    60  no        —              40.00 USD   cost 40.00 (non-billable with a cost)
    3   Solar North (20)     7  yes       100.00 USD     —           rev 11.666…
    4   Wind East (21)      45  yes       120.00 EUR     —           rev 90.00 (revenue, no cost)
    5   Wind East (21)      30  yes       —              —           no rate: 0.50 unpriced billable hours
    6   Hydro South (22)    30  no        —              50.00 ZAR   cost 25.00 (cost, no revenue)
    7   Dual Park (23)      60  yes       80.00 USD      30.00 USD   rev 80.00, cost 30.00
    8   Dual Park (23)      20  yes       90.00 EUR      36.00 EUR   rev 30.00, cost 12.00
    9   Cross Farm (24)     60  yes       100.00 USD     1000.00 ZAR rev 100.00 USD, cost 1000.00 ZAR
    10-12 Drift Farm (25)   20 each, yes  100.00 EUR     —           rev 3 × 33.333… = 100.00 exactly
    13  Solar North (20)   600  yes       100.00 USD     40.00 USD   2026-11-01: outside the month
Customers: Solar North ← "Zeta Power" (501), "acme Energy" (502); Dual Park ← "acme Energy" (502).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pandas as pd
import pytest

from reporting_dagster.lib.money import half_up
from reporting_dagster.lib.rules.profitability import profitability, totals_by_currency
from reporting_dagster.lib.documents.reports import project_profitability as report
from tests.test_timesheet import OCT1, OCT31, context, entry, frame, read_all

DAY = dt.date(2026, 10, 12)


@pytest.fixture
def entries():
    usd, eur, zar = "USD", "EUR", "ZAR"
    return frame([
        entry(1, 1, "Ann", 20, "Solar North", DAY, 90, True, billing=("100.00", usd), cost=("40.00", usd)),
        entry(2, 1, "Ann", 20, "Solar North", DAY, 60, False, cost=("40.00", usd)),
        entry(3, 1, "Ann", 20, "Solar North", OCT31, 7, True, billing=("100.00", usd)),
        entry(4, 2, "Ben", 21, "Wind East", OCT1, 45, True, billing=("120.00", eur)),
        entry(5, 2, "Ben", 21, "Wind East", DAY, 30, True),
        entry(6, 2, "Ben", 22, "Hydro South", DAY, 30, False, cost=("50.00", zar)),
        entry(7, 1, "Ann", 23, "Dual Park", DAY, 60, True, billing=("80.00", usd), cost=("30.00", usd)),
        entry(8, 2, "Ben", 23, "Dual Park", DAY, 20, True, billing=("90.00", eur), cost=("36.00", eur)),
        entry(9, 1, "Ann", 24, "Cross Farm", DAY, 60, True, billing=("100.00", usd), cost=("1000.00", zar)),
        *[entry(10 + i, 2, "Ben", 25, "Drift Farm", DAY, 20, True, billing=("100.00", eur)) for i in range(3)],
        entry(13, 1, "Ann", 20, "Solar North", dt.date(2026, 11, 1), 600, True,
              billing=("100.00", usd), cost=("40.00", usd)),
    ])


@pytest.fixture
def customers():
    return pd.DataFrame({"project_id": [20, 20, 23], "customer_id": [501, 502, 502],
                         "customer_name": ["Zeta Power", "acme Energy", "acme Energy"]})


def shown(rows):
    """Rows as every file shows them: half-up to 2 dp."""
    return [(r["project_name"], r["customer_names"], r["currency"], half_up(r["billable_hours"]), half_up(r["revenue"]),
             half_up(r["cost"]), half_up(r["margin"]), r["margin_percent"]) for _, r in rows.iterrows()]


def test_rows_per_project_and_currency(entries, customers):
    result = profitability(entries, customers, OCT1, OCT31)
    assert shown(result.rows) == [
        # revenue in USD, cost in ZAR: two rows, never one mixed row
        ("Cross Farm", None, "USD", D("1.00"), D("100.00"), D("0.00"), D("100.00"), D("100.00")),
        ("Cross Farm", None, "ZAR", D("0.00"), D("0.00"), D("1000.00"), D("-1000.00"), None),
        # 3 × 20 min × 100.00 / 60 = 100.00 exactly (rounding each entry would give 99.99)
        ("Drift Farm", None, "EUR", D("1.00"), D("100.00"), D("0.00"), D("100.00"), D("100.00")),
        # two currencies on one project: two rows. EUR 20 min = 0.33 h, 90×20/60 = 30.00, 36×20/60 = 12.00,
        # margin 18.00, 18/30 = 60.00 %; USD 60 min, 80.00 − 30.00 = 50.00, 50/80 = 62.50 %
        ("Dual Park", "acme Energy", "EUR", D("0.33"), D("30.00"), D("12.00"), D("18.00"), D("60.00")),
        ("Dual Park", "acme Energy", "USD", D("1.00"), D("80.00"), D("30.00"), D("50.00"), D("62.50")),
        # cost but no revenue: 50.00 × 30 / 60 = 25.00; margin −25.00; margin % empty
        ("Hydro South", None, "ZAR", D("0.00"), D("0.00"), D("25.00"), D("-25.00"), None),
        # revenue 150.00 + 700/60 = 161.666… → 161.67; cost 60.00 + 40.00 (non-billable entry 2) = 100.00;
        # margin 61.666… → 61.67; margin % = (3700/60)/(9700/60) = 37/97 = 38.144… → 38.14;
        # billable hours 90 + 7 = 97 min = 1.6166… → 1.62 (the non-billable 60 min is not billable);
        # customers sorted case-insensitively and comma-joined
        ("Solar North", "acme Energy, Zeta Power", "USD", D("1.62"), D("161.67"), D("100.00"), D("61.67"), D("38.14")),
        # revenue, no cost: 120.00 × 45 / 60 = 90.00; the 30 unpriced minutes earn nothing
        ("Wind East", None, "EUR", D("0.75"), D("90.00"), D("0.00"), D("90.00"), D("100.00")),
    ]
    assert [(r["project_name"], half_up(r["billable_hours"])) for _, r in result.unpriced.iterrows()] == [
        ("Wind East", D("0.50"))]  # entry 5: 30 min billable without a billing rate


def test_totals_per_currency(entries, customers):
    totals = totals_by_currency(profitability(entries, customers, OCT1, OCT31).rows)
    assert list(totals) == ["EUR", "USD", "ZAR"]
    eur, usd, zar = totals["EUR"], totals["USD"], totals["ZAR"]
    # EUR: Drift 100.00 + Dual 30.00 + Wind 90.00 = 220.00; cost 12.00; margin 208.00; 208/220 = 94.545 → 94.55
    # billable minutes 60 + 20 + 45 = 125 → 2.0833 → 2.08
    assert (eur["revenue"], eur["cost"], eur["margin"], eur["margin_percent"]) == (D("220.00"), D("12.00"), D("208.00"), D("94.55"))
    assert half_up(eur["billable_hours"]) == D("2.08") and eur["projects"] == 3
    # USD: Cross 100.00 + Dual 80.00 + Solar 9700/60 = 20500/60 = 341.666… → 341.67; cost 30.00 + 100.00 = 130.00;
    # margin 12700/60 = 211.666… → 211.67; 127/205 = 0.61951 → 61.95; billable 60 + 60 + 97 = 217 min → 3.62
    assert (half_up(usd["revenue"]), usd["cost"], half_up(usd["margin"]), usd["margin_percent"]) == (
        D("341.67"), D("130.00"), D("211.67"), D("61.95"))
    assert half_up(usd["billable_hours"]) == D("3.62") and usd["projects"] == 3
    # ZAR: no revenue; cost 1000.00 + 25.00 = 1025.00; margin −1025.00; margin % empty
    assert (zar["revenue"], zar["cost"], zar["margin"], zar["margin_percent"]) == (D("0"), D("1025.00"), D("-1025.00"), None)


def test_customer_and_project_filters(entries, customers):
    by_customer = profitability(entries, customers, OCT1, OCT31, customer_id=502)
    assert [(r[0], r[2]) for r in shown(by_customer.rows)] == [
        ("Dual Park", "EUR"), ("Dual Park", "USD"), ("Solar North", "USD")]  # acme's projects only
    only_zeta = profitability(entries, customers, OCT1, OCT31, customer_id=501)
    assert [r[0] for r in shown(only_zeta.rows)] == ["Solar North"]
    assert shown(only_zeta.rows)[0][1] == "acme Energy, Zeta Power"  # all the project's customers still named
    by_project = profitability(entries, customers, OCT1, OCT31, project_id=23)
    assert [(r[0], r[2], r[4]) for r in shown(by_project.rows)] == [
        ("Dual Park", "EUR", D("30.00")), ("Dual Park", "USD", D("80.00"))]
    assert by_project.parameters == {"date_from": "2026-10-01", "date_to": "2026-10-31", "project_id": "23"}


def test_date_range_is_inclusive(entries, customers):
    # only 2026-10-31 (entry 3: 7 min × 100.00 = 11.666… → 11.67) and 2026-11-01 (entry 13: 600 min → 1000.00, cost 400.00)
    result = profitability(entries, customers, OCT31, dt.date(2026, 11, 1))
    assert shown(result.rows) == [
        ("Solar North", "acme Energy, Zeta Power", "USD", D("10.12"), D("1011.67"), D("400.00"), D("611.67"), D("60.46")),
    ]  # 607 min = 10.1166 → 10.12; margin 611.666…; (36700/60)/(60700/60) = 367/607 = 0.604612 → 60.46


def test_document_all_formats(entries, customers):
    result = profitability(entries, customers, OCT1, OCT31).for_organization(1)
    doc = report.build_document(result, context())
    csv_rows, wb, data, pdf_text, html = read_all(doc)
    assert csv_rows[0] == ["Project", "Customer", "Currency", "Billable Hrs", "Revenue", "Cost", "Margin", "Margin %"]
    body = [r for r in csv_rows[1:] if r]
    assert len(body) == 8
    assert body[1] == ["Cross Farm", "", "ZAR", "0.00", "0.00", "1000.00", "-1000.00", ""]  # negative stays a number
    assert body[6] == ["Solar North", "acme Energy, Zeta Power", "USD", "1.62", "161.67", "100.00", "61.67", "38.14"]

    ws = wb["Profitability by project"]
    # the margin % a real percent cell: 38.14 % is 0.3814 shown with "0.00%"
    assert [c.value for c in ws[8]] == ["Solar North", "acme Energy, Zeta Power", "USD", 1.62, 161.67, 100, 61.67, 0.3814]
    assert ws["E8"].number_format == "#,##0.00" and ws["H8"].number_format == "0.00%"
    assert [ws.cell(r, 1).value for r in range(10, 13)] == ["Total EUR", "Total USD", "Total ZAR"]
    assert ws["E11"].value == 341.67 and ws["H12"].value is None

    cur = data["summary"]["currencies"]
    assert cur["USD"] == {"projects": 3, "billable_hours": "3.62", "revenue": "341.67", "cost": "130.00",
                          "margin": "211.67", "margin_percent": "61.95"}
    assert cur["ZAR"]["margin"] == "-1025.00" and cur["ZAR"]["margin_percent"] is None
    assert data["summary"]["unpriced_billable_hours"] == "0.50"
    assert data["summary"]["unpriced_projects"] == ["Wind East"]
    assert data["rows"][3]["margin_percent"] == "60.00" and data["rows"][1]["margin_percent"] is None

    for text in (pdf_text, html):
        assert "Project Profitability Report" in text and "acme Energy, Zeta Power" in text
        assert "-1,000.00" in text and "38.14%" in text and "Margin by project" in text
    assert "Billable hours without a billing rate" in html


def test_empty_month_gives_valid_no_data_files(customers):
    result = profitability(frame([]), customers, OCT1, OCT31).for_organization(1)
    doc = report.build_document(result, context())
    csv_rows, wb, data, pdf_text, html = read_all(doc)
    assert csv_rows[0][0] == "Project" and csv_rows[1:] == [["# No data for this period"]]
    assert data["rows"] == [] and data["summary"]["currencies"] == {} and data["summary"]["projects"] == 0
    assert data["no_data"] is True
    assert wb["Profitability by project"].max_row == 1 and wb["Summary"]["A2"].value == "No data for this period"
    assert "No data for this period" in html and "<table" not in html
    assert "Project Profitability Report" in pdf_text and "No data for this period" in pdf_text
    assert "<svg" not in html
