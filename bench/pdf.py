"""PDF: our timesheet PDF against a seed-style template, on the same rows (units: detail rows).

Both render the same in-memory document (bench/timesheet_rows.py: the real rules and builder).
Ours is `lib/render/pdf.render` with the detail cut lifted to the document's size, so every
row is laid out; the baseline is bench/templates/seed_timesheet.html (a plain port of seed
002's template: one table of every detail row, a <span> per cell) through WeasyPrint with its
default settings. Default size 2,000 rows; --heavy adds 10,000 and 20,000 (linearity).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from bench.timesheet_rows import document

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_ROWS = 2_000
HEAVY_ROWS = (10_000, 20_000)


def _pages(data: bytes) -> int:
    return data.count(b"/Type /Page\n") or data.count(b"/Type /Page")


def ours(rows: int) -> Callable[[], dict[str, Any]]:
    """The shipped renderer on a `rows`-row document, nothing cut."""
    from reporting_dagster.lib.render import pdf

    doc = document(rows)
    doc.sections = dataclasses.replace(doc.sections, max_table_rows=rows)
    pdf.html_to_pdf("<p>warm-up</p>")  # fonts and imports outside the timing, as for the baseline

    def run() -> dict[str, Any]:
        data = pdf.render(doc)
        return {"units": rows, "bytes": len(data)}

    return run


def seed_html(doc) -> str:
    """The seed-style page of the document's detail table (every row, flat)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    from reporting_dagster.lib.render.values import MONEY_TYPES, display_cell, table_records

    data = doc.table("detail")
    columns = [{"key": c.key, "label": c.label, "numeric": c.type in MONEY_TYPES or c.type == "integer", "column": c}
               for c in data.table.columns]
    rows = [{c["key"]: display_cell(r.get(c["key"]), c["column"]) for c in columns} for r in table_records(data)]
    totals = {c["key"]: display_cell(data.totals[0].get(c["key"]), c["column"])
              for c in columns if data.totals and c["key"] in data.totals[0]}
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(default=True))
    return env.get_template("seed_timesheet.html").render(
        report={"name": doc.definition.name}, generated_at=doc.generated_at.strftime("%d %b %Y %H:%M"),
        parameters=doc.parameters, summary=doc.summary, columns=columns, rows=rows, totals=totals,
        brand_color=doc.branding.brand_color, footer_text=doc.branding.footer_text or "")


def seed_style(rows: int) -> Callable[[], dict[str, Any]]:
    """The seed-style template on the same rows, WeasyPrint defaults."""
    from weasyprint import HTML

    doc = document(rows)
    HTML(string="<p>warm-up</p>").write_pdf()

    def run() -> dict[str, Any]:
        data = HTML(string=seed_html(doc)).write_pdf()
        return {"units": rows, "bytes": len(data)}

    return run


def cases(size) -> list:
    from bench.harness import Case, Variant

    sizes = (DEFAULT_ROWS, *HEAVY_ROWS) if size.heavy else (DEFAULT_ROWS,)
    return [
        Case(f"pdf timesheet {rows:,d} detail rows", unit="rows", variants=[
            Variant("ours", target="bench.pdf:ours", args={"rows": rows}),
            Variant("seed-style template", target="bench.pdf:seed_style", args={"rows": rows}),
        ])
        for rows in sizes
    ]
