"""The XLSX a finance user would build (issue 12 item 6), read back with openpyxl in normal mode:
real percent cells, readable Summary headers, dates and timestamps as Excel dates, quantities as
numbers, print setup on every sheet, sheet names that say what they hold, words for codes.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from reporting_dagster.lib import render
from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.render.document import TableData
from tests.test_render_formats import make_document

D = Decimal
AGING = catalog.CATALOG["invoice_aging"]


def _aging_document(**overrides):
    """Two open ZAR invoices as of 2026-11-30, worked by hand:
    INV-1 open 161.10, not yet due (Current); INV-2 open 838.90, 30 days overdue (1-30 Days).
    Open total 161.10 + 838.90 = 1,000.00; shares 161.10 / 1,000.00 = 16.11 %, 838.90 / 1,000.00 = 83.89 %."""
    invoices = pd.DataFrame([
        ("INV-1", "Ndlovu Mining", "Karoo PV", dt.date(2026, 11, 20), dt.date(2026, 12, 20), "ZAR", D("161.10"), D("0"),
         D("161.10"), 0, "Current", "sent", ""),
        ("INV-2", "Ndlovu Mining", "Karoo PV", dt.date(2026, 10, 1), dt.date(2026, 10, 31), "ZAR", D("1000.00"),
         D("161.10"), D("838.90"), 30, "1-30 Days", "paid", "Paid after the as-of date"),
    ], columns=[c.key for c in AGING.table("invoices").columns])
    buckets = pd.DataFrame([
        ("ZAR", "Current", 1, D("161.10"), D("16.11")),
        ("ZAR", "1-30 Days", 1, D("838.90"), D("83.89")),
    ], columns=[c.key for c in AGING.table("buckets").columns])
    customers = pd.DataFrame([
        ("Ndlovu Mining", "ZAR", 2, D("161.10"), D("838.90"), D("0"), D("0"), D("0"), D("1000.00")),
    ], columns=[c.key for c in AGING.table("customers").columns])
    bucket = lambda label, count, amount: {"label": label, "count": count, "amount": amount}  # noqa: E731
    summary = {
        "as_of_date": dt.date(2026, 11, 30),
        "outstanding_invoices": 2,
        "customers": 1,
        "no_due_date": 0,
        "currencies": {"ZAR": {
            "invoices": 2, "open_amount": D("1000.00"), "overdue_amount": D("838.90"), "no_due_date": 0,
            "buckets": {"current": bucket("Current", 1, D("161.10")), "1_30": bucket("1-30 Days", 1, D("838.90")),
                        "31_60": bucket("31-60 Days", 0, D("0")), "61_90": bucket("61-90 Days", 0, D("0")),
                        "90_plus": bucket("90+ Days", 0, D("0"))},
        }},
    }
    fields = dict(
        definition=AGING, template="invoice_aging.html", organization_name="Karoo O&M Solar",
        period_key="2026-11", period_label="November 2026",
        period_start=dt.date(2026, 11, 1), period_end=dt.date(2026, 11, 30),
        # 12:30 in Johannesburg (UTC+2) is 10:30 UTC
        generated_at=dt.datetime(2026, 12, 1, 12, 30, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        parameters={"as_of_date": "2026-11-30", "customer_id": "4711", "customer_name": "Ndlovu Mining"},
        summary=summary, cards=[], charts=[],
        tables=[TableData(AGING.table("invoices"), invoices), TableData(AGING.table("buckets"), buckets),
                TableData(AGING.table("customers"), customers)],
    )
    fields.update(overrides)
    return make_document(**fields)


def _book(doc) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(render.render(doc, "xlsx")))


def _cells(ws) -> dict:
    return {c.value: c for row in ws.iter_rows() for c in row if isinstance(c.value, str)}


def _row(ws, row: int) -> list:
    return [c.value for c in ws[row] if c.value is not None]


def test_percent_cells_are_real_percentages():
    book = _book(_aging_document())
    ws = book["Aging buckets"]
    header = [c.value for c in ws[1]]
    share = ws.cell(2, header.index("Share %") + 1)
    # 16.11 % is the number 0.1611 shown as a percent, not 16.11 with a literal "%"
    assert share.data_type == "n" and share.value == pytest.approx(0.1611) and share.number_format == "0.00%"
    assert ws.cell(3, header.index("Share %") + 1).value == pytest.approx(0.8389)
    # the comparison's variance % in its table and on the Summary: -13.79 % → -0.1379; EUR -12.69 % → -0.1269
    comparison = _book(make_document())
    assert comparison["Invoices"]["H3"].value == pytest.approx(-0.1379)
    summary = comparison["Summary"]
    cells = _cells(summary)
    head = cells["Variance %"]
    eur = summary.cell(head.row + 1, head.column)
    assert summary.cell(head.row + 1, 1).value == "EUR"
    assert eur.value == pytest.approx(-0.1269) and eur.number_format == "0.00%"


def test_summary_headers_are_readable_one_block_per_table():
    summary = _book(_aging_document())["Summary"]
    texts = [c.value for row in summary.iter_rows() for c in row if isinstance(c.value, str)]
    assert not [t for t in texts if " · " in t or "_" in t]  # nothing machine-flattened, no raw keys
    cells = _cells(summary)
    # the per-currency figures: one table, one row per currency
    top = cells["Totals by currency"].row
    assert _row(summary, top + 1) == ["Currency", "Invoices", "Open amount", "Overdue amount", "Without a due date"]
    assert _row(summary, top + 2) == ["ZAR", 2, 1000, 838.9, 0]
    # the buckets: a table of their own, one row per currency and bucket (not 20 flattened columns)
    buckets = cells["Aging buckets per currency"].row
    assert _row(summary, buckets + 1) == ["Currency", "Bucket", "Invoices", "Amount"]
    assert _row(summary, buckets + 2) == ["ZAR", "Current", 1, 161.1]
    assert _row(summary, buckets + 3) == ["ZAR", "1-30 Days", 1, 838.9]
    assert summary.cell(buckets + 6, 2).value == "90+ Days" and summary.max_column <= 5
    # parameters in words: the customer by name, never the id
    assert summary.cell(cells["Customer"].row, 2).value == "Ndlovu Mining"
    assert "4711" not in texts and not any(c.value == 4711 for row in summary.iter_rows() for c in row)
    assert summary.cell(cells["As of"].row, 2).is_date  # the parameter and the summary figure alike
    assert [summary.cell(c.row, 2).value for c in summary["A"] if c.value == "As of"] == [dt.datetime(2026, 11, 30)] * 2


def test_comparison_summary_counts_by_status_in_words():
    summary = _book(make_document())["Summary"]
    cells = _cells(summary)
    by_status = cells["Invoices by status per currency"].row
    assert _row(summary, by_status + 1) == ["Currency", "Matched", "Overbilled", "Underbilled"]
    assert _row(summary, by_status + 2) == ["EUR", 0, 1, 1]
    overall = cells["Invoices by status"].row  # the document's own counts: label / count lines
    assert _row(summary, overall + 4) == ["Not received", 1]


def test_dates_and_the_generation_time_are_excel_dates():
    book = _book(_aging_document())
    summary = book["Summary"]
    cells = _cells(summary)
    generated = summary.cell(cells["Generated at (UTC)"].row, 2)
    # a datetime cell in UTC (Excel has no zones): 12:30+02:00 → 10:30
    assert generated.is_date and generated.value == dt.datetime(2026, 12, 1, 10, 30)
    assert "hh:mm" in generated.number_format
    start = summary.cell(cells["Period start"].row, 2)
    assert start.is_date and start.value == dt.datetime(2026, 11, 1) and start.number_format == "yyyy-mm-dd"
    invoices = book["Outstanding invoices"]
    header = [c.value for c in invoices[1]]
    due = invoices.cell(2, header.index("Due Date") + 1)
    assert due.is_date and due.value == dt.datetime(2026, 12, 20)


def test_quantities_on_the_summary_are_numbers():
    doc = make_document(summary={"metered": {"kWh": "123456.789", "MWh": "12.5"}, "lines": 3})
    summary = _book(doc)["Summary"]
    cells = _cells(summary)
    kwh = summary.cell(cells["kWh"].row, 2)
    assert kwh.data_type == "n" and kwh.value == pytest.approx(123456.789) and kwh.number_format == "#,##0.00###"
    assert summary.cell(cells["MWh"].row, 2).value == pytest.approx(12.5)
    assert "Metered quantity by unit" in cells


def test_print_setup_on_every_sheet():
    book = _book(_aging_document())
    for ws in book.worksheets:
        setup = ws.page_setup
        assert setup.fitToWidth == 1 and setup.fitToHeight == 0, ws.title  # one page wide, as many down as needed
        assert ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
        assert setup.paperSize in ("9", 9), ws.title  # A4, like the PDF
        assert "Page &P of &N" in ws.oddFooter.right.text, ws.title
        assert "Karoo O&&M Solar" in ws.oddHeader.left.text, ws.title  # a name's "&" is not a header code
    assert book["Outstanding invoices"].page_setup.orientation == "landscape"  # 13 columns
    assert book["Summary"].page_setup.orientation == "portrait"
    for title in ("Outstanding invoices", "Aging buckets", "Outstanding by customer"):
        # the header row is printed again on every page
        assert book[title].print_title_rows in ("1:1", "$1:$1"), book[title].print_title_rows
    assert book["Summary"].print_title_rows is None


def test_sheet_names_say_what_they_hold():
    names = _book(_aging_document()).sheetnames
    assert names == ["Summary", "Outstanding invoices", "Aging buckets", "Outstanding by customer"]
    table = catalog.Table("t", "Invoices: [draft]/sent? * and paid, a very long title", (catalog.Column("x", "X", "string"),))
    long = make_document(tables=[*make_document().tables, TableData(table, pd.DataFrame({"x": ["a"]})),
                                 TableData(table, pd.DataFrame({"x": ["b"]}))])
    names = _book(long).sheetnames
    assert len(names) == len(set(n.casefold() for n in names)) == 5
    assert all(len(n) <= 31 and not re.search(r"[\[\]:*?/\\]", n) for n in names)


def test_codes_are_words_and_ids_stay():
    ws = _book(_aging_document())["Outstanding invoices"]
    header = [c.value for c in ws[1]]
    assert [ws.cell(r, header.index("Status") + 1).value for r in (2, 3)] == ["Sent", "Paid"]
    listing = catalog.CATALOG["invoice_to_client"]
    lines = pd.DataFrame([(101, "INV-1", "Client", "C", "P", "ZAR", "OM_FEE", "Fee", None, None, D("1"), D("5"), D("5"))],
                         columns=[c.key for c in listing.table("lines").columns])
    book = _book(make_document(definition=listing, tables=[TableData(listing.table("lines"), lines)]))
    sheet = book["Invoice lines"]
    header = [c.value for c in sheet[1]]
    assert sheet.cell(2, header.index("Line type") + 1).value == "O&M Fee"
    assert sheet.cell(2, header.index("Invoice ID") + 1).value == 101  # an id that identifies the row: kept


def test_data_warnings_on_the_summary_in_words():
    doc = make_document(summary={"check_warnings": [
        {"check": "line_totals_match_headers", "severity": "WARN", "message": "2 invoices differ from their lines"}]})
    summary = _book(doc)["Summary"]
    cells = _cells(summary)
    top = cells["Data warnings"].row
    assert _row(summary, top + 1) == ["Check", "Severity", "Message"]
    assert _row(summary, top + 2) == ["Line totals match headers", "Warning", "2 invoices differ from their lines"]
