"""HTML: a self-contained page from the Jinja2 templates in `templates/` (the PDF uses it too).

`doc.template` names the page template (e.g. `invoice_comparison.html`, which extends the
generic `report.html`, which extends `base.html`); `report.css` is inlined into a <style> block.
Autoescape is on and undefined names fail. All values are prepared here as display text, so
the templates only place strings; untrusted text is never compiled as a template.

Layout time is bounded (README "Rendering limits"): a cell longer than
`REPORTS_RENDER_MAX_CELL_CHARS` is cut with a note pointing to the CSV/XLSX/JSON, which keep every
character, and for the PDF a long unbroken run gets invisible break opportunities (WeasyPrint
otherwise lays out the whole rest of the run again for every line it breaks inside it; the breaks
make that much cheaper, the cut is what bounds it). A table shows at most
`Sections.max_table_rows` rows (template_config "pdf_max_rows", default 2,000) with a note that
the CSV/XLSX/JSON hold every row; the totals are the document's, over every row. For the PDF, runs
of rows are drawn as one cell each or stacked into bands (`bands.py`), which WeasyPrint lays out at a
sixth of the cost of a row of cells.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from reporting_dagster.lib.documents import labels
from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.infra.paths import TEMPLATES_DIR
from reporting_dagster.lib.render import bands as band_rules
from reporting_dagster.lib.render import column_widths
from reporting_dagster.lib.render.charts import series_svgs
from reporting_dagster.lib.render.document import NO_DATA_NOTE, ReportDocument, TableData
from reporting_dagster.lib.render.values import (
    MONEY_TYPES,
    display_cell,
    display_timestamp,
    group_value,
    iso_date,
    iso_timestamp,
    normalize,
    one_line,
    safe_color,
    table_records,
    text,
    tint,
    truncate,
)

CONTENT_TYPE = "text/html; charset=utf-8"
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_\-]+\.html")
_LOGO = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,[A-Za-z0-9+/=\s]+")
TONES = frozenset({"neutral", "good", "bad"})

TRUNCATION_NOTE = "… (truncated; the full text is in the CSV/XLSX/JSON)"
ELLIPSIS = "…"
# string columns that hold codes and numbers, not prose: they are never broken "anywhere" (css
# `ident`), so an invoice number wraps, if at all, only as a last resort; every other string
# column is free text (css `text`)
IDENTIFIER_COLUMNS = frozenset({
    "invoice_number", "received_invoice_numbers", "currency", "status", "stored_status", "bucket_label",
    "invoice_direction", "billing_period", "line_type", "metered_unit", "weekday",
})
_IDENTIFIER_SUFFIXES = ("_number", "_numbers", "_code", "_id")
# PDF only: an unbroken run longer than any real word or code gets a zero-width space every few
# characters, so WeasyPrint finds a break near each line end instead of re-laying out the run
LONG_RUN_CHARS = 40
BREAK_EVERY = 8
ZERO_WIDTH_SPACE = "\u200b"
_LONG_RUN = re.compile(r"[^\s\u200b]{%d,}" % (LONG_RUN_CHARS + 1))


@lru_cache(maxsize=1)
def environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)),
        autoescape=select_autoescape(default_for_string=True, default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


# ---------------------------------------------------------------------------------------------
# view model: what the templates place


@dataclass
class ColumnView:
    key: str
    label: str
    type: str
    css: str  # cell class: num | text | date
    width: str  # percentage of the table width, e.g. "12.5%"


@dataclass
class RowView:
    cells: list[tuple]  # (display text, css class); in a band or line-row (text, css, colspan)
    css: str = ""
    band: bool = False  # PDF only: several plain rows as the lines of one cell spanning the row (bands.py)


@dataclass
class GroupView:
    title: str
    rows: list[RowView]
    totals: list[RowView] = field(default_factory=list)  # the group's subtotal (TableData.group_totals)


@dataclass
class TableView:
    key: str
    title: str
    columns: list[ColumnView]
    rows: list[RowView] = field(default_factory=list)
    groups: list[GroupView] = field(default_factory=list)
    totals: list[RowView] = field(default_factory=list)
    is_child: bool = False
    count: int = 0
    cut_note: str = ""  # the table has more rows than the PDF/HTML show (Sections.max_table_rows)
    size_css: str = ""  # a smaller font (report.css table.data.small / .smaller) when the values need it


def _cell_css(column: Column) -> str:
    if column.type in MONEY_TYPES or column.type == "integer":
        return "num"
    if column.type == "date":
        return "date"
    if column.key in IDENTIFIER_COLUMNS or column.key.endswith(_IDENTIFIER_SUFFIXES):
        return "ident"
    return "text"


def cut(value: str, limit: int, note: str = TRUNCATION_NOTE) -> str:
    """The first `limit` characters and the note, when the text is longer."""
    return value if len(value) <= limit else value[:limit] + note


def _joins_previous(ch: str) -> bool:
    """A mark, joiner or variation selector: a break before it would split what people see as one character."""
    return unicodedata.category(ch)[0] == "M" or ch in "\u200d\ufe0e\ufe0f"


def _chunked(run: str) -> str:
    out: list[str] = []
    since_break = 0
    previous = ""
    for ch in run:
        if since_break >= BREAK_EVERY and not _joins_previous(ch) and previous != "\u200d":
            out.append(ZERO_WIDTH_SPACE)
            since_break = 0
        out.append(ch)
        since_break += 1
        previous = ch
    return "".join(out)


def layout_breaks(value: str) -> str:
    """`value` with a zero-width space every BREAK_EVERY characters inside runs longer than
    LONG_RUN_CHARS; shorter words and codes are left whole."""
    if len(value) <= LONG_RUN_CHARS:
        return value
    return _LONG_RUN.sub(lambda m: _chunked(m.group(0)), value)


@dataclass(frozen=True)
class TextLimits:
    """How untrusted text is bounded on the page: cut at `max_chars`; PDF also gets `breaks`."""

    max_chars: int = settings.DEFAULT_MAX_CELL_CHARS
    breaks: bool = False

    def cell(self, value: str) -> str:
        value = cut(value, self.max_chars)
        return layout_breaks(value) if self.breaks else value

    def field(self, value: str) -> str:
        """Branding texts, titles, parameters: cut with a plain ellipsis (no flat format holds them)."""
        value = cut(value, self.max_chars, ELLIPSIS)
        return layout_breaks(value) if self.breaks else value


def _widths(columns: tuple[Column, ...], rows: list[RowView], totals: list[RowView]) -> column_widths.Layout:
    """Column widths (and the table's font size) from the widest value each column holds, bold
    totals included, measured in the body font: numbers, dates and codes never wrap (column_widths.py)."""
    return column_widths.layout([_cell_css(c) for c in columns], [c.label for c in columns],
                                [[cell for cell, _ in row.cells] for row in rows],
                                [[cell for cell, _ in row.cells] for row in totals])


def display_text(record: dict[str, Any], column: Column) -> str:
    """A cell as people read it: a coded column's words (labels.py; a line type by the platform's
    own name when the row has it), every other column through `display_cell`."""
    value = record.get(column.key)
    if labels.is_coded(column.key):
        value = normalize(value)
        if column.key == "line_type" and value is not None and text(record.get("line_type_name")):
            return text(record.get("line_type_name"))
        return labels.cell_label(column.key, value) if isinstance(value, str) else display_cell(value, column)
    return display_cell(value, column)


def _row(record: dict[str, Any], columns: tuple[Column, ...], css: str, limits: TextLimits) -> RowView:
    return RowView([(limits.cell(display_text(record, c)), _cell_css(c)) for c in columns], css)


def _group_title(data: TableData, record: dict[str, Any], limits: TextLimits) -> str:
    """The parent row as a heading: its first four text columns (names, numbers, currency) and its
    status in words; never its database id."""
    parts = [text(record.get(c.key)) for c in data.table.columns
             if c.type == "string" and not labels.is_coded(c.key) and not labels.is_internal_id(c.key)
             and c.key != data.section and c.key != "billing_period"]
    parts = [limits.field(one_line(p)) for p in parts if p][:4]
    status = labels.cell_label("status", normalize(record.get("status"))) if "status" in record else None
    if status:
        parts.append(limits.field(one_line(status)))
    return " · ".join(parts) or "—"


def _table_view(doc: ReportDocument, data: TableData, limits: TextLimits, bands: bool = False) -> TableView:
    grouped = bool(data.parent and data.group_key)
    # the section heading names the section: its column would only repeat it on every row
    # ... and database ids identify rows for machines (CSV/XLSX/JSON keep them), not for a reader
    columns = tuple(c for c in data.table.columns
                    if not (grouped and c.key in data.context_columns) and c.key != data.section
                    and not labels.is_internal_id(c.key))
    extra = [data.highlight or "", data.row_key or "", data.group_key or "", "line_type_name"]
    records = table_records(data, extra)

    def css_for(record: dict[str, Any], index: int) -> str:
        marked = bool(data.highlight and normalize(record.get(data.highlight)) is True)
        return " ".join(c for c in ("alt" if index % 2 else "", "hl" if marked else "") if c)

    view = TableView(data.key, data.table.title, [], is_child=bool(data.parent), count=len(records))
    limit = doc.sections.max_table_rows
    if data.parent and data.group_key:
        parent = doc.table(data.parent)
        by_group: dict[Any, list[dict[str, Any]]] = {}
        for record in records:
            by_group.setdefault(group_value(record.get(data.group_key)), []).append(record)
        parent_records = table_records(parent, [parent.row_key or ""]) if parent.row_key else []
        ordered = [(_group_title(parent, p, limits), members) for p in parent_records
                   if (members := by_group.pop(group_value(p.get(parent.row_key)), None))]
        leftovers = [r for members in by_group.values() for r in members]
        if leftovers:
            ordered.append(("Other", leftovers))
        left = limit
        subtotals = {group_value(k): v for k, v in data.group_totals.items()}
        for title, members in ordered:  # the first `limit` rows in the order shown
            if left <= 0:
                break
            # a group's subtotal sums all its rows: shown under the group only when all are shown,
            # and never under "Other" (rows of several keys)
            whole = len(members) <= left and members is not leftovers
            subtotal = subtotals.get(group_value(members[0].get(data.group_key))) if whole else None
            view.groups.append(GroupView(title, [_row(r, columns, css_for(r, i), limits)
                                                 for i, r in enumerate(members[:left])],
                                         [_row(subtotal, columns, "subtotal", limits)] if subtotal else []))
            left -= len(members)
        all_rows = [row for g in view.groups for row in g.rows]
    else:
        view.rows = [_row(r, columns, css_for(r, i), limits) for i, r in enumerate(records[:limit])]
        all_rows = view.rows
    if len(records) > limit:
        where = "CSV, XLSX and JSON" if data.key == (doc.definition.csv_table or doc.tables[0].key) else "XLSX and JSON"
        view.cut_note = (f"Showing the first {limit:,d} of {len(records):,d} rows; every row is in the {where} "
                         f"of this report.")
    view.totals = [_row(total, columns, "total", limits) for total in data.totals]
    layout = _widths(columns, all_rows, view.totals)
    view.size_css = layout.size_css
    view.columns = [ColumnView(c.key, c.label, c.type, _cell_css(c), width) for c, width in zip(columns, layout.widths)]
    if bands and not layout.size_css:  # PDF: plain rows stacked (bands.py), at the body size only
        widths = [c.width for c in view.columns]
        view.rows = band_rules.banded(view.rows, widths, RowView)
        for group in view.groups:  # a subtotal keeps to its last row (break-before: avoid): that row stays apart
            group.rows = band_rules.banded(group.rows, widths, RowView, last_apart=bool(group.totals))
    return view


def _sectioned(tables: list[TableData]) -> list[TableData]:
    """Tables with a `section` column, split into one titled table per value when a value other
    than the first known one occurs (one section alone keeps its plain title); the tables of
    each section stay together, in the order of `section_titles`."""
    out: list[tuple[int, int, TableData]] = []
    for position, data in enumerate(tables):
        values = set(data.rows[data.section].dropna()) if data.section and data.section in data.rows else set()
        order = list(data.section_titles)
        if not values or values <= set(order[:1]):
            out.append((0, position, data))
            continue
        for value in sorted(values, key=lambda v: order.index(v) if v in order else len(order)):
            rows = data.rows[data.rows[data.section] == value].reset_index(drop=True)
            title = f"{data.section_titles.get(value, value)} — {data.table.title}"
            table = dataclasses.replace(data.table, title=title)
            totals = [t for t in data.totals if t.get(data.section) == value]
            rank = order.index(value) if value in order else len(order)
            out.append((rank, position, dataclasses.replace(data, table=table, rows=rows, totals=totals)))
    return [data for _, _, data in sorted(out, key=lambda item: (item[0], item[1]))]


def _logo(uri: str | None) -> str | None:
    if uri and len(uri) < 2_000_000 and _LOGO.fullmatch(uri.strip()):
        return uri.strip()
    return None


def context(doc: ReportDocument, limits: TextLimits | None = None, for_print: bool = False) -> dict[str, Any]:
    """Everything the templates use, as display-ready values (`limits`: from the environment;
    `for_print`: the PDF's page, with bands and their stylesheet)."""
    limits = limits or TextLimits(settings.max_cell_chars())
    brand = safe_color(doc.branding.brand_color)
    sections = doc.sections
    parameters = [(title, limits.field(one_line(value)))
                  for title, value in labels.parameter_items(doc.definition, doc.parameters, doc.tables)]
    tables = [] if doc.no_data else [
        _table_view(doc, t, limits, bands=for_print) for t in _sectioned(doc.tables) if not t.parent or sections.line_items
    ]
    charts = []
    if sections.charts and not doc.no_data:
        for chart in doc.charts:
            series = {bar.series for bar in chart.bars}
            panels = series_svgs(chart, color=brand, width=1000 if len(series) == 1 else 620)
            if panels:
                charts.append({
                    "title": chart.title,
                    "value_label": chart.value_label,
                    "wide": len(panels) == 1,
                    "panels": [{"series": name, "svg": Markup(svg)} for name, svg in panels],
                })
    cards = [
        {"title": limits.field(c.title), "value": limits.field(c.value), "lines": [limits.field(line) for line in c.lines],
         "tone": c.tone if c.tone in TONES else "neutral"}
        for c in doc.cards
    ] if sections.summary else []
    return {
        "report": {
            "type": doc.report_type,
            "name": doc.definition.name,
            "description": doc.definition.description,
        },
        "organization": {"id": doc.organization_id, "name": limits.field(doc.organization_name)},
        "period": {
            "key": doc.period_key,
            "label": doc.period_label,
            "start": iso_date(doc.period_start),
            "end": iso_date(doc.period_end),
        },
        "generated_at": display_timestamp(doc.generated_at),
        "generated_at_iso": iso_timestamp(doc.generated_at),
        "running_head": truncate(one_line(f"{doc.definition.name} · {doc.organization_name} · {doc.period_label}"), 140),
        "parameters": parameters,
        "branding": {
            "logo": _logo(doc.branding.logo_data_uri),
            "header_text": limits.field(doc.branding.header_text or ""),
            "footer_text": limits.field(doc.branding.footer_text or ""),
        },
        "theme": {
            "brand": brand,
            "brand_light": tint(brand, 0.88),
            "brand_faint": tint(brand, 0.95),
        },
        "sections": {"summary": sections.summary, "line_items": sections.line_items, "charts": sections.charts},
        "cards": cards,
        "charts": charts,
        "tables": tables,
        "no_data": NO_DATA_NOTE if doc.no_data else "",  # shown in place of the charts and tables
        "for_print": for_print,
    }


def template_name(doc: ReportDocument) -> str:
    name = doc.template or "report.html"
    if not _TEMPLATE_NAME.fullmatch(name) or name == "base.html":
        raise ValueError(f"not a report template name: {name!r}")
    return name


def render_text(doc: ReportDocument, *, for_print: bool = False) -> str:
    """The page; `for_print` (the PDF) adds the layout breaks to long unbroken runs."""
    limits = TextLimits(settings.max_cell_chars(), breaks=for_print)
    return environment().get_template(template_name(doc)).render(context(doc, limits, for_print=for_print))


def render(doc: ReportDocument) -> bytes:
    return render_text(doc).encode("utf-8")
