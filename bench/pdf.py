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

from bench.harness import Case, Size, Target, Variant
from bench.timesheet_rows import document

TEMPLATES = Path(__file__).parent / "templates"
DEFAULT_ROWS = 2_000
HEAVY_ROWS = (10_000, 20_000)


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


MIN_ROWS_PER_S = 500
MIN_SPEED_RATIO = 5.0  # ours ÷ the seed-style template's rows/s
MAX_PEAK_RSS_MB_10K = 700


def cases(size: Size) -> list[Case]:
    sizes = (DEFAULT_ROWS, *HEAVY_ROWS) if size.heavy else (DEFAULT_ROWS,)
    out = []
    for rows in sizes:
        targets = [Target("units_per_s", ">=", MIN_ROWS_PER_S),
                   Target("speed_ratio", ">=", MIN_SPEED_RATIO, baseline="seed-style template")]
        if rows == 10_000:
            targets.append(Target("peak_rss_mb", "<=", MAX_PEAK_RSS_MB_10K))
        out.append(Case(
            f"pdf_timesheet_{rows}", "rows",
            (Variant("ours", "bench.pdf:ours", {"rows": rows}),
             Variant("seed-style template", "bench.pdf:seed_style", {"rows": rows})),
            tuple(targets), repeat=1 if rows > DEFAULT_ROWS else None,
            note=f"{rows:,d} detail rows, one month, in memory (bench/timesheet_rows.py)"))
    return out
