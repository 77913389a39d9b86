"""PDF/HTML table rows: the cut at template_config pdf_max_rows (CSV keeps every row) and the
PDF's bands (plain rows stacked into one table row), on a hand-built timesheet.

Fixture (organization 1, October 2026): Bea Rossi (7) logs 60 billable minutes on North Farm (10)
and 30 non-billable minutes on Alpha Wind (11) on each of 1..15 October: 30 entries, 30 detail rows
(member × project × date), 15 by-date rows, 2 by-project rows. Totals: 15 × 1.00 + 15 × 0.50 =
22.50 hours, of which 15.00 billable and 7.50 not. Detail order: date, then project name (Alpha
Wind before North Farm), so the first 12 detail rows are 1..6 October, both projects.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pandas as pd
import pytest
import pdfplumber
from pypdf import PdfReader

from reporting_dagster.lib import render
from reporting_dagster.lib.documents.reports import timesheet as report
from reporting_dagster.lib.documents.reports.common import ReportContext, max_table_rows, sections_from
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.operations.records import Template
from reporting_dagster.lib.render import bands, html
from reporting_dagster.lib.render.document import DEFAULT_MAX_TABLE_ROWS, MAX_ROWS_CHECK, Branding
from reporting_dagster.lib.rules.timesheet import timesheet
from bench.timesheet_rows import document as timesheet_document
from tests.test_aging import context as aging_context, invoice as aging_invoice, run as aging_run, world  # noqa: F401

OCT1, OCT31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)


def entries() -> pd.DataFrame:
    rows = []
    for day in range(1, 16):
        for project_id, name, minutes, billable in ((10, "North Farm", 60, True), (11, "Alpha Wind", 30, False)):
            rows.append({"entry_id": len(rows) + 1, "organization_id": 1, "member_id": 7, "member_name": "Bea Rossi",
                         "member_email": "bea@x.io", "project_id": project_id, "project_name": name,
                         "entry_date": dt.date(2026, 10, day), "duration_minutes": minutes, "billable": billable})
    return pd.DataFrame(rows)


def template(config) -> Template:
    return Template(id=1, name="Timesheet", file_format="pdf", template_config=config, include_charts=False,
                    include_summary=True, include_line_items=True, logo_path=None, header_text=None,
                    footer_text=None, brand_color="#0B6E4F")


def document(config):
    ctx = ReportContext(1, "Helios Energy", BillingPeriod(7, "October 2026", OCT1, OCT31),
                        dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc), Branding(),
                        sections_from(template(config)))
    return report.build_document(timesheet(entries(), OCT1, OCT31, "all").for_organization(1), ctx)


def pdf_text(doc) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render.render(doc, "pdf"))).pages)


def html_rows(page: str, table: str) -> list[str]:
    """The data rows (not the heading, group titles, subtotals or totals) of one table section of the HTML."""
    section = page.split(f'class="table-block table-{table}')[1].split("</section>")[0]
    body = section.split("</thead>")[1].split('<tbody class="totals">')[0]
    return [r for r in re.findall(r"<tr[^>]*>.*?</tr>", body) if "group-title" not in r and "subtotal" not in r]


DETAIL_NOTE = "Showing the first 12 of 30 rows; every row is in the CSV, XLSX and JSON of this report."
BY_DATE_NOTE = "Showing the first 12 of 15 rows; every row is in the XLSX and JSON of this report."


def test_a_table_over_the_limit_shows_the_first_rows_and_a_note_and_the_csv_every_row():
    doc = document({"pdf_max_rows": 12})
    page = render.render(doc, "html").decode("utf-8")
    detail = html_rows(page, "detail")
    assert len(detail) == 12
    assert "2026-10-06" in detail[-1] and "North Farm" in detail[-1]  # 6 days × 2 projects
    assert not any("2026-10-07" in r for r in detail)
    assert page.count(DETAIL_NOTE) == 2  # under the heading and under the table
    assert len(html_rows(page, "by_date")) == 12 and page.count(BY_DATE_NOTE) == 2
    assert len(html_rows(page, "by_project")) == 2 and page.count("Showing the first") == 4
    assert "30 rows" in page  # the heading counts every row
    # totals over all 30 entries, not the rows shown
    totals = page.split('class="table-block table-detail')[1].split('<tbody class="totals">')[1].split("</tbody>")[0]
    assert ">22.50<" in totals and ">15.00<" in totals and ">7.50<" in totals and ">30<" in totals

    text = pdf_text(doc)
    squeezed = " ".join(text.split())
    assert " ".join(DETAIL_NOTE.split()) in squeezed and " ".join(BY_DATE_NOTE.split()) in squeezed
    # Alpha Wind: once in by_project, then once per shown detail day (1..6 October)
    assert text.count("Alpha Wind") == 1 + 6 and text.count("North Farm") == 1 + 6
    assert "2026-10-12" in text and "2026-10-13" not in text  # by_date: its first 12 days
    assert "22.50" in text

    csv_lines = render.render(doc, "csv").decode("utf-8-sig").split("\r\n")
    body = [r for r in csv.reader(io.StringIO("\r\n".join(csv_lines[5:]))) if r][1:]
    assert len(body) == 30 and body[-1][:4] == ["Bea Rossi", "2026-10-15", "Thu", "North Farm"]


def test_the_template_config_sets_the_limit_and_without_it_every_row_up_to_the_default_shows():
    page = render.render(document({"pdf_max_rows": 20}), "html").decode("utf-8")
    assert len(html_rows(page, "detail")) == 20
    assert "Showing the first 20 of 30 rows" in page and "by_date" in page
    assert len(html_rows(page, "by_date")) == 15
    for config in ({}, {"other": 1}, {"pdf_max_rows": 30}):
        page = render.render(document(config), "html").decode("utf-8")
        assert len(html_rows(page, "detail")) == 30 and "Showing the first" not in page
    assert pdf_text(document({})).count("Alpha Wind") == 1 + 15


@pytest.mark.parametrize("value", [0, -5, 50_001, 2.5, "200", True, None, [12]])
def test_a_bad_pdf_max_rows_falls_back_to_the_default_with_a_warning_in_the_summary(value):
    rows, warning = max_table_rows({"pdf_max_rows": value})
    assert rows == DEFAULT_MAX_TABLE_ROWS == 2000
    assert "pdf_max_rows must be a whole number from 1 to 50,000" in warning and "up to 2,000 rows" in warning
    doc = document({"pdf_max_rows": value})
    assert doc.sections.max_table_rows == 2000
    assert [w["check"] for w in doc.summary["check_warnings"]] == [MAX_ROWS_CHECK]
    assert len(html_rows(render.render(doc, "html").decode("utf-8"), "detail")) == 30


def test_limits_at_the_bounds_are_taken():
    assert max_table_rows({"pdf_max_rows": 1}) == (1, None)
    assert max_table_rows({"pdf_max_rows": 50_000}) == (50_000, None)
    assert max_table_rows("(unreadable JSON: nested more than 64 levels)") == (2000, None)
    page = render.render(document({"pdf_max_rows": 1}), "html").decode("utf-8")
    assert len(html_rows(page, "detail")) == 1 and "Showing the first 1 of 30 rows" in page


PAD = re.compile(r"[ \u2000-\u200a]*[\u2000-\u200a][ \u2000-\u200a]*|  +")  # a run of padding, not a word space


def band_lines(printed: str) -> list[list[str]]:
    """Each band of the print HTML as its lines, every line split into its values."""
    found = re.findall(r'<tr class="band"><td class="lines" colspan="\d+">(.*?)</td></tr>', printed, re.S)
    return [[[value for value in PAD.split(line) if value] for line in band.split("\n")] for band in found]


def test_the_pdf_stacks_plain_rows_into_bands_and_the_html_does_not():
    doc = document({})
    printed = html.render_text(doc, for_print=True)
    found = band_lines(printed)
    # by_member has 1 row (no band); by_project 2 rows; by_date 15; the detail's one group 30 rows,
    # its last apart (a line-row of its own: the member subtotal after it keeps to it)
    assert [len(band) for band in found] == [2, 15, 29]
    assert printed.count('<tr class="alt line-row"><td class="lines" colspan="7">') == 1
    detail = found[-1]
    assert [line[0] for line in detail] == [f"2026-10-{d:02d}" for d in range(1, 16) for _ in (0, 1)][:29]
    assert [line[2] for line in detail[:2]] == ["Alpha Wind", "North Farm"]
    assert "report_print.css" not in printed and "tr.band" in printed
    page = render.render(doc, "html").decode("utf-8")
    assert 'class="band' not in page and "tr.band" not in page
    text = pdf_text(doc)
    for day in range(1, 16):
        assert f"2026-10-{day:02d}" in text


def unbanded(monkeypatch):
    """No body-font metrics, so nothing is banded (the PDF as ordinary rows)."""
    monkeypatch.setattr(bands, "body_face", lambda: None)


def words(pdf: bytes) -> list[tuple[int, str, float, float, float]]:
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        return [(number, w["text"], w["x0"], w["x1"], w["top"])
                for number, page in enumerate(opened.pages) for w in page.extract_words()]


def test_a_banded_pdf_puts_every_word_where_ordinary_rows_put_it(monkeypatch):
    """The bands' spaces place each value within a fraction of a point of where its own cell would;
    a right-aligned number ends at its column's edge. Read back from the PDF's text positions."""
    doc = timesheet_document(300)
    assert html.render_text(doc, for_print=True).count('class="band"') >= 8
    banded_pdf = render.render(doc, "pdf")
    unbanded(monkeypatch)
    ordinary_pdf = render.render(doc, "pdf")
    banded_words, ordinary_words = words(banded_pdf), words(ordinary_pdf)
    assert len(banded_words) == len(ordinary_words) > 3000
    assert [w[:2] for w in banded_words] == [w[:2] for w in ordinary_words]
    assert max(max(abs(a[2] - b[2]), abs(a[3] - b[3])) for a, b in zip(banded_words, ordinary_words)) < 0.25
    assert max(abs(a[4] - b[4]) for a, b in zip(banded_words, ordinary_words)) <= 1.5  # rows are 15.6pt apart


def rule_rows(pdf: bytes, page: int, x_pt: float, scale: int = 4) -> list[int]:
    """The pixel rows (at `scale` px/pt) where a horizontal line starts, crossing x_pt on a page."""
    import pypdfium2

    image = pypdfium2.PdfDocument(pdf)[page].render(scale=scale).to_pil().convert("L")
    column = [image.getpixel((int(x_pt * scale), y)) for y in range(image.height)]
    return [y for y in range(1, image.height) if column[y] < 250 <= column[y - 1]]


def test_bands_draw_the_same_row_rules_as_ordinary_rows(monkeypatch):
    """A band draws its rows' rules itself (each line's underline, padded to the table's width): on
    a page of detail rows the rules fall on the same pixel rows (at 4 px/pt), 2pt into the table
    where no text is, and reach its right edge."""
    doc = timesheet_document(300)
    banded_pdf = render.render(doc, "pdf")
    unbanded(monkeypatch)
    ordinary_pdf = render.render(doc, "pdf")
    left = 12 / 25.4 * 72  # the page's side margin
    for page in (3, 5):
        for x in (left + 2, left + bands.TABLE_WIDTH_PT - 2):
            ordinary, banded_rules = rule_rows(ordinary_pdf, page, x), rule_rows(banded_pdf, page, x)
            assert len(ordinary) > 25
            assert len(banded_rules) == len(ordinary)
            assert max(abs(a - b) for a, b in zip(banded_rules, ordinary)) <= 1


def test_only_rows_whose_every_value_is_measured_and_fits_its_column_join_a_band():
    face = bands.font_metrics.face(bands.BODY_FONT)
    assert face is not None and face.family == "DejaVu Sans"
    # DejaVu Sans: W advances 2025 of 2048 units; at 7.5pt, WWWW is 4 × 2025 / 2048 × 7.5 = 29.66pt
    assert face.units("WWWW") == 8100 and face.units("") == 0
    assert face.units("東京") is None and face.units("a\u200bb") is None and face.units("a\nb") is None
    assert face.units("Jürgen Müller") is not None
    # two 100pt-wide columns: content boxes 4..96pt and 104..196pt from the table's left edge
    share = f"{100 / bands.TABLE_WIDTH_PT * 100:.6f}%"
    cols = bands.columns([share, share], ["text", "num"])
    assert [(round(c.left, 4), round(c.right, 4), c.align_right) for c in cols] == [(4, 96, False), (104, 196, True)]
    maker = bands.LineMaker(face, cols)
    line = maker.line(["WWWW", "1.00"])
    lead, rest = line.split("WWWW")
    gap, trail = rest.split("1.00")
    units_per_pt = 2048 / 7.5
    # WWWW starts at 4pt; "1.00" is 3 × 1303 + 651 = 4560 units (16.70pt) and ends at 196pt; the
    # line ends at the table's right edge. Each run of spaces within a few units of its gap.
    assert abs(face.units(lead) - 4 * units_per_pt) <= 12
    assert abs(face.units(gap) - (196 * units_per_pt - 4560 - 4 * units_per_pt - 8100)) <= 12
    assert abs(face.units(line) - 200 * units_per_pt) <= 36  # to the second column's far edge
    assert maker.line(["W" * 13, "1.00"]) is None  # 13 × 7.42pt = 96.4pt > 92pt - 0.5pt
    assert maker.line(["東京", "1.00"]) is None

    # a row whose text wraps keeps that cell (WeasyPrint wraps it) and draws the others as one:
    # "WWWW WWWW WWWW" is 3 x 29.66 + 2 x 2.38 = 93.75pt > 92pt
    three = bands.LineMaker(face, bands.columns([share, share, share], ["text", "num", "num"]))
    row = type("R", (), {"cells": [("WWWW WWWW WWWW", "text"), ("1.00", "num"), ("2.00", "num")], "css": "hl"})()
    cells = three.cells(row)
    assert [(c[1], c[2]) for c in cells] == [("text", 1), ("lines", 2)] and cells[0][0] == "WWWW WWWW WWWW"
    assert [v for v in PAD.split(cells[1][0]) if v] == ["1.00", "2.00"]
    assert abs(face.units(cells[1][0]) - 200 * units_per_pt) <= 36  # columns 2 and 3: 100pt to 300pt
    assert maker.line(["WWWW WWWW WWWW WWWW", "1.00"]) is None

    class Row:
        def __init__(self, text, css=""):
            self.cells, self.css, self.band = [(text, "text")], css, False

    rows = [Row("a"), Row("b", "alt"), Row("x" * 200), Row("c"), Row("d", "alt"), Row("e"), Row("f", "alt hl"),
            Row("東京"), Row("g", "total")]  # 200 x are 887.7pt: wider than the 765.9pt of the one column
    out = bands.banded(rows, ["100%"], lambda cells, css, band: Row(cells[0][0], css), size=2, face=face)
    shown = [([[v for v in PAD.split(line) if v] for line in r.cells[0][0].split("\n")], r.css) for r in out]
    assert shown == [([["a"], ["b"]], "band"), ([["x" * 200]], ""), ([["c"], ["d"]], "band"),
                     ([["e"]], "line-row"), ([["f"]], "alt hl"), ([["東京"]], ""), ([["g"]], "total")]
    # (a lone row is drawn as one cell; a highlighted one of a single column saves nothing, so stays)
    assert bands.banded(rows, ["100%"], lambda *a: None, face=None) is rows


def test_padding_lands_within_a_few_font_units_of_any_gap():
    face = bands.font_metrics.face(bands.BODY_FONT)
    padder = bands.Padder(face)
    for gap in range(1_000, 60_000, 97):  # cells are 8pt (2,185 units) apart at least
        run, width = padder.run(gap)
        assert face.units(run) == width
        assert abs(width - gap) <= 12, gap  # 12 of 2048 units at 7.5pt: 0.04pt


def test_the_aging_invoice_list_keeps_one_line_per_invoice_in_the_pdf(world):
    """The aging invoice list's 13 columns are as wide as their values (column_widths.py): its bands
    place values against those widths, so each invoice number stays on its own line, whole."""
    from reporting_dagster.lib.documents.reports import invoice_aging

    for i in range(6):  # 11 days overdue at the as-of date: plain rows, none highlighted
        aging_invoice(world, f"INV-{1000 + i}", "100.00", dt.date(2025, 3, 20))
    doc = invoice_aging.build_document(aging_run(world.engine).for_organization(world.org_id),
                                       aging_context(world.org_id))
    printed = html.render_text(doc, for_print=True)
    invoices = printed.split("table-block table-invoices")[1].split("</section>")[0]
    assert len(band_lines(invoices)) == 1 and len(band_lines(invoices)[0]) == 6
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(render.render(doc, "pdf"))).pages)
    lines = [line for line in text.splitlines() if "INV-100" in line]
    assert [re.findall(r"INV-100\d", line) for line in lines] == [[f"INV-{1000 + i}"] for i in range(6)]
