"""Every report type's PDF laid out so nothing collides, read back from the PDF's own text positions.

Documents: the demo seed (3 organizations, October 2026, through the request path: the same extracts,
rules and builders as a real request; the timesheet with every grouping, as the monthly pack makes
it), and the same documents with very large amounts (999,999,999,999.99, bold in the totals) and
long identifiers. For each PDF, pdfplumber gives every character and word with its box:

- no two characters of a table line overlap, and no two words of any line of the page;
- no word of a table crosses its column's edge (the edges are the header cells' painted boxes);
- every number, date and identifier the tables show comes back as whole words (a value split
  across two lines, or run into its neighbour, reads as other words).

The glyph test renders names in Japanese, Russian, Greek, Arabic and Hebrew and finds each back as
itself, drawn by a font that has its glyphs (no .notdef boxes): DejaVu Sans, or the CJK fallback.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import io
import json
import subprocess
import unicodedata
import uuid
from collections.abc import Iterator
from decimal import Decimal

import pandas as pd
import pdfplumber
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from reporting_dagster.lib import render
from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.documents.reports import timesheet as timesheet_report
from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.platform_schema import extract_sql
from reporting_dagster.lib.operations.demo_seed import SeedOptions, seed
from reporting_dagster.lib.render import column_widths, font_metrics, html
from reporting_dagster.lib.render.document import ReportDocument
from reporting_dagster.lib.render.values import MONEY_TYPES, is_percent_column
from reporting_dagster.lib.requests.build import build_request_document, context_for
from reporting_dagster.lib.requests.validate import load_request, validate
from reporting_dagster.lib.rules import timesheet as timesheet_rules

TODAY = dt.date(2026, 11, 22)  # the demo's last billing period is October 2026
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
OPTIONS = SeedOptions(today=TODAY, months=6)
REPORT_TYPES = tuple(catalog.CATALOG)
HUGE = Decimal("999999999999.99")
RIGID = column_widths.RIGID
PAGE_BOTTOM_MARGIN_PT = 15 / 25.4 * 72  # report.css @page: the running footer lives below this


# ---------------------------------------------------------------------------------------------
# documents


@pytest.fixture(scope="module")
def demo_engine(server_url: URL, template_database: str) -> Iterator[sa.Engine]:
    name = f"rd_layout_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    engine = db.create_engine(server_url.set(database=name))
    seed(engine, OPTIONS)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _parameters(report_type: str) -> dict:
    if report_type in ("timesheet", "project_profitability"):
        return {"date_from": "2026-10-01", "date_to": "2026-10-31"}
    return {"billing_period": "2026-10"}


def _demo_document(engine: sa.Engine, org: int, report_type: str) -> ReportDocument:
    with engine.begin() as conn:
        report_id = conn.execute(sa.text(
            "INSERT INTO generated_report (organization_id, report_type, file_format, generation_source, name, "
            "parameters) VALUES (:o, CAST(:t AS report_type), 'pdf', 'on_demand', 'layout', CAST(:p AS jsonb)) "
            "RETURNING id"), {"o": org, "t": report_type, "p": json.dumps(_parameters(report_type))}).scalar_one()
    request = validate(engine, load_request(engine, report_id), today=TODAY)

    def read(name: str, **params) -> pd.DataFrame:
        return db.read_frame(engine, extract_sql(engine, name), params)

    ctx = context_for(request, None, NOW)
    if report_type == "timesheet":  # every grouping and the detail, as the monthly pack makes it
        p = request.parameters
        entries = read("time_entries", date_from=p["date_from"], date_to=p["date_to"])
        result = timesheet_rules.timesheet(entries, p["date_from"], p["date_to"], group_by=timesheet_rules.ALL)
        return timesheet_report.build_document(result.for_organization(org), ctx)
    return build_request_document(request, read, ctx)


@pytest.fixture(scope="module")
def demo_documents(demo_engine) -> dict[tuple[str, int], ReportDocument]:
    with demo_engine.connect() as conn:
        orgs = [int(o) for o in conn.execute(sa.text("SELECT id FROM organization ORDER BY id")).scalars()]
    return {(t, org): _demo_document(demo_engine, org, t) for t in REPORT_TYPES for org in orgs}


def _long_identifier(i: int) -> str:
    return f"MW-2611-{51044 + i}/2026-ZA-{i:05d}"


def _huge(table_data, frame: pd.DataFrame) -> pd.DataFrame:
    """The rows with every amount ±999,999,999,999.99 (percentages ±99,999.99), every count
    9,999,999 and every identifier a long code."""
    frame = frame.copy()
    for column in table_data.table.columns:
        if column.key not in frame:
            continue
        css = html._cell_css(column)
        if column.type in MONEY_TYPES:
            big = Decimal("99999.99") if is_percent_column(column) else HUGE
            frame[column.key] = pd.Series([None if v is None or pd.isna(v) else (-big if Decimal(str(v)) < 0 else big)
                                           for v in frame[column.key]], dtype=object, index=frame.index)
        elif column.type == "integer":
            frame[column.key] = pd.Series([None if v is None or pd.isna(v) else 9_999_999 for v in frame[column.key]],
                                          dtype=object, index=frame.index)
        elif css == "ident" and column.key in ("invoice_number", "received_invoice_numbers"):
            frame[column.key] = [_long_identifier(i) if isinstance(v, str) and v else v
                                 for i, v in enumerate(frame[column.key])]
    return frame


def _huge_totals(table_data) -> list[dict]:
    money = [c.key for c in table_data.table.columns if c.type in MONEY_TYPES and not is_percent_column(c)]
    counts = [c.key for c in table_data.table.columns if c.type == "integer"]
    return [{**total, **{k: -HUGE if total.get(k) is not None and Decimal(str(total[k])) < 0 else HUGE
                         for k in money if k in total},
             **{k: 99_999_999 for k in counts if k in total}} for total in table_data.totals]


def huge_document(doc: ReportDocument) -> ReportDocument:
    tables = [dataclasses.replace(t, rows=_huge(t, t.rows), totals=_huge_totals(t)) for t in doc.tables]
    return dataclasses.replace(doc, tables=tables)


# ---------------------------------------------------------------------------------------------
# reading the PDF back


def _rgb(hex_color: str) -> tuple[float, float, float]:
    return tuple(int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5))


def _same_color(color, rgb) -> bool:
    return isinstance(color, (tuple, list)) and len(color) == 3 and all(abs(a - b) < 0.01 for a, b in zip(color, rgb))


def header_rows(page, brand: str) -> list[list[tuple[float, float, float, float]]]:
    """The tables' header rows on a page: runs of brand-coloured cells side by side, each as its
    cells' (x0, x1, top, bottom), left to right."""
    rgb = _rgb(brand)
    cells = sorted({(round(r["x0"], 2), round(r["x1"], 2), round(r["top"], 2), round(r["bottom"], 2))
                    for r in page.rects if r["height"] > 5 and r.get("fill") and _same_color(r.get("non_stroking_color"), rgb)},
                   key=lambda c: (c[2], c[0]))
    rows: dict[tuple[float, float], list] = collections.defaultdict(list)
    for cell in cells:
        rows[(cell[2], cell[3])].append(cell)
    out = []
    for row in rows.values():
        row.sort()
        contiguous = all(abs(a[1] - b[0]) < 0.5 for a, b in zip(row, row[1:]))
        if len(row) >= 2 and contiguous and row[-1][1] - row[0][0] > 0.9 * column_widths.TABLE_WIDTH_PT:
            out.append(row)
    return sorted(out, key=lambda r: r[0][2])


def group_title_boxes(page, brand_light: str) -> list[tuple[float, float]]:
    """(top, bottom) of the group-title rows (one cell across the table, in the light brand colour)."""
    rgb = _rgb(brand_light)
    return [(r["top"], r["bottom"]) for r in page.rects
            if _same_color(r.get("non_stroking_color"), rgb) and r["width"] > 0.9 * column_widths.TABLE_WIDTH_PT]


def _lines(items: list[dict], tolerance: float = 1.0) -> list[list[dict]]:
    """Items (chars or words) grouped into lines by their top, each line left to right."""
    lines: list[list[dict]] = []
    for item in sorted(items, key=lambda i: (i["top"], i["x0"])):
        if lines and abs(lines[-1][0]["top"] - item["top"]) <= tolerance:
            lines[-1].append(item)
        else:
            lines.append([item])
    return [sorted(line, key=lambda i: i["x0"]) for line in lines]


def _drawn(char: dict) -> bool:
    ch = char["text"]
    return not ch.isspace() and char["width"] > 0.3 and unicodedata.category(ch)[0] != "M" and ch not in "\u200b\u200d\ufe0f"


def layout_problems(pdf: bytes, theme: dict) -> list[str]:
    """What collides on the pages: overlapping characters or words, words across a column edge."""
    problems = []
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        for number, page in enumerate(opened.pages, start=1):
            words = page.extract_words(extra_attrs=["size"])
            for line in _lines(words):
                for a, b in zip(line, line[1:]):
                    if b["x0"] < a["x1"] - 0.5:
                        problems.append(f"page {number}: words overlap: {a['text']!r} and {b['text']!r}")
            headers = header_rows(page, theme["brand"])
            groups = group_title_boxes(page, theme["brand_light"])
            bottom = page.height - PAGE_BOTTOM_MARGIN_PT
            for index, row in enumerate(headers):
                top = row[0][2]
                end = headers[index + 1][0][2] if index + 1 < len(headers) else bottom
                edges = [cell[0] for cell in row[1:]]

                def in_table(item: dict) -> bool:
                    middle = (item["top"] + item["bottom"]) / 2
                    return (top <= middle < end and item["size"] <= 7.6
                            and not any(g_top <= middle <= g_bottom for g_top, g_bottom in groups))

                chars = [c for c in page.chars if in_table(c) and _drawn(c)]
                for line in _lines(chars, tolerance=0.5):
                    for a, b in zip(line, line[1:]):
                        if b["x0"] < a["x1"] - 0.3:
                            problems.append(f"page {number}: characters overlap: {a['text']!r} and {b['text']!r}"
                                            f" at x={b['x0']:.1f}")
                for word in (w for w in words if in_table(w)):
                    for edge in edges:
                        if word["x0"] < edge - 0.5 and word["x1"] > edge + 0.5:
                            problems.append(f"page {number}: {word['text']!r} crosses a column edge at x={edge:.1f}")
    return problems


def shown_rigid_tokens(doc: ReportDocument) -> collections.Counter:
    """Every word of every number, date and identifier cell the PDF's tables show."""
    tokens: collections.Counter = collections.Counter()
    for table in html.context(doc)["tables"]:
        rows = [*table.rows, *(r for g in table.groups for r in g.rows), *table.totals]
        for row in rows:
            for value, css in row.cells:
                if css in RIGID:
                    tokens.update(value.split())
    return tokens


def split_tokens(pdf: bytes, doc: ReportDocument) -> list[str]:
    """The numbers, dates and identifiers that do not come back from the PDF as whole words."""
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        found = collections.Counter(w["text"] for page in opened.pages for w in page.extract_words())
    return sorted(token for token, count in shown_rigid_tokens(doc).items() if found[token] < count)


def check(doc: ReportDocument) -> tuple[list[str], list[str]]:
    pdf = render.render(doc, "pdf")
    theme = html.context(doc)["theme"]
    return layout_problems(pdf, theme), split_tokens(pdf, doc)


# ---------------------------------------------------------------------------------------------
# the tests


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_every_report_of_the_demo_lays_out_without_collisions(demo_documents, report_type):
    docs = [doc for (t, _), doc in demo_documents.items() if t == report_type]
    assert len(docs) == 3
    assert any(not doc.no_data for doc in docs), f"the demo has no {report_type} data in October 2026"
    for doc in docs:
        problems, split = check(doc)
        assert problems == [], (doc.organization_name, problems[:10])
        assert split == [], (doc.organization_name, split[:20])


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_very_large_amounts_and_long_identifiers_still_fit(demo_documents, report_type):
    docs = [huge_document(doc) for (t, _), doc in demo_documents.items() if t == report_type and not doc.no_data]
    for doc in docs:
        tokens = shown_rigid_tokens(doc)
        if any(t.table.columns for t in doc.tables if any(c.type in MONEY_TYPES for c in t.table.columns)):
            assert tokens["999,999,999,999.99"] > 0  # the fixture really holds the large amounts
        problems, split = check(doc)
        assert problems == [], (doc.organization_name, problems[:10])
        assert split == [], (doc.organization_name, split[:20])


def test_a_bold_total_gets_a_column_as_wide_as_it_is():
    """Measured, not counted: "999,999,999,999.99" in DejaVu Sans Bold at 7.5pt is 14 digits of
    1425 units and 4 separators of 778 units = 23,062 of 2048 units per em = 84.45pt; with 8pt
    of padding and 1.5pt of slack the column needs 93.95pt. In regular weight the same text is
    14 × 1303 + 4 × 651 = 20,846 units = 76.34pt, so 85.84pt."""
    bold = font_metrics.face(column_widths.BODY_FONT, font_metrics.BOLD)
    regular = font_metrics.face(column_widths.BODY_FONT, font_metrics.REGULAR)
    assert bold is not None and bold.path.endswith("DejaVuSans-Bold.ttf") and regular.path.endswith("DejaVuSans.ttf")
    assert bold.units("999,999,999,999.99") == 14 * 1425 + 4 * 778 == 23_062
    assert regular.units("999,999,999,999.99") == 14 * 1303 + 4 * 651 == 20_846
    # a narrow table of two columns: the amount (bold in the total) and a free text column
    layout = column_widths.layout(["num", "text"], ["Amount", "Note"], [["1.00", "short"]],
                                  [["999,999,999,999.99", ""]], width=200.0)
    amount = float(layout.widths[0].rstrip("%")) / 100 * 200.0
    assert layout.size_css == "" and abs(amount - (23_062 / 2048 * 7.5 + 8 + 1.5)) < 0.01
    # the same values without the bold total: the regular width is enough
    plain = column_widths.layout(["num", "text"], ["Amount", "Note"], [["999,999,999,999.99", "short"]], [], width=200.0)
    assert abs(float(plain.widths[0].rstrip("%")) / 100 * 200.0 - (20_846 / 2048 * 7.5 + 8 + 1.5)) < 0.01


def test_columns_that_do_not_fit_shrink_the_font_a_step_and_are_not_banded():
    """Nine bold totals of 999,999,999,999.99 need 9 × 93.95 = 845.6pt at 7.5pt, more than the
    773.86pt table; at 6.5pt each needs 23,062 / 2048 × 6.5 + 9.5 = 82.69pt, 9 × 82.69 = 744.2pt."""
    css = ["num"] * 9
    layout = column_widths.layout(css, ["Amount"] * 9, [["1.00"] * 9], [["999,999,999,999.99"] * 9])
    assert layout.size_css == "small"
    assert all(float(w.rstrip("%")) / 100 * column_widths.TABLE_WIDTH_PT >= 23_062 / 2048 * 6.5 + 9.5 - 0.01 for w in layout.widths)
    assert sum(float(w.rstrip("%")) for w in layout.widths) <= 100.0


def test_an_identifier_column_gets_its_widest_code_and_text_wraps_at_words():
    """"MW-2611-51044" in DejaVu Sans at 7.5pt: M 1767, W 2025, - 739, digits 1303 → 1767 + 2025 +
    2 × 739 + 9 × 1303 = 16,997 units = 62.24pt; its column gets 62.24 + 9.5 = 71.74pt even when
    free text competes for a 160pt table, and the text the rest (it wraps)."""
    layout = column_widths.layout(["ident", "text"], ["No.", "Description"],
                                  [["MW-2611-51044", "a long description of the work done " * 3]], [], width=160.0)
    assert layout.size_css == ""
    assert abs(float(layout.widths[0].rstrip("%")) / 100 * 160.0 - (16_997 / 2048 * 7.5 + 9.5)) < 0.01


SAMPLES = {
    "Japanese": "東京",
    "Russian": "Москва",
    "Greek": "Αθήνα",
    "Arabic": "الرياض",
    "Hebrew": "ירושלים",
}


def test_names_in_every_script_come_back_as_themselves_drawn_by_a_font_that_has_them():
    from tests.test_render_formats import make_document

    doc = make_document(organization_name=f"Sakura Wind {SAMPLES['Japanese']} K.K.")
    invoices = doc.tables[0]
    rows = invoices.rows.copy()
    names = [f"{script} {sample}" for script, sample in SAMPLES.items()]
    rows["contract_name"] = names[:len(rows)]
    rows["counterparty_name"] = (names[len(rows):] + names)[:len(rows)]
    doc = dataclasses.replace(doc, tables=[dataclasses.replace(invoices, rows=rows), *doc.tables[1:]])
    pdf = render.render(doc, "pdf")
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        chars = [c for page in opened.pages for c in page.chars]
        text = "\n".join(page.extract_text() for page in opened.pages)
    for script, sample in SAMPLES.items():
        # right-to-left scripts are laid out right to left: their letters come back in visual order
        assert sample in text or sample[::-1] in text, script
    cjk = subprocess.run(["fc-match", "-f", "%{family[0]}", ":lang=ja"], capture_output=True, text=True).stdout
    faces = {"DejaVuSans": font_metrics.face(column_widths.BODY_FONT), cjk.replace(" ", ""): font_metrics.face(cjk)}
    assert all(faces.values()), f"no CJK font installed (fontconfig offers {cjk!r}): install fonts-droid-fallback"
    wanted = set("".join(SAMPLES.values()))
    seen = {}
    for c in chars:
        if c["text"] in wanted:
            family = next((name for name in faces if name in c["fontname"].replace("-", "")), None)
            assert family is not None, (c["text"], c["fontname"])
            assert c["text"] in faces[family].advances, (c["text"], c["fontname"])  # a glyph, not .notdef
            seen[c["text"]] = family
    assert wanted <= set(seen)
    assert seen["東"] == seen["京"] == cjk.replace(" ", "") != "DejaVuSans"  # here: DroidSansFallback
    assert {seen[ch] for ch in "МоскваΑθήναالرياضירושלים"} == {"DejaVuSans"}


def _words(pdf: bytes) -> list[tuple[int, str, float, float, float]]:
    with pdfplumber.open(io.BytesIO(pdf)) as opened:
        return [(number, w["text"], w["x0"], w["x1"], w["top"])
                for number, page in enumerate(opened.pages) for w in page.extract_words()]


@pytest.mark.parametrize("report_type", REPORT_TYPES)
def test_rows_drawn_as_one_cell_put_every_word_where_ordinary_cells_put_it(demo_documents, report_type, monkeypatch):
    """bands.py draws a row as one cell (a band of rows, or a line-row: highlighted, lone, or
    wrapping): the same words on the same pages at the same places as ordinary cells would, for
    every report type of the demo (and its large-amounts twin)."""
    from reporting_dagster.lib.render import bands

    for org in (1, 2, 3):
        for doc in (demo_documents[(report_type, org)], huge_document(demo_documents[(report_type, org)])):
            printed = html.render_text(doc, for_print=True)
            one_cell = printed.count('<td class="lines"')
            drawn = render.render(doc, "pdf")
            with monkeypatch.context() as patched:
                patched.setattr(bands, "body_face", lambda: None)
                assert '<td class="lines"' not in html.render_text(doc, for_print=True)
                ordinary = render.render(doc, "pdf")
            ours, theirs = _words(drawn), _words(ordinary)
            assert [w[:2] for w in ours] == [w[:2] for w in theirs], (report_type, org)
            assert max((abs(a[2] - b[2]) for a, b in zip(ours, theirs)), default=0) < 0.25
            assert max((abs(a[4] - b[4]) for a, b in zip(ours, theirs)), default=0) <= 1.5
            if doc is demo_documents[(report_type, org)] and not doc.no_data:
                assert one_cell > 0, (report_type, org)  # the demo's rows do take the short path
