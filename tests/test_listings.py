"""invoice_to_client, invoice_expected, invoice_received: extracts, listings, documents, every format.

The numbers are worked by hand in tests/listing_builders.py (helios_month) and in the comments.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import openpyxl
import pandas as pd
import pytest
from pypdf import PdfReader

from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.rules import listings as lst
from reporting_dagster.lib import render
from reporting_dagster.lib.documents.catalog import col
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render import html as html_render
from reporting_dagster.lib.render.document import Branding, Sections
from reporting_dagster.lib.render.values import display_money, money
from reporting_dagster.lib.documents.reports import invoice_listings as report
from reporting_dagster.lib.documents.reports.common import ReportContext
from tests.listing_builders import helios_month

CANARY = "CANARY-5519"
STAMP = dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc)
EXTRACTS = {lst.CLIENT: "client_invoice_lines", lst.EXPECTED: "expected_invoice_lines",
            lst.RECEIVED: "received_invoice_lines"}


def _ctx(org_id: int, period_id: int = 1, name: str = "Helios Solar") -> ReportContext:
    period = BillingPeriod(period_id, "October 2026", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    return ReportContext(organization_id=org_id, organization_name=name, period=period, generated_at=STAMP,
                         branding=Branding(), sections=Sections())


@pytest.fixture
def month(fresh_engine, fresh_url):
    ids = helios_month(fresh_engine, CANARY)
    pdb = PlatformDatabase(url=fresh_url.render_as_string(hide_password=False))
    ids["listings"] = {
        rt: lst.build_listing(pdb.extract(q, billing_period_id=ids["period"]), rt) for rt, q in EXTRACTS.items()
    }
    return ids


def _doc(month, report_type):
    listing = month["listings"][report_type].for_organization(month["helios"])
    return report.build_document(listing, _ctx(month["helios"], month["period"]))


def _csv_rows(data: bytes) -> list[list[str]]:
    text = data.decode("utf-8-sig")  # the CSV starts with a UTF-8 BOM
    assert text.count("\r\n") == len(text.splitlines())  # CRLF everywhere
    return list(csv.reader(io.StringIO("\n".join(text.splitlines()[5:]))))


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


# ---------------------------------------------------------------------------------------------
# listings (pure logic on the real extracts)


def test_client_listing_invoices_lines_metered_and_totals(month):
    listing = month["listings"][lst.CLIENT]
    helios = listing.for_organization(month["helios"])
    inv = helios.invoices.set_index("invoice_number")
    # EUR sorts before USD
    assert helios.invoices["invoice_number"].tolist() == ["INV-002", "INV-001"]
    assert inv.loc["INV-001", "amount"] == D("16025.19")  # 10185.19 + 6000.00 − 160.00
    assert inv.loc["INV-001", "lines_total"] == D("16025.19")
    assert inv.loc["INV-001", "credits"] == D("-160.00")
    assert not inv.loc["INV-001", "total_mismatch"] and inv.loc["INV-001", "difference"] is None
    # header 3600.00 versus its one line 3500.00: kept as the amount, flagged, difference +100.00
    assert inv.loc["INV-002", "amount"] == D("3600.00") and inv.loc["INV-002", "lines_total"] == D("3500.00")
    assert inv.loc["INV-002", "total_mismatch"] and inv.loc["INV-002", "difference"] == D("100.00")
    assert inv.loc["INV-002", "status"] == "draft" and inv.loc["INV-001", "due_date"] == dt.date(2026, 12, 1)

    lines = helios.lines.set_index("description")
    energy = lines.loc["Energy delivered October 2026"]
    assert (energy["metered_quantity"], energy["metered_unit"]) == (D("123456.789"), "kWh")
    assert (energy["quantity"], energy["unit_price"], energy["line_total"]) == (D("123456.789"), D("0.0825"), D("10185.19"))
    assert energy["line_type"] == "Energy" and energy["invoice_number"] == "INV-001"
    assert lines.loc["Contracted capacity", "metered_quantity"] is None
    credit = lines.loc["Availability shortfall"]
    assert (credit["unit_price"], credit["line_total"], credit["is_credit"]) == (D("-160.00"), D("-160.00"), True)
    assert credit["line_type"] == "Liquidated damages credit"

    totals = lst.totals_by_currency(helios.invoices, helios.lines)
    assert list(totals) == ["EUR", "USD"]  # two currencies, two totals, never added together
    assert totals["USD"] == {"invoices": 1, "lines": 3, "amount": D("16025.19"), "lines_total": D("16025.19"),
                             "credits": D("-160.00"), "mismatched_invoices": 0}
    assert totals["EUR"] == {"invoices": 1, "lines": 1, "amount": D("3600.00"), "lines_total": D("3500.00"),
                             "credits": D("0"), "mismatched_invoices": 1}
    assert lst.metered_by_unit(helios.lines) == {"kWh": D("173456.789")}  # 123456.789 + 50000.000


def test_unresolved_client_invoice_is_listed_and_in_no_organization(month):
    listing = month["listings"][lst.CLIENT]
    unresolved = lst.unresolved_invoices(listing)
    assert unresolved["invoice_number"].tolist() == ["ORPHAN-1"] and unresolved["amount"].tolist() == [D("5.00")]
    assert listing.organization_ids() == sorted([month["helios"], month["canary"]])
    for org in listing.organization_ids():
        part = listing.for_organization(org)
        assert "ORPHAN-1" not in part.invoices["invoice_number"].tolist()
        assert "Unallocated" not in part.lines["description"].tolist()
    assert "ORPHAN-1" not in listing.resolved().invoices["invoice_number"].tolist()


def test_received_listing_vendor_number_dates_status_and_received_date(month):
    helios = month["listings"][lst.RECEIVED].for_organization(month["helios"])
    assert helios.invoices["invoice_number"].tolist() == ["R-EUR-7", "V-100"]
    v100 = helios.invoices.set_index("invoice_number").loc["V-100"]
    assert v100["invoice_date"] == dt.date(2026, 11, 3) and v100["due_date"] == dt.date(2026, 12, 3)
    assert v100["status"] == "disputed"
    # created 2026-11-04 23:30 at UTC−5 = 2026-11-05 04:30 UTC
    assert v100["received_on"] == dt.date(2026, 11, 5)
    assert v100["amount"] == D("1860.00")  # 1000.00 + 12 × 85.00 − 160.00
    assert v100["counterparty_name"] == "FixIt O&M"
    assert helios.lines["line_total"].tolist() == [D("400.00"), D("1000.00"), D("1020.00"), D("-160.00")]


def test_expected_listing_contract_project_contractor_lines(month):
    helios = month["listings"][lst.EXPECTED].for_organization(month["helios"])
    row = helios.invoices.iloc[0]
    assert (row["contract_name"], row["project_name"], row["counterparty_name"]) == ("O&M North", "Solar North", "FixIt O&M")
    assert row["amount"] == D("1250.05") and row["invoice_number"] is None  # 1000.00 + 2500.5 × 0.1000
    assert helios.lines["quantity"].tolist() == [D("1"), D("2500.5")]


def test_filters_by_contract_and_project(month, fresh_url):
    pdb = PlatformDatabase(url=fresh_url.render_as_string(hide_password=False))
    extract = pdb.extract("client_invoice_lines", billing_period_id=month["period"])
    only = lst.build_listing(extract, lst.CLIENT, contract_id=month["ppa_north"])
    assert only.invoices["invoice_number"].tolist() == ["INV-001"] and len(only.lines) == 3
    assert only.parameters == {"contract_id": str(month["ppa_north"])}
    by_project = lst.build_listing(extract, lst.CLIENT, project_id=month["project"])
    assert sorted(by_project.invoices["invoice_number"]) == ["INV-001", "INV-002"]


def test_meter_of_another_organization_is_not_joined(fresh_engine, fresh_url):
    from tests.listing_builders import ListingPlatform

    p = ListingPlatform(fresh_engine)
    period = p.period(2026, 10)
    a, b = p.org("A"), p.org("B")
    proj = p.project(a, "A project")
    foreign = p.meter(period, b, "4242.424")
    p.client_invoice(period, None, proj, "USD", [("ENERGY", "Energy", "10", "1.00", "10.00", foreign)], "A-1")
    pdb = PlatformDatabase(url=fresh_url.render_as_string(hide_password=False))
    listing = lst.build_listing(pdb.extract("client_invoice_lines", billing_period_id=period), lst.CLIENT)
    assert listing.lines["metered_quantity"].tolist() == [None]


def test_duplicate_invoice_numbers_and_mismatches_are_found():
    frame = pd.DataFrame({
        "header_id": [1, 2, 3], "organization_id": [7, 7, 7], "project_id": [1, 1, 1], "project_name": ["P"] * 3,
        "contract_id": [1, 1, 1], "contract_name": ["C"] * 3, "counterparty_id": [5, 5, 6],
        "counterparty_name": ["X", "X", "Y"], "currency": ["USD"] * 3,
        "header_total": [D("10.00"), D("10.00"), None], "invoice_number": ["N-1", "N-1", "N-1"],
        "line_id": [11, 12, 13], "line_type": ["OM_FEE"] * 3, "line_type_name": [None] * 3,
        "description": ["a", "b", "c"], "quantity": [D(1)] * 3, "unit_price": [D("9.99"), D("10.00"), D("4.00")],
        "line_total": [D("9.99"), D("10.00"), D("4.00")],
    })
    listing = lst.build_listing(frame, lst.RECEIVED)
    assert lst.duplicate_invoice_numbers(listing)["header_id"].tolist() == [1, 2]  # same number, same vendor
    bad = lst.total_mismatches(listing)
    assert bad["header_id"].tolist() == [1] and bad["difference"].tolist() == [D("0.01")]  # 10.00 − 9.99
    inv = listing.invoices.set_index("header_id")
    assert inv.loc[3, "amount"] == D("4.00")  # no header total: worth its lines
    assert listing.lines["line_type"].tolist() == ["OM_FEE"] * 3  # no type name: the code


# ---------------------------------------------------------------------------------------------
# documents and every format read back


def test_client_report_every_format(month):
    doc = _doc(month, lst.CLIENT)
    assert doc.record_count == 4  # lines: 3 (INV-001) + 1 (INV-002)
    files = {fmt: render.render(doc, fmt) for fmt in render.FORMATS}
    for data in files.values():
        assert CANARY.encode() not in data and b"ORPHAN" not in data and b"987654" not in data

    # CSV: metadata, labels, the credit as a plain negative number (no quote guard), 4-decimal unit price
    text = files["csv"].decode("utf-8-sig")
    assert text.splitlines()[0] == "# Invoice to Client Report"
    assert text.splitlines()[4] == "# Parameters: billing_period=2026-10"
    rows = _csv_rows(files["csv"])
    assert rows[0] == ["Invoice ID", "Invoice #", "Client", "Contract", "Project", "Currency", "Line type",
                       "Description", "Metered quantity", "Unit", "Quantity", "Unit price", "Line total"]
    by_desc = {r[7]: r for r in rows[1:]}
    assert by_desc["Availability shortfall"][10:] == ["1.00", "-160.00", "-160.00"]
    assert by_desc["Energy delivered October 2026"][8:] == ["123456.789", "kWh", "123456.789", "0.0825", "10185.19"]
    assert by_desc["Contracted capacity"][8:10] == ["", ""]  # not metered
    assert by_desc["Energie Oktober"][1:6] == ["INV-002", "Stadtwerke", "PPA South", "Solar North", "EUR"]
    assert [r[1] for r in rows[1:]] == ["INV-002", "INV-001", "INV-001", "INV-001"]

    # JSON: invoices with their lines nested, money as strings, totals per currency
    data = json.loads(files["json"])
    assert data["report_type"] == "invoice_to_client"
    assert [r["invoice_number"] for r in data["rows"]] == ["INV-002", "INV-001"]
    inv1 = data["rows"][1]
    assert inv1["amount"] == "16025.19" and inv1["invoice_date"] == "2026-11-01" and inv1["status"] == "sent"
    assert [l["line_total"] for l in inv1["lines"]] == ["10185.19", "6000.00", "-160.00"]
    assert inv1["lines"][0]["unit_price"] == "0.0825" and inv1["lines"][0]["metered_quantity"] == "123456.789"
    cur = data["summary"]["currencies"]
    assert (cur["USD"]["amount"], cur["USD"]["credits"]) == ("16025.19", "-160.00")
    assert (cur["EUR"]["amount"], cur["EUR"]["lines_total"], cur["EUR"]["mismatched_invoices"]) == ("3600.00", "3500.00", 1)
    assert data["summary"]["metered"] == {"kWh": "173456.789"}
    assert data["rows"][0]["difference"] == "100.00" and inv1["difference"] is None
    totals = {t["invoice_number"]: t for t in data["totals"]["invoices"]}
    assert totals["Total USD (1 invoice)"]["amount"] == "16025.19"
    assert totals["Total EUR (1 invoice)"]["difference"] == "100.00"

    # XLSX: exact Decimal cents, negative numbers as numbers, dates as dates
    wb = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    lines_ws = wb["Invoice lines"]
    header = [c.value for c in lines_ws[1]]
    credit = next(r for r in lines_ws.iter_rows(min_row=2, values_only=True) if r[7] == "Availability shortfall")
    assert credit[header.index("Line total")] == -160 and credit[header.index("Unit price")] == -160
    energy = next(r for r in lines_ws.iter_rows(min_row=2, values_only=True) if r[7] == "Energy delivered October 2026")
    assert energy[header.index("Unit price")] == 0.0825 and energy[header.index("Metered quantity")] == 123456.789
    unit_cell = lines_ws.cell(row=2, column=header.index("Unit price") + 1)
    assert unit_cell.number_format == "#,##0.00####"
    inv_ws = wb["Invoices"]
    inv_header = [c.value for c in inv_ws[1]]
    first = [c.value for c in inv_ws[2]]
    assert first[inv_header.index("Invoice #")] == "INV-002"
    assert first[inv_header.index("Invoice date")] == dt.datetime(2026, 11, 1)
    assert float(first[inv_header.index("Difference")]) == 100.0

    # PDF and HTML text
    pdf = _pdf_text(files["pdf"])
    for needle in ("Invoice to Client Report", "October 2026", "INV-001", "16,025.19", "-160.00", "0.0825",
                   "123,456.789", "kWh", "Total USD", "Total EUR", "3,600.00"):
        assert needle in pdf, needle
    page = files["html"].decode("utf-8")
    assert "Liquidated damages credit" in page and "-160.00" in page
    assert page.count('<tr class="hl">') == 1  # INV-002 (first row): header 3600.00 ≠ lines 3500.00
    assert "Highlighted invoices have a total that differs" in page


def test_received_report_every_format(month):
    doc = _doc(month, lst.RECEIVED)
    files = {fmt: render.render(doc, fmt) for fmt in render.FORMATS}
    rows = _csv_rows(files["csv"])
    assert rows[0] == ["Invoice ID", "Vendor invoice #", "Contractor", "Contract", "Project", "Currency",
                       "Line type", "Description", "Quantity", "Unit price", "Line total", "Direction"]
    assert [r[-2] for r in rows[1:]] == ["400.00", "1000.00", "1020.00", "-160.00"]
    assert {r[-1] for r in rows[1:]} == {"payable"}
    data = json.loads(files["json"])
    v100 = next(r for r in data["rows"] if r["invoice_number"] == "V-100")
    assert (v100["invoice_date"], v100["due_date"], v100["received_on"], v100["status"]) == (
        "2026-11-03", "2026-12-03", "2026-11-05", "disputed")
    assert data["summary"]["status_counts"]["disputed"] == 1 and data["summary"]["status_counts"]["sent"] == 1
    assert data["summary"]["currencies"]["USD"]["amount"] == "1860.00"
    assert data["summary"]["currencies"]["EUR"]["amount"] == "400.00"
    wb = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    ws = wb["Received invoices"]
    header = [c.value for c in ws[1]]
    v = next(r for r in ws.iter_rows(min_row=2, values_only=True) if r[0] == "V-100")
    assert v[header.index("Received")] == dt.datetime(2026, 11, 5) and v[header.index("Status")] == "Disputed"
    pdf = _pdf_text(files["pdf"])
    for needle in ("Received Invoice Report", "V-100", "2026-11-05", "Disputed", "1,860.00", "-160.00"):  # status in words
        assert needle in pdf, needle
    assert "FixIt O&amp;M" in files["html"].decode("utf-8")


def test_expected_report_every_format(month):
    doc = _doc(month, lst.EXPECTED)
    files = {fmt: render.render(doc, fmt) for fmt in render.FORMATS}
    rows = _csv_rows(files["csv"])
    assert rows[0][:5] == ["Expected invoice ID", "Contract", "Project", "Contractor", "Currency"]
    assert [r[-4:] for r in rows[1:]] == [["1.00", "1000.00", "1000.00", "payable"], ["2500.50", "0.10", "250.05", "payable"]]
    data = json.loads(files["json"])
    assert data["rows"][0]["amount"] == "1250.05" and "status_counts" not in data["summary"]
    assert openpyxl.load_workbook(io.BytesIO(files["xlsx"]))["Expected invoices"]["A2"].value == "O&M North"
    pdf = _pdf_text(files["pdf"])
    assert "Expected Invoice Report" in pdf and "1,250.05" in pdf and "O&M North" in pdf
    assert "Solar North" in files["html"].decode("utf-8")


@pytest.mark.parametrize("report_type", lst.REPORT_TYPES)
def test_empty_month_gives_valid_no_data_files(report_type):
    columns = ["header_id", "organization_id", "project_id", "project_name", "contract_id", "contract_name",
               "counterparty_id", "counterparty_name", "currency", "header_total", "line_id", "line_type",
               "line_type_name", "description", "quantity", "unit_price", "line_total"]
    listing = lst.build_listing(pd.DataFrame(columns=columns), report_type)
    assert listing.organization_ids() == []
    doc = report.build_document(listing.for_organization(1), _ctx(1))
    assert doc.record_count == 0
    files = {fmt: render.render(doc, fmt) for fmt in render.FORMATS}
    assert doc.no_data
    rows = _csv_rows(files["csv"])
    assert "Line total" in rows[0][-2:] and rows[1:] == [["# No data for this period"]]  # header, then the note
    data = json.loads(files["json"])
    assert data["rows"] == [] and data["summary"]["invoices"] == 0 and data["summary"]["currencies"] == {}
    assert data["no_data"] is True and data["note"] == "No data for this period"
    wb = openpyxl.load_workbook(io.BytesIO(files["xlsx"]))
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) == 3
    assert wb["Summary"]["A2"].value == "No data for this period"
    assert "No data for this period" in _pdf_text(files["pdf"])
    html = files["html"].decode("utf-8")
    assert '<p class="no-data-title">No data for this period</p>' in html and "<table" not in html


def test_template_switches_drop_line_items():
    frame = pd.DataFrame({
        "header_id": [1], "organization_id": [3], "project_id": [1], "project_name": ["P"], "contract_id": [1],
        "contract_name": ["C"], "counterparty_id": [1], "counterparty_name": ["X"], "currency": ["USD"],
        "header_total": [D("-160.00")], "invoice_number": ["=HYPERLINK(1)"], "line_id": [1],
        "line_type": ["LD_CREDIT"], "line_type_name": ["LD credit"], "description": ["+credit"],
        "quantity": [D(1)], "unit_price": [D("-160.00")], "line_total": [D("-160.00")],
    })
    listing = lst.build_listing(frame, lst.CLIENT)
    ctx = _ctx(3)
    doc = report.build_document(listing.for_organization(3), ReportContext(
        **{**ctx.__dict__, "sections": Sections(summary=False, line_items=False, charts=False)}))
    page = html_render.render_text(doc)
    assert "Invoice lines" not in page and "class=\"card-value\"" not in page and "<svg" not in page
    # the CSV still holds the lines; text is guarded, the negative numbers are not
    row = _csv_rows(render.render(doc, "csv"))[1]
    assert row[1] == "'=HYPERLINK(1)" and row[7] == "'+credit" and row[-2:] == ["-160.00", "-160.00"]


def test_catalogue_decimal_places_in_every_renderer():
    price = col("unit_price", "Unit price", "decimal", "0.00####")
    # half-up at the 6th decimal, at least 2 decimals, trailing zeros beyond 2 dropped
    assert money(D("0.0825"), price) == "0.0825"
    assert money(D("12500"), price) == "12500.00"
    assert money(D("0.12345675"), price) == "0.123457"
    assert display_money(D("-1234.5"), price) == "-1,234.50"
    assert money(D("0.0825")) == "0.08"  # the default stays 2 decimals, half-up
    assert money(D("-0.004"), price) == "-0.004"


def test_the_highlight_legend_prints_only_when_an_invoice_is_highlighted(month):
    # client: INV-002's header says 3600.00, its lines 3500.00 → highlighted; expected: every total = its lines
    client = render.render(_doc(month, lst.CLIENT), "html").decode("utf-8")
    expected = render.render(_doc(month, lst.EXPECTED), "html").decode("utf-8")
    assert 'class="alt hl"' in client or 'class="hl"' in client
    assert "Highlighted invoices have a total that differs" in client
    assert 'hl"' not in expected and "Highlighted invoices" not in expected
    assert "Difference = invoice total" in client and "Difference = invoice total" in expected  # how to read it stays
    pdf = " ".join(_pdf_text(render.render(_doc(month, lst.CLIENT), "pdf")).split())
    assert "Highlighted invoices have a total that differs" in pdf
