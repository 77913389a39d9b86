"""The rendering layer: one hand-built ReportDocument, every format read back.

No database needed: the document is built here, the files are parsed with the csv module,
openpyxl, json, pypdf and plain string checks on the HTML.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from dataclasses import replace
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from reporting_dagster.lib import render
from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.render import charts, html as html_render, pdf as pdf_render, values, xlsx as xlsx_render
from reporting_dagster.lib.render.document import (
    Bar,
    Branding,
    Chart,
    ReportDocument,
    Sections,
    SummaryCard,
    TableData,
)

D = Decimal
FORMULA_NAME = '=HYPERLINK("http://x","y")'
COMMA_NAME = '+Solar, "North" Park'
NEWLINE_NAME = "Wind Farm\nPhase 2"
SCRIPT_NAME = "<script>alert(1)</script>"
UNICODE_NAME = "Zürich 東京"
GENERATED = dt.datetime(2026, 11, 5, 10, 30, tzinfo=dt.timezone.utc)


def _invoices() -> pd.DataFrame:
    rows = [
        # pair_id, contract, counterparty, invoice numbers, currency, expected, received, variance, %, status
        (1, FORMULA_NAME, "Acme Maintenance", "INV-1", "EUR", D("100.00"), D("100.15"), D("0.15"), D("0.15"), "overbilled"),
        (2, COMMA_NAME, "@Northwind", "-42", "EUR", D("1160.00"), D("1000.00"), D("-160.00"), D("-13.79"), "underbilled"),
        (3, NEWLINE_NAME, SCRIPT_NAME, "", "USD", D("2500.005"), None, None, None, "missing_received"),
        (4, UNICODE_NAME, "Gärtner AG", "Z-9", "CHF", D("1234567.89"), D("1234567.89"), D("0.00"), D("0.00"), "matched"),
    ]
    frame = pd.DataFrame(rows, columns=[
        "pair_id", "contract_name", "counterparty_name", "received_invoice_numbers", "currency",
        "expected_amount", "received_amount", "variance", "variance_percent", "status",
    ])
    frame["stored_status"] = ["", "underbilled", "", "matched"]
    frame["final_amount"] = [None, D("1000.00"), None, None]
    frame["adjustment_amount"] = [None, D("0"), None, None]
    frame["has_discrepancy"] = [True, True, True, False]
    frame["discrepancy_reason"] = ["Outside tolerance", "Outside tolerance", "No received invoice", ""]
    frame["organization_id"] = 7
    frame["invoice_direction"] = "payable"
    frame["billing_period"] = "2026-10"
    for col in ("expected_amount", "received_amount", "variance", "variance_percent", "final_amount", "adjustment_amount"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def _lines() -> pd.DataFrame:
    rows = [
        (1, FORMULA_NAME, "INV-1", "EUR", "ENERGY", "Energy, \"peak\" hours", D("100.00"), D("100.15"), D("0.15"), D("0.15"), "overbilled", True),
        (2, COMMA_NAME, "-42", "EUR", "SERVICE", "Service fee", D("1160.00"), D("1000.00"), D("-160.00"), D("-13.79"), "underbilled", True),
        (2, COMMA_NAME, "-42", "EUR", "CREDIT", "-Credit note\r\nline two", D("-10.00"), D("-10.00"), D("0.00"), D("0.00"), "matched", False),
        (3, NEWLINE_NAME, "", "USD", "ENERGY", SCRIPT_NAME, D("2500.005"), None, None, None, "missing_received", True),
        (4, UNICODE_NAME, "Z-9", "CHF", "ENERGY", "Strom 東京", D("1234567.89"), D("1234567.89"), D("0.00"), D("0.00"), "matched", False),
    ]
    frame = pd.DataFrame(rows, columns=[
        "pair_id", "contract_name", "received_invoice_numbers", "currency", "line_type", "description",
        "expected_amount", "received_amount", "variance", "variance_percent", "status", "has_discrepancy",
    ])
    frame["discrepancy_reason"] = ["Outside tolerance", "Outside tolerance", "", "No received line", ""]
    frame["invoice_direction"] = "payable"
    frame["billing_period"] = "2026-10"
    for col in ("expected_amount", "received_amount", "variance", "variance_percent"):
        frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame


def make_document(**overrides) -> ReportDocument:
    definition = catalog.INVOICE_COMPARISON
    totals = [
        {"contract_name": "Total EUR", "currency": "EUR", "expected_amount": D("1260.00"),
         "received_amount": D("1100.15"), "variance": D("-159.85"), "variance_percent": D("-12.69")},
    ]
    doc = ReportDocument(
        definition=definition,
        organization_id=7,
        organization_name="Acme Energy Zürich",
        period_key="2026-10",
        period_label="October 2026",
        period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31),
        generated_at=GENERATED,
        parameters={"billing_period": "2026-10", "tolerance_absolute": "0.01", "tolerance_percent": "0"},
        summary={
            "currencies": {
                "EUR": {"expected": D("1260.00"), "received": D("1100.15"), "variance": D("-159.85"),
                        "variance_percent": D("-12.69"), "pairs": 2,
                        "status_counts": {"matched": 0, "overbilled": 1, "underbilled": 1}},
                "USD": {"expected": D("2500.005"), "received": D("0"), "variance": D("-2500.005"),
                        "variance_percent": None, "pairs": 1,
                        "status_counts": {"matched": 0, "overbilled": 0, "underbilled": 0}},
            },
            "pairs": 4,
            "lines": 5,
            "status_counts": {"matched": 1, "overbilled": 1, "underbilled": 1, "missing_received": 1},
            "notes": ["one", "two"],
        },
        tables=[
            TableData(definition.table("invoices"), _invoices(), totals=totals, highlight="has_discrepancy",
                      row_key="pair_id"),
            TableData(definition.table("lines"), _lines(), highlight="has_discrepancy", group_key="pair_id",
                      parent="invoices"),
        ],
        cards=[
            SummaryCard("EUR · 2 invoice pairs", "EUR -159.85 variance (-12.69%)",
                        ("Expected EUR 1,260.00", "Received EUR 1,100.15", SCRIPT_NAME), tone="bad"),
            SummaryCard("CHF · 1 invoice pair", "CHF 0.00 variance", ("Matched: 1",), tone="good"),
        ],
        charts=[Chart("Variance by contract (received − expected)", (
            Bar(FORMULA_NAME, D("0.15"), "EUR"),
            Bar(COMMA_NAME, D("-160.00"), "EUR"),
            Bar(SCRIPT_NAME, D("0.00"), "CHF"),
        ), value_label="variance")],
        branding=Branding(brand_color="#0A7E5C", header_text="Prepared for the board", footer_text="Acme Energy · Confidential"),
        template="invoice_comparison.html",
    )
    return replace(doc, **overrides) if overrides else doc


@pytest.fixture(scope="module")
def doc() -> ReportDocument:
    return make_document()


# ---------------------------------------------------------------------------------------------
# values


def test_money_is_half_up_at_presentation():
    assert values.money(D("2500.005")) == "2500.01"
    assert values.money(D("-2500.005")) == "-2500.01"
    assert values.money(D("-160")) == "-160.00"
    assert values.money(D("-0.001")) == "0.00"
    assert values.money(None) == ""
    assert values.display_money(D("1234567.885")) == "1,234,567.89"
    assert values.display_money(D("-1234.5")) == "-1,234.50"
    assert values.decimal_2dp(D("0.125")) == D("0.13")
    assert values.csv_guard("=1+1") == "'=1+1"
    assert values.csv_guard("\tx") == "' x"  # a tab splits a TSV import: a space
    assert values.csv_guard("plain") == "plain"
    assert values.safe_color("red;}body{display:none") == values.DEFAULT_BRAND_COLOR
    assert values.safe_color("#0a7e5c") == "#0A7E5C"


# ---------------------------------------------------------------------------------------------
# CSV


def test_csv_layout_guard_and_round_trip(doc):
    data = render.render(doc, "csv")
    assert data.startswith(b"\xef\xbb\xbf# Invoice Comparison Report\r\n")  # the UTF-8 BOM, by default
    text = data.decode("utf-8-sig")
    assert text.endswith("\r\n")
    lines = text.split("\r\n")
    assert lines[0] == "# Invoice Comparison Report"
    assert lines[1] == "# Organization: Acme Energy Zürich"
    assert lines[2] == "# Period: October 2026 (2026-10-01 to 2026-10-31)"
    assert lines[3] == "# Generated: 2026-11-05T10:30:00+00:00"
    assert lines[4] == "# Parameters: billing_period=2026-10, tolerance_absolute=0.01, tolerance_percent=0"
    # every record line ends with CRLF: no bare LF outside quoted fields
    rows = list(csv.reader(io.StringIO(text.split("\r\n", 5)[5], newline="")))
    labels = [c.label for c in catalog.INVOICE_COMPARISON.table("lines").columns]
    # the line type and the verdict are codes: each gets a words column right after it
    assert rows[0] == [*labels[:4], "Line type (in words)", *labels[4:10], "Status (in words)", *labels[10:]]
    at = {label: i for i, label in enumerate(rows[0])}
    body = rows[1:]
    assert len(body) == 5
    by_desc = {r[at["Description"]]: r for r in body}
    first = body[0]
    assert first[0] == "'" + FORMULA_NAME  # text guarded
    assert first[at["Description"]] == 'Energy, "peak" hours'  # comma and quotes round-trip
    assert first[at["Expected"]:at["Variance %"] + 1] == ["100.00", "100.15", "0.15", "0.15"]
    assert first[at["Line type"]] == "ENERGY" and first[at["Line type (in words)"]] == "Energy"
    assert first[at["Status"]] == "overbilled" and first[at["Status (in words)"]] == "Overbilled"
    second = body[1]
    assert second[0] == "'" + COMMA_NAME
    assert second[1] == "'-42"  # a text cell that looks negative is text
    assert second[at["Variance"]] == "-160.00"  # a negative number is never altered
    assert second[at["Variance %"]] == "-13.79"
    assert second[at["Line type (in words)"]] == "Service"  # a code the catalogue does not know: humanised
    assert "'-Credit note\r\nline two" in by_desc  # embedded CRLF round-trips, text guarded
    usd = body[3]
    assert usd[0] == NEWLINE_NAME  # embedded newline round-trips
    assert usd[at["Expected"]] == "2500.01" and usd[at["Received"]] == "" and usd[at["Variance %"]] == ""  # half-up, None empty
    assert usd[at["Status (in words)"]] == "Not received"
    assert body[4][0] == UNICODE_NAME and body[4][at["Expected"]] == "1234567.89"


def test_csv_metadata_cannot_be_broken_by_newlines(doc):
    evil = make_document(parameters={"contract_id": "1\r\n=cmd|x", "note": "a\nb"},
                         organization_name="=Evil\r\nCorp; =1+1")
    lines = render.render(evil, "csv").decode("utf-8-sig").split("\r\n")
    # one line; a field a split on ";" could start is guarded (the line itself starts with "#")
    assert lines[1] == "# Organization: =Evil Corp; '=1+1"
    assert lines[4] == "# Parameters: contract_id=1 =cmd|x, note=a b"
    assert lines[5].startswith("Contract,")


# ---------------------------------------------------------------------------------------------
# XLSX


def test_xlsx_sheets_types_and_formula_safety(doc):
    wb = openpyxl.load_workbook(io.BytesIO(render.render(doc, "xlsx")))
    assert wb.sheetnames == ["Summary", "Invoices", "Line detail"]
    ws = wb["Invoices"]
    labels = [c.label for c in catalog.INVOICE_COMPARISON.table("invoices").columns]
    assert [c.value for c in ws[1]] == labels
    assert all(c.font.b for c in ws[1])
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:O5"  # 12 columns + Discrepancy + Direction + Period
    name = ws["A2"]
    assert name.data_type == "s" and name.value == FORMULA_NAME
    assert ws["B3"].value == "@Northwind" and ws["B3"].data_type == "s"
    assert ws["C3"].value == "-42" and ws["C3"].data_type == "s"
    received = ws["F2"]
    assert received.data_type == "n" and received.value == 100.15
    assert received.number_format == "#,##0.00"
    assert ws["G3"].value == -160 and ws["E5"].value == 1234567.89
    assert ws["E4"].value == 2500.01  # half-up to the cent
    assert ws["F4"].value is None
    # a real percent cell: -13.79 % is the fraction -0.1379 shown with "0.00%"
    assert ws["H3"].value == pytest.approx(-0.1379) and ws["H3"].number_format == "0.00%"
    assert ws["I2"].value == "Overbilled" and ws["I4"].value == "Not received"  # verdicts in words
    assert ws["J3"].value == "Underbilled"  # the stored verdict too
    assert ws["A4"].value == NEWLINE_NAME and ws["A5"].value == UNICODE_NAME
    assert ws["A6"].value == "Total EUR" and ws["A6"].font.b and ws["G6"].value == -159.85
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f"
    lines = wb["Line detail"]
    assert lines.max_row == 6 and lines["A2"].data_type == "s"
    assert lines["E5"].value == SCRIPT_NAME

    summary = wb["Summary"]
    cells: dict = {}
    for row in summary.iter_rows():
        for c in row:
            if c.value is not None:
                cells.setdefault(c.value, c)  # the first cell with the value
    assert "Acme Energy Zürich" in cells
    start = summary.cell(cells["Period start"].row, 2)
    assert start.is_date and start.value.date() == dt.date(2026, 10, 1)
    # the per-currency summary is a small table: EUR row with its expected amount as a number
    eur = cells["EUR"]
    assert summary.cell(eur.row, 2).value == 1260.00


def test_xlsx_date_columns_are_dates():
    table = catalog.Table("t", "Dated", (catalog.Column("day", "Day", "date"), catalog.Column("n", "Count", "integer"),
                                         catalog.Column("name", "Name", "string")))
    definition = catalog.ReportDefinition("dated", "Dated", "FINANCIAL", "", (table,), csv_table="t")
    frame = pd.DataFrame({"day": [dt.date(2026, 10, 3), None], "n": [3, 4], "name": ["#N/A", "=1+2"]})
    doc = make_document(definition=definition, tables=[TableData(table, frame)], template="report.html")
    ws = openpyxl.load_workbook(io.BytesIO(render.render(doc, "xlsx")))["Dated"]
    assert ws["A2"].is_date and ws["A2"].value.date() == dt.date(2026, 10, 3)
    assert ws["A3"].value is None
    assert ws["B2"].value == 3 and isinstance(ws["B2"].value, int)
    assert ws["C2"].data_type == "s" and ws["C2"].value == "#N/A"
    assert ws["C3"].data_type == "s" and ws["C3"].value == "=1+2"
    assert render.render(doc, "csv").decode("utf-8-sig").split("\r\n")[6] == "2026-10-03,3,#N/A"


def test_xlsx_titles_are_sanitised():
    taken: set[str] = set()
    assert xlsx_render.sheet_title("Summary", taken) == "Summary"
    assert xlsx_render.sheet_title("summary", taken) == "summary (2)"
    title = xlsx_render.sheet_title("A/B: [c]? * a very long title that goes on", taken)
    assert len(title) == 31 and not set("/:[]?*") & set(title) and title.startswith("A B")
    assert xlsx_render.sheet_title("'quoted'", taken) == "quoted"


# ---------------------------------------------------------------------------------------------
# JSON


def test_json_structure_money_strings_and_nesting(doc):
    data = json.loads(render.render(doc, "json").decode("utf-8"))
    assert list(data)[:11] == ["report_type", "report_name", "organization", "billing_period", "generated_at",
                               "no_data", "parameters", "columns", "labels", "summary", "rows"]
    # codes in the rows, their words beside them (only the codes the document holds)
    assert data["labels"]["status"] == {"matched": "Matched", "missing_received": "Not received",
                                        "overbilled": "Overbilled", "underbilled": "Underbilled"}
    assert data["labels"]["line_type"] == {"CREDIT": "Credit", "ENERGY": "Energy", "SERVICE": "Service"}
    assert data["rows"][2]["status"] == "missing_received"
    assert data["no_data"] is False and "note" not in data
    assert data["report_type"] == "invoice_comparison"
    assert data["organization"] == {"id": 7, "name": "Acme Energy Zürich"}
    assert data["billing_period"] == {"key": "2026-10", "name": "October 2026", "start": "2026-10-01", "end": "2026-10-31"}
    assert data["generated_at"] == "2026-11-05T10:30:00+00:00"
    assert data["parameters"]["tolerance_absolute"] == "0.01"
    assert [c["key"] for c in data["columns"]["invoices"]][:2] == ["contract_name", "counterparty_name"]
    assert {"key": "expected_amount", "label": "Expected", "type": "currency", "format": "0.00"} in data["columns"]["lines"]
    rows = data["rows"]
    assert len(rows) == 4
    first = rows[0]
    assert first["contract_name"] == FORMULA_NAME  # JSON is data: no guard
    assert first["received_amount"] == "100.15" and first["pair_id"] == 1
    assert rows[1]["variance"] == "-160.00"
    assert rows[2]["received_amount"] is None and rows[2]["expected_amount"] == "2500.01"
    assert [line["line_type"] for line in rows[1]["lines"]] == ["SERVICE", "CREDIT"]
    assert rows[1]["lines"][0]["variance"] == "-160.00"
    assert rows[2]["lines"][0]["description"] == SCRIPT_NAME
    assert sum(len(r["lines"]) for r in rows) == 5
    assert data["totals"]["invoices"][0]["variance"] == "-159.85"
    assert data["totals"]["lines"] == []
    assert data["summary"]["currencies"]["EUR"]["expected"] == "1260.00"
    assert data["summary"]["currencies"]["USD"]["variance_percent"] is None
    assert data["summary"]["pairs"] == 4
    assert "東京" in render.render(doc, "json").decode("utf-8")  # ensure_ascii=False


# ---------------------------------------------------------------------------------------------
# reproducibility


@pytest.mark.parametrize("fmt", ["csv", "json", "xlsx", "html"])
def test_same_document_same_bytes(fmt):
    assert render.render(make_document(), fmt) == render.render(make_document(), fmt)


def test_xlsx_properties_and_zip_times_are_fixed(doc):
    data = render.render(doc, "xlsx")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert {i.date_time for i in z.infolist()} == {(2026, 11, 5, 10, 30, 0)}
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.properties.created == dt.datetime(2026, 11, 5, 10, 30)
    assert wb.properties.modified == dt.datetime(2026, 11, 5, 10, 30)


# ---------------------------------------------------------------------------------------------
# HTML


def test_html_escapes_untrusted_text_and_uses_brand(doc):
    page = render.render(doc, "html").decode("utf-8")
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "#0A7E5C" in page
    assert "Acme Energy Zürich" in page and "October 2026" in page
    assert "1,234,567.89" in page and "-160.00" in page and "-13.79%" in page
    assert 'class="alt hl"' in page or 'class="hl"' in page  # discrepancies highlighted
    assert "<svg" in page and "Prepared for the board" in page and "Acme Energy · Confidential" in page
    # group heading of the line detail: names, vendor invoice number, currency and verdict, no id
    assert "+Solar, &#34;North&#34; Park · @Northwind · -42 · EUR · Underbilled" in page
    assert "#2 ·" not in page and "#1 ·" not in page
    assert "Not received" in page and "missing_received" not in page  # words, not codes
    assert "Absolute tolerance:</span> 0.01" in page and "Percent tolerance:</span> 0%" in page
    assert "Billing period:</span> October 2026" in page
    assert "http://" not in page.replace('"http://www.w3.org/2000/svg"', "").replace("http://x", "")
    assert "<link" not in page  # self-contained: the stylesheet is inlined


def test_html_rejects_bad_brand_colour_and_logo():
    bad = make_document(branding=Branding(brand_color="red;}body{display:none",
                                          logo_data_uri="http://evil.example/logo.png"))
    page = render.render(bad, "html").decode("utf-8")
    assert "display:none" not in page and "red;" not in page
    assert values.DEFAULT_BRAND_COLOR in page
    assert "evil.example" not in page


def test_html_sections_switch_parts_off(doc):
    page = render.render(make_document(sections=Sections(summary=False, line_items=False, charts=False)), "html").decode()
    assert "<svg " not in page and 'class="card-value"' not in page and "Line detail" not in page
    assert "Invoices" in page


def test_chart_svg_escapes_and_handles_negatives():
    svg = charts.chart_svg(Chart("t", (Bar("<b>&x", D("-5"), "EUR"), Bar("ok", D("10"), "EUR"),
                                      Bar("z", D("3"), "<USD>"))))
    assert "<b>" not in svg and "&lt;b&gt;&amp;x" in svg and "&lt;USD&gt;" in svg
    assert svg.count("<rect") == 3 and "-5.00" in svg
    assert charts.chart_svg(Chart("t", ())) == ""
    assert "<rect" in charts.chart_svg(Chart("t", (Bar("a", D("-1")),)), orientation="vertical")
    panels = charts.series_svgs(Chart("t", tuple(Bar(f"c{i}", D(i - 20), "EUR") for i in range(30))
                                     + (Bar("u", D("1"), "USD"),)), max_bars=12)
    assert [name for name, _ in panels] == ["EUR", "USD"]
    assert panels[0][1].count("<rect") == 12
    assert "Showing the 12 largest of 30 by size" in panels[0][1]


# ---------------------------------------------------------------------------------------------
# PDF


def _pdf_text(data: bytes) -> tuple[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def latin_document(**overrides) -> ReportDocument:
    """The test document without CJK text, for reading PDFs back.

    The machine's fonts (DejaVu) have no CJK glyphs; for a font with missing glyphs WeasyPrint
    writes its own encoding CMap (to draw .notdef), which pypdf's text extraction decodes
    badly (NULs between characters). Production images should install a CJK font
    (e.g. fonts-noto-cjk) so such names print.
    """
    doc = make_document(**overrides)
    tables = []
    for t in doc.tables:
        rows = t.rows.copy()
        for col in rows.columns:
            if rows[col].dtype == object or str(rows[col].dtype) in ("str", "string"):
                rows[col] = [v.replace("東京", "Tokyo") if isinstance(v, str) else v for v in rows[col]]
        tables.append(replace(t, rows=rows))
    return replace(doc, tables=tables)


def test_pdf_with_missing_glyphs_still_renders(doc):
    data = render.render(doc, "pdf")
    assert data.startswith(b"%PDF") and _pdf_text(data)[1] >= 1


def test_pdf_contains_the_report():
    data = render.render(latin_document(), "pdf")
    assert data.startswith(b"%PDF")
    text, pages = _pdf_text(data)
    assert pages >= 1
    assert "Acme Energy Zürich" in text and "Zürich Tokyo" in text
    assert "Invoice Comparison Report" in text
    assert "October 2026" in text
    assert "1,234,567.89" in text and "-160.00" in text
    assert "Page 1 of" in text


def test_pdf_fetcher_allows_data_urls_only():
    for url in ("http://example.com/x.png", "https://example.com/x.png", "file:///etc/passwd", "x.png", "/etc/passwd",
                "ftp://example.com/x"):
        with pytest.raises(pdf_render.FetchRefused):
            pdf_render.data_only_fetcher(url)
    response = pdf_render.data_only_fetcher("data:text/plain;base64,aGk=")
    assert response.read() == b"hi"


def test_pdf_fetches_nothing_for_hostile_branding(monkeypatch):
    asked: list[str] = []
    original = pdf_render.data_only_fetcher

    def spy(url, *args, **kwargs):
        asked.append(url)
        return original(url, *args, **kwargs)

    monkeypatch.setattr(pdf_render, "data_only_fetcher", spy)
    hostile = latin_document(branding=Branding(
        header_text='<img src="file:///etc/passwd"><link rel=stylesheet href="http://evil/x.css">',
        footer_text="<style>@import url(http://evil/y.css)</style>",
        logo_data_uri="file:///etc/passwd",
    ))
    page = html_render.render_text(hostile)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in page
    assert "<img src=\"file" not in page and "<link" not in page and "<style>@import" not in page
    text, _ = _pdf_text(pdf_render.html_to_pdf(page))
    assert '<img src="file:///etc/passwd">' in text.replace("\n", "")
    assert "root:" not in text
    assert asked == []  # nothing was even requested


def test_pdf_blocks_resources_in_raw_html(monkeypatch):
    """Even markup that does reference resources gets nothing but data: URLs."""
    asked: list[str] = []
    original = pdf_render.data_only_fetcher

    def spy(url, *args, **kwargs):
        asked.append(url)
        return original(url, *args, **kwargs)

    monkeypatch.setattr(pdf_render, "data_only_fetcher", spy)
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    data = pdf_render.html_to_pdf(f'<p>x</p><img src="file:///etc/passwd"><img src="http://127.0.0.1:9/x.png">'
                                  f'<img src="{pixel}">')
    assert data.startswith(b"%PDF")
    assert set(asked) == {"file:///etc/passwd", "http://127.0.0.1:9/x.png", pixel}


def test_unknown_format_and_template_names_fail(doc):
    with pytest.raises(ValueError):
        render.render(doc, "docx")
    with pytest.raises(ValueError):
        render.render(make_document(template="../secrets.html"), "html")
    assert render.CONTENT_TYPES["xlsx"].endswith("spreadsheetml.sheet")
    assert set(render.EXTENSIONS) == set(catalog.FORMATS)
