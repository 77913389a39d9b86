"""Receivables aging rules on hand-built client invoices, read through the real extract query.

As-of date 2025-03-31 (the 2025-03 billing period) unless a test says otherwise. Every expected
number is worked out by hand in the comment beside it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from decimal import Decimal as D

import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.lib.infra import db
from reporting_dagster.lib.rules.aging import INPUT_COLUMNS, age_receivables, bucket_for, totals_by_currency
from reporting_dagster.lib.documents.catalog.invoice_aging import DEFINITION
from reporting_dagster.lib.infra.platform_schema import extract_sql
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render import render
from reporting_dagster.lib.render.document import Branding, Sections
from reporting_dagster.lib.documents.reports import invoice_aging as report
from reporting_dagster.lib.documents.reports.common import ReportContext
from tests.builders import Platform

AS_OF = dt.date(2025, 3, 31)
APRIL_END = dt.date(2025, 4, 30)


class AgingPlatform(Platform):
    """Platform plus invoices to clients and their payments."""

    def client_invoice(self, project_id, contract_id, customer_id, currency: str, total, *, number: str,
                       invoice_date: dt.date | None, due_date: dt.date | None, status: str = "sent",
                       period_id: int | None = None) -> int:
        return self._insert("invoice_header", project_id=project_id, contract_id=contract_id,
                            counterparty_id=customer_id, currency_id=self.currency(currency),
                            total_amount=None if total is None else D(total), invoice_number=number,
                            invoice_date=invoice_date, due_date=due_date, status=status,
                            billing_period_id=period_id)

    def payment(self, invoice_id: int, amount, paid_date: dt.date) -> int:
        return self._insert("invoice_payment", invoice_header_id=invoice_id, amount=D(amount), paid_date=paid_date,
                            reference=f"EFT {invoice_id}")


def extract(engine, as_of: dt.date) -> pd.DataFrame:
    return db.read_frame(engine, extract_sql(engine, "receivable_invoices"), {"as_of_date": as_of})


def run(engine, as_of: dt.date = AS_OF, customer_id=None):
    return age_receivables(extract(engine, as_of), as_of, customer_id)


@pytest.fixture
def world(fresh_engine):
    p = AgingPlatform(fresh_engine)
    p.org_id = p.org("Helios")
    p.project_id = p.project(p.org_id, "Solar One")
    p.acme = p.counterparty("Acme Power")
    p.contract_id = p.contract(p.org_id, p.project_id, "PPA Acme", p.acme)
    return p


def invoice(p, number, total, due_date, *, invoice_date=dt.date(2024, 12, 1), status="sent", currency="USD",
            customer=None):
    return p.client_invoice(p.project_id, p.contract_id, customer or p.acme, currency, total, number=number,
                            invoice_date=invoice_date, due_date=due_date, status=status)


def row(result, number):
    rows = result.invoices[result.invoices["invoice_number"] == number]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def numbers(result):
    return sorted(result.invoices["invoice_number"])


# --- buckets ---------------------------------------------------------------------------------

EDGES = [
    # due date, days overdue at 2025-03-31 (worked by hand), bucket label
    (dt.date(2025, 3, 31), 0, "Current"),      # due on the as-of date: not overdue yet
    (dt.date(2025, 3, 30), 1, "1-30 Days"),
    (dt.date(2025, 3, 1), 30, "1-30 Days"),    # 31 − 1 = 30
    (dt.date(2025, 2, 28), 31, "31-60 Days"),  # 31 (March) + 0
    (dt.date(2025, 1, 30), 60, "31-60 Days"),  # 31 + 28 + 1
    (dt.date(2025, 1, 29), 61, "61-90 Days"),
    (dt.date(2024, 12, 31), 90, "61-90 Days"),  # 31 + 28 + 31
    (dt.date(2024, 12, 30), 91, "90+ Days"),
    (dt.date(2025, 4, 15), 0, "Current"),      # not yet due (due in 15 days): 0, never −15
]


@pytest.mark.parametrize("due, days, label", EDGES)
def test_each_bucket_edge(world, due, days, label):
    invoice(world, "INV-1", "100.00", due)
    r = row(run(world.engine), "INV-1")
    assert r["days_overdue"] == days
    assert r["bucket_label"] == label
    assert r["open_amount"] == D("100.00")
    assert r["note"] == ("Not yet due" if due > AS_OF else "")


def test_bucket_for_is_inclusive_at_every_edge():
    assert [bucket_for(d) for d in (None, -5, 0, 1, 30, 31, 60, 61, 90, 91, 400)] == [
        "current", "current", "current", "1_30", "1_30", "31_60", "31_60", "61_90", "61_90", "90_plus", "90_plus"]


def test_bucket_summary_counts_and_amounts(world):
    # one invoice per edge; amounts chosen so every bucket sum is distinct
    amounts = ["1.00", "10.00", "20.00", "100.00", "200.00", "1000.00", "2000.00", "10000.00", "0.50"]
    for i, ((due, _, _), amount) in enumerate(zip(EDGES, amounts)):
        invoice(world, f"INV-{i}", amount, due)
    result = run(world.engine)
    buckets = result.buckets.set_index("bucket_label")
    assert list(buckets.index) == ["Current", "1-30 Days", "31-60 Days", "61-90 Days", "90+ Days"]
    # Current: 0 days (1.00) + not yet due (0.50) = 1.50 in 2 invoices
    assert (buckets.loc["Current", "invoice_count"], buckets.loc["Current", "open_amount"]) == (2, D("1.50"))
    assert (buckets.loc["1-30 Days", "invoice_count"], buckets.loc["1-30 Days", "open_amount"]) == (2, D("30.00"))  # 10 + 20
    assert (buckets.loc["31-60 Days", "invoice_count"], buckets.loc["31-60 Days", "open_amount"]) == (2, D("300.00"))  # 100 + 200
    assert (buckets.loc["61-90 Days", "invoice_count"], buckets.loc["61-90 Days", "open_amount"]) == (2, D("3000.00"))  # 1000 + 2000
    assert (buckets.loc["90+ Days", "invoice_count"], buckets.loc["90+ Days", "open_amount"]) == (1, D("10000.00"))
    usd = totals_by_currency(result)["USD"]
    assert usd["open_amount"] == D("13331.50")  # 1.50 + 30 + 300 + 3000 + 10000
    assert usd["overdue_amount"] == D("13330.00")  # all but the two Current ones
    assert usd["invoices"] == 9
    # share of the currency's total, half-up: 10000 / 13331.50 = 75.0103…% → 75.01
    assert buckets.loc["90+ Days", "share_percent"] == D("75.01")
    # most overdue first
    assert list(result.invoices["days_overdue"])[:2] == [91, 90]


# --- payments ----------------------------------------------------------------------------------

def test_partial_payments_reduce_the_open_balance(world):
    inv = invoice(world, "INV-P", "1000.00", dt.date(2025, 3, 15))
    world.payment(inv, "250.00", dt.date(2025, 2, 20))
    world.payment(inv, "100.50", dt.date(2025, 3, 31))  # on the as-of date: counts
    r = row(run(world.engine), "INV-P")
    assert r["paid_to_date"] == D("350.50")  # 250.00 + 100.50
    assert r["open_amount"] == D("649.50")  # 1000.00 − 350.50
    assert (r["days_overdue"], r["bucket_label"]) == (16, "1-30 Days")  # 31 − 15


def test_payment_after_the_as_of_date_is_ignored(world):
    inv = invoice(world, "INV-A", "800.00", dt.date(2025, 3, 10))
    world.payment(inv, "300.00", dt.date(2025, 4, 1))  # the day after the as-of date
    r = row(run(world.engine), "INV-A")
    assert r["paid_to_date"] == D("0") and r["open_amount"] == D("800.00")


def test_late_payment_before_as_of_settles_and_after_as_of_does_not(world):
    settled = invoice(world, "INV-LATE-1", "500.00", dt.date(2025, 2, 15), status="paid")
    world.payment(settled, "500.00", dt.date(2025, 3, 20))  # late, but before the as-of date
    open_ = invoice(world, "INV-LATE-2", "700.00", dt.date(2025, 2, 15), status="paid")
    world.payment(open_, "700.00", dt.date(2025, 4, 5))  # late and after the as-of date
    result = run(world.engine)
    assert numbers(result) == ["INV-LATE-2"]
    r = row(result, "INV-LATE-2")
    assert (r["open_amount"], r["days_overdue"], r["bucket_label"]) == (D("700.00"), 44, "31-60 Days")  # 13 + 31


def test_invoice_paid_later_appears_in_the_earlier_month_only(world):
    inv = invoice(world, "INV-M", "500.00", dt.date(2025, 3, 20), invoice_date=dt.date(2025, 3, 5), status="paid")
    world.payment(inv, "200.00", dt.date(2025, 3, 25))
    world.payment(inv, "300.00", dt.date(2025, 4, 20))
    march = run(world.engine, AS_OF)
    r = row(march, "INV-M")
    assert (r["paid_to_date"], r["open_amount"], r["days_overdue"]) == (D("200.00"), D("300.00"), 11)  # 500 − 200; 31 − 20
    april = run(world.engine, APRIL_END)
    assert april.invoices.empty  # 200 + 300 = 500 paid by 2025-04-30
    # and March computed again after April's payment gives what it gave before
    assert row(run(world.engine, AS_OF), "INV-M")["open_amount"] == D("300.00")


def test_paid_invoice_without_payments_is_settled(world):
    invoice(world, "INV-PAID", "400.00", dt.date(2025, 1, 10), status="paid")
    invoice(world, "INV-SENT", "400.00", dt.date(2025, 1, 10), status="sent")
    invoice(world, "INV-DISP", "90.00", dt.date(2025, 1, 10), status="disputed")
    assert numbers(run(world.engine)) == ["INV-DISP", "INV-SENT"]


def test_paid_invoice_whose_only_payment_is_later_is_open(world):
    inv = invoice(world, "INV-PAID-LATER", "400.00", dt.date(2025, 3, 10), status="paid")
    world.payment(inv, "400.00", dt.date(2025, 5, 2))
    assert row(run(world.engine), "INV-PAID-LATER")["open_amount"] == D("400.00")


def test_overpaid_invoice_is_not_outstanding(world):
    inv = invoice(world, "INV-OVER", "100.00", dt.date(2025, 3, 10))
    world.payment(inv, "120.00", dt.date(2025, 3, 11))  # balance −20.00 is not above zero
    assert run(world.engine).invoices.empty


def test_draft_and_verified_are_never_outstanding(world):
    invoice(world, "INV-DRAFT", "100.00", dt.date(2025, 1, 1), status="draft")
    invoice(world, "INV-VER", "100.00", dt.date(2025, 1, 1), status="verified")
    invoice(world, "INV-OK", "100.00", dt.date(2025, 1, 1), status="sent")
    assert numbers(run(world.engine)) == ["INV-OK"]


def test_invoice_issued_after_the_as_of_date_is_excluded(world):
    invoice(world, "INV-APR", "100.00", dt.date(2025, 5, 1), invoice_date=dt.date(2025, 4, 1))
    invoice(world, "INV-MAR", "100.00", dt.date(2025, 4, 30), invoice_date=dt.date(2025, 3, 31))
    assert numbers(run(world.engine)) == ["INV-MAR"]  # issued on the as-of date counts
    assert numbers(run(world.engine, APRIL_END)) == ["INV-APR", "INV-MAR"]


def test_no_due_date_is_current_and_flagged(world):
    invoice(world, "INV-ND", "250.00", None)
    result = run(world.engine)
    r = row(result, "INV-ND")
    assert r["bucket_label"] == "Current" and pd.isna(r["days_overdue"])
    assert bool(r["no_due_date"]) and r["note"] == "No due date"
    assert totals_by_currency(result)["USD"]["no_due_date"] == 1
    assert totals_by_currency(result)["USD"]["overdue_amount"] == D("0")


def test_null_total_is_not_outstanding(world):
    invoice(world, "INV-NULL", None, dt.date(2025, 1, 1))
    assert run(world.engine).invoices.empty


# --- currencies, customers, organizations --------------------------------------------------------

def test_two_currencies_are_never_summed(world):
    invoice(world, "INV-USD", "100.00", dt.date(2025, 3, 1), currency="USD")  # 30 days
    invoice(world, "INV-EUR", "200.00", dt.date(2025, 3, 1), currency="EUR")  # 30 days
    result = run(world.engine)
    totals = totals_by_currency(result)
    assert set(totals) == {"EUR", "USD"}
    assert totals["USD"]["open_amount"] == D("100.00") and totals["EUR"]["open_amount"] == D("200.00")
    one_30 = result.buckets[result.buckets["bucket"] == "1_30"].set_index("currency")["open_amount"]
    assert one_30.to_dict() == {"EUR": D("200.00"), "USD": D("100.00")}
    assert len(result.customers) == 2  # one row per customer and currency
    doc = report.build_document(result.for_organization(world.org_id), context(world.org_id))
    data = json.loads(render(doc, "json"))
    assert data["summary"]["currencies"]["USD"]["open_amount"] == "100.00"
    assert data["summary"]["currencies"]["EUR"]["open_amount"] == "200.00"
    assert "300.00" not in render(doc, "json").decode() and "300.00" not in render(doc, "html").decode()


def test_customer_subtotals_per_bucket(world):
    beta = world.counterparty("Beta Grid")
    invoice(world, "A-1", "100.00", dt.date(2025, 3, 31))                 # Acme, Current
    invoice(world, "A-2", "250.25", dt.date(2025, 2, 1))                  # Acme, 58 days: 31-60
    invoice(world, "A-3", "49.75", dt.date(2024, 11, 1))                  # Acme, 150 days: 90+
    invoice(world, "B-1", "1000.00", dt.date(2025, 3, 10), customer=beta)  # Beta, 21 days: 1-30
    customers = run(world.engine).customers.set_index("customer_name")
    acme = customers.loc["Acme Power"]
    assert acme["invoice_count"] == 3
    assert (acme["amount_current"], acme["amount_1_30"], acme["amount_31_60"], acme["amount_61_90"],
            acme["amount_90_plus"]) == (D("100.00"), D("0"), D("250.25"), D("0"), D("49.75"))
    assert acme["open_amount"] == D("400.00")  # 100.00 + 250.25 + 49.75
    assert acme["overdue_amount"] == D("300.00")  # 250.25 + 49.75
    assert acme["oldest_days_overdue"] == 150  # Nov 29 + Dec 31 + Jan 31 + Feb 28 + Mar 31
    assert customers.loc["Beta Grid", "open_amount"] == D("1000.00")
    assert list(customers.index) == ["Beta Grid", "Acme Power"]  # largest open amount first


def test_customer_filter(world):
    beta = world.counterparty("Beta Grid")
    invoice(world, "A-1", "100.00", dt.date(2025, 3, 1))
    invoice(world, "B-1", "300.00", dt.date(2025, 3, 1), customer=beta)
    invoice(world, "B-2", "40.00", dt.date(2025, 1, 1), customer=beta)
    result = run(world.engine, customer_id=beta)
    assert numbers(result) == ["B-1", "B-2"]
    assert totals_by_currency(result)["USD"]["open_amount"] == D("340.00")  # 300 + 40
    assert result.parameters == {"as_of_date": "2025-03-31", "customer_id": str(beta), "customer_name": "Beta Grid"}
    assert list(result.customers["customer_name"]) == ["Beta Grid"]
    nobody = run(world.engine, customer_id=999999)
    assert nobody.invoices.empty and nobody.parameters["customer_id"] == "999999"
    schema = DEFINITION.parameter_schema()["parameters"]
    assert {"name": "customer_id", "type": "id", "label": "Customer", "required": False,
            "entityType": "counterparty"} in schema
    assert any(p["name"] == "as_of_date" and p["type"] == "date" for p in schema)


def test_customer_falls_back_to_the_contract(world):
    world.client_invoice(world.project_id, world.contract_id, None, "USD", "75.00", number="INV-NOCP",
                         invoice_date=dt.date(2025, 3, 1), due_date=dt.date(2025, 3, 31))
    r = row(run(world.engine), "INV-NOCP")
    assert r["customer_name"] == "Acme Power" and r["customer_id"] == world.acme


def test_organization_through_contract_and_unresolved_listed(world):
    other = world.org("Boreas")
    c = world.contract(other, None, "No-project contract", world.acme)
    world.client_invoice(None, c, world.acme, "USD", "10.00", number="INV-C", invoice_date=dt.date(2025, 3, 1),
                         due_date=dt.date(2025, 3, 31))
    world.client_invoice(None, None, world.acme, "USD", "20.00", number="INV-ORPHAN", invoice_date=dt.date(2025, 3, 1),
                         due_date=dt.date(2025, 3, 31))
    result = run(world.engine)
    assert row(result, "INV-C")["organization_id"] == other
    assert "INV-ORPHAN" not in numbers(result)
    assert list(result.unresolved["invoice_number"]) == ["INV-ORPHAN"]
    assert result.organization_ids() == [other]


def test_organizations_with_data_include_a_fully_paid_month(world):
    other = world.org("Boreas")
    proj = world.project(other, "Wind Two")
    paid = world.client_invoice(proj, None, world.acme, "USD", "10.00", number="INV-PAID-IN-MONTH",
                                invoice_date=dt.date(2025, 3, 1), due_date=dt.date(2025, 3, 31))
    world.payment(paid, "10.00", dt.date(2025, 3, 15))
    world.client_invoice(proj, None, world.acme, "USD", "10.00", number="INV-DRAFT", status="draft",
                         invoice_date=dt.date(2025, 3, 1), due_date=dt.date(2025, 3, 31))
    invoice(world, "INV-OLD", "5.00", dt.date(2025, 1, 1))  # Helios: outstanding
    result = run(world.engine)
    assert result.organization_ids() == sorted([world.org_id, other])  # Boreas: issued this month, all paid
    assert result.for_organization(other).invoices.empty
    assert run(world.engine, APRIL_END).organization_ids() == [world.org_id]  # Boreas: nothing in April


def test_extract_keeps_money_as_decimal(world):
    inv = invoice(world, "INV-D", "100.15", dt.date(2025, 3, 1))
    world.payment(inv, "0.05", dt.date(2025, 3, 2))
    frame = extract(world.engine, AS_OF)
    assert isinstance(frame.loc[0, "total_amount"], D) and isinstance(frame.loc[0, "paid_to_date"], D)
    assert row(run(world.engine), "INV-D")["open_amount"] == D("100.10")  # exact: 100.15 − 0.05


# --- documents -----------------------------------------------------------------------------------

def context(org_id: int, name: str = "Helios") -> ReportContext:
    return ReportContext(
        organization_id=org_id, organization_name=name,
        period=BillingPeriod(7, "March 2025", dt.date(2025, 3, 1), AS_OF),
        generated_at=dt.datetime(2025, 4, 1, 6, 0, tzinfo=dt.timezone.utc),
        branding=Branding(), sections=Sections(),
    )


def _csv_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")  # the CSV starts with a UTF-8 BOM
    assert text.count("\r\n") >= 6
    lines = text.split("\r\n")
    assert lines[0] == "# Invoice Aging Report" and lines[4].startswith("# Parameters: as_of_date=2025-03-31")
    return list(csv.reader(io.StringIO("\r\n".join(lines[5:]))))


def _pdf_text(data: bytes) -> str:
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    return " ".join(text.split())  # cells wrap: compare with single spaces


def test_empty_month_renders_a_valid_no_data_report_in_every_format():
    result = age_receivables(pd.DataFrame(columns=INPUT_COLUMNS), AS_OF)
    doc = report.build_document(result, context(1))
    assert doc.record_count == 0
    assert doc.no_data  # no receivable at all: not even a fully paid one
    table = _csv_rows(render(doc, "csv"))
    assert table == [["Invoice #", "Customer", "Project", "Issue Date", "Due Date", "Currency", "Total",
                      "Paid to Date", "Open Amount", "Days Overdue", "Bucket", "Status", "Note"],
                     ["# No data for this period"]]
    data = json.loads(render(doc, "json"))
    assert data["report_type"] == "invoice_aging" and data["rows"] == [] and data["no_data"] is True
    assert data["summary"]["outstanding_invoices"] == 0 and data["summary"]["currencies"] == {}
    assert data["tables"] == {"buckets": [], "customers": []}
    wb = load_workbook(io.BytesIO(render(doc, "xlsx")))
    assert len(wb.sheetnames) == 4  # Summary + invoices, buckets, customers
    assert wb["Summary"]["A2"].value == "No data for this period"
    html = render(doc, "html").decode()
    assert "Nothing outstanding" in html and "No data for this period" in html and "<table" not in html
    pdf = _pdf_text(render(doc, "pdf"))
    assert "Invoice Aging Report" in pdf and "Nothing outstanding" in pdf and "No data for this period" in pdf


def test_fully_paid_month_is_nothing_outstanding_not_no_data(world):
    """A receivable issued in the month and paid by its end: the organization has data (no note)."""
    paid = invoice(world, "INV-P", "300.00", dt.date(2025, 3, 20), invoice_date=dt.date(2025, 3, 5))
    world.payment(paid, "300.00", dt.date(2025, 3, 25))
    result = run(world.engine).for_organization(world.org_id)
    assert result.invoices.empty and result.organization_ids() == [world.org_id]
    doc = report.build_document(result, context(world.org_id))
    assert not doc.no_data and json.loads(render(doc, "json"))["no_data"] is False
    assert "No outstanding invoices at the as-of date." in render(doc, "html").decode()


def test_document_in_every_format(world):
    invoice(world, "=INV-1", "1234.565", dt.date(2024, 12, 30))  # 91 days: 90+; text guarded in CSV
    inv = invoice(world, "INV-2", "500.00", None, currency="EUR")
    world.payment(inv, "125.00", dt.date(2025, 3, 1))
    doc = report.build_document(run(world.engine).for_organization(world.org_id), context(world.org_id))

    table = _csv_rows(render(doc, "csv"))
    assert table[0][:3] == ["Invoice #", "Customer", "Project"]
    body = {r[0]: r for r in table[1:]}
    # EUR first (currency order): 500.00 − 125.00 = 375.00 open, no due date → Current, noted
    assert body["INV-2"][5:] == ["EUR", "500.00", "125.00", "375.00", "", "Current", "sent", "No due date"]
    # half-up at presentation only: 1234.565 → 1234.57
    assert body["'=INV-1"][3:] == ["2024-12-01", "2024-12-30", "USD", "1234.57", "0.00", "1234.57", "91",
                                   "90+ Days", "sent", ""]

    data = json.loads(render(doc, "json"))
    assert [r["invoice_number"] for r in data["rows"]] == ["INV-2", "=INV-1"]
    assert data["rows"][1]["days_overdue"] == 91 and data["rows"][1]["due_date"] == "2024-12-30"
    assert data["summary"]["currencies"]["USD"]["buckets"]["90_plus"] == {
        "label": "90+ Days", "count": 1, "amount": "1234.57"}
    assert data["summary"]["currencies"]["EUR"]["buckets"]["current"]["amount"] == "375.00"
    assert data["summary"]["no_due_date"] == 1
    assert {t["currency"]: t["open_amount"] for t in data["totals"]["invoices"]} == {"EUR": "375.00", "USD": "1234.57"}

    wb = load_workbook(io.BytesIO(render(doc, "xlsx")))
    sheet = wb[wb.sheetnames[1]]
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["Invoice #", "Customer"]
    values = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    assert values["=INV-1"][header.index("Open Amount")] == D("1234.57") or \
        float(values["=INV-1"][header.index("Open Amount")]) == 1234.57
    assert values["=INV-1"][header.index("Due Date")].date() == dt.date(2024, 12, 30)

    html = render(doc, "html").decode()
    assert "Open amount by age bucket" in html and "90+ Days" in html and "1,234.57" in html
    # the bucket and customer summaries come before the invoice list
    assert html.index("Aging buckets") < html.index("Outstanding by customer") < html.index("Outstanding invoices")

    pdf = _pdf_text(render(doc, "pdf"))
    for text in ("Invoice Aging Report", "March 2025", "2025-03-31", "1,234.57", "375.00", "90+ Days", "No due date",
                 "Acme Power"):
        assert text in pdf, text
    assert "USD · TOTAL OUTSTANDING" in pdf.upper()  # card titles are set in capitals


# --- not yet due, paid after the as-of date, aging by invoice date ------------------------------

def test_not_yet_due_reads_zero_days_and_says_so_in_every_format(world):
    invoice(world, "INV-FUTURE", "250.00", dt.date(2025, 4, 1))  # due the day after the as-of date
    doc = report.build_document(run(world.engine).for_organization(world.org_id), context(world.org_id))
    body = {r[0]: r for r in _csv_rows(render(doc, "csv"))[1:]}
    # as-of 2025-03-31 − due 2025-04-01 = −1 day: shown as 0 days overdue, Current, noted
    assert body["INV-FUTURE"][9:] == ["0", "Current", "sent", "Not yet due"]
    assert json.loads(render(doc, "json"))["rows"][0]["days_overdue"] == 0
    pdf, html = _pdf_text(render(doc, "pdf")), render(doc, "html").decode()
    assert "Not yet due" in pdf and not re.search(r"(?<!\d)[-−]1(?!\d)", pdf)  # no "−1 days"
    assert "Not yet due" in html and not re.search(r">[-−]1<", html)  # no cell holds −1


def test_a_paid_invoice_open_at_the_as_of_date_says_why(world):
    later = invoice(world, "INV-PAID-LATER", "400.00", dt.date(2025, 3, 10), status="paid")
    world.payment(later, "400.00", dt.date(2025, 4, 2))  # paid two days after the as-of date
    short = invoice(world, "INV-PAID-SHORT", "400.00", dt.date(2025, 3, 10), status="paid")
    world.payment(short, "100.00", dt.date(2025, 3, 1))  # marked paid, 300.00 never received
    result = run(world.engine)
    assert row(result, "INV-PAID-LATER")["note"] == "Paid after the as-of date"
    assert row(result, "INV-PAID-LATER")["open_amount"] == D("400.00")  # the later payment is not counted
    assert row(result, "INV-PAID-SHORT")["note"] == "Marked paid, not fully paid"
    assert row(result, "INV-PAID-SHORT")["open_amount"] == D("300.00")  # 400.00 − 100.00
    doc = report.build_document(result.for_organization(world.org_id), context(world.org_id))
    assert "Paidaftertheas-ofdate" in "".join(_pdf_text(render(doc, "pdf")).split())  # the Note column wraps it


# as-of 2025-03-31; (number, total, invoice date, due date) with the days worked by hand:
#   A: since invoice 31 − 20 = 11 → 1-30;            due 2025-04-19: not yet due → Current
#   B: since invoice 16 (Jan) + 28 + 31 = 75 → 61-90; overdue 31 − 16 = 15 → 1-30
#   C: since invoice 30 (Dec) + 31 + 28 + 31 = 120 → 90+; overdue 28 + 31 = 59 → 31-60
BASIS = [("A", "100.00", dt.date(2025, 3, 20), dt.date(2025, 4, 19)),
         ("B", "200.00", dt.date(2025, 1, 15), dt.date(2025, 3, 16)),
         ("C", "400.00", dt.date(2024, 12, 1), dt.date(2025, 1, 31))]


def test_age_by_invoice_date_buckets_by_the_days_since_the_invoice(world):
    for number, total, issued, due in BASIS:
        invoice(world, number, total, due, invoice_date=issued)
    by_due = run(world.engine)
    by_invoice = age_receivables(extract(world.engine, AS_OF), AS_OF, age_by="invoice_date")
    assert {n: row(by_due, n)["bucket_label"] for n in "ABC"} == {"A": "Current", "B": "1-30 Days", "C": "31-60 Days"}
    assert {n: row(by_invoice, n)["bucket_label"] for n in "ABC"} == {"A": "1-30 Days", "B": "61-90 Days", "C": "90+ Days"}
    assert {n: row(by_invoice, n)["age_days"] for n in "ABC"} == {"A": 11, "B": 75, "C": 120}
    # days overdue stay due-date based whatever the basis: 0 (not yet due), 15, 59
    assert {n: row(by_invoice, n)["days_overdue"] for n in "ABC"} == {"A": 0, "B": 15, "C": 59}
    usd = totals_by_currency(by_invoice)["USD"]
    assert {k: b["amount"] for k, b in usd["buckets"].items()} == {
        "current": D("0"), "1_30": D("100.00"), "31_60": D("0"), "61_90": D("200.00"), "90_plus": D("400.00")}
    assert usd["overdue_amount"] == D("600.00")  # B 200.00 + C 400.00 are past their due dates
    assert list(by_invoice.invoices["invoice_number"]) == ["C", "B", "A"]  # oldest first

    doc = report.build_document(by_invoice.for_organization(world.org_id), context(world.org_id))
    table = _csv_rows(render(doc, "csv"))
    assert table[0][9:11] == ["Days Since Invoice", "Days Overdue"]
    assert {r[0]: r[9:12] for r in table[1:]} == {"A": ["11", "0", "1-30 Days"], "B": ["75", "15", "61-90 Days"],
                                                  "C": ["120", "59", "90+ Days"]}
    assert "age_by=invoice_date" in render(doc, "csv").decode("utf-8").split("\r\n")[4]
    pdf = _pdf_text(render(doc, "pdf"))
    assert "Aged by invoice date" in pdf and "more than 90 days past their invoice date" in pdf
    # the default basis keeps the catalogue's 13 columns and says it ages by due date
    default = report.build_document(by_due.for_organization(world.org_id), context(world.org_id))
    assert "Days Since Invoice" not in _csv_rows(render(default, "csv"))[0]
    assert "Aged by due date" in render(default, "html").decode()


def test_age_by_is_checked():
    with pytest.raises(ValueError, match="age_by must be one of due_date, invoice_date"):
        age_receivables(pd.DataFrame(columns=INPUT_COLUMNS), AS_OF, age_by="weekly")


def test_the_highlight_legend_prints_only_with_a_highlighted_invoice(world):
    invoice(world, "INV-NEW", "10.00", dt.date(2025, 3, 30))  # 1 day: not highlighted
    doc = report.build_document(run(world.engine).for_organization(world.org_id), context(world.org_id))
    assert "Highlighted invoices" not in render(doc, "html").decode()
    invoice(world, "INV-OLD", "10.00", dt.date(2024, 12, 30))  # 91 days: 90+, highlighted
    doc = report.build_document(run(world.engine).for_organization(world.org_id), context(world.org_id))
    assert "Highlighted invoices are more than 90 days overdue" in _pdf_text(render(doc, "pdf"))
