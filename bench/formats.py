"""XLSX and CSV renderers against the libraries they are built on, on the same generated table.

XLSX: ours (write-only openpyxl, typed and guarded cells) vs openpyxl's normal mode and its
write-only mode writing the same values with the same number formats and no guards (what the
library itself costs). CSV: ours vs pandas `DataFrame.to_csv` of the same frame. Units: cells.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from collections.abc import Callable
from decimal import Decimal

import pandas as pd

from bench.harness import Case, Size, Target, Variant
from reporting_dagster.lib.documents import catalog
from reporting_dagster.lib.render.document import ReportDocument, TableData

GENERATED = dt.datetime(2026, 11, 5, 10, 30, tzinfo=dt.timezone.utc)
HOSTILE = ['=HYPERLINK("http://x","y")', "+Solar, \"North\" Park", "Wind Farm\nPhase 2", "@SUM(1)",
           "-42", "a;=1+1", "\t=1", "Zürich 東京", ""]


def _lines(rows: int, rnd: random.Random) -> pd.DataFrame:
    """An invoice_to_client `lines` table: ids, text (a few hostile values), decimals, NULLs."""
    names = [f"Contract {i}" for i in range(200)] + HOSTILE
    data = {
        "header_id": [1000 + i // 7 for i in range(rows)],
        "invoice_number": [f"INV-{1000 + i // 7}" for i in range(rows)],
        "counterparty_name": [rnd.choice(names) for _ in range(rows)],
        "contract_name": [rnd.choice(names) for _ in range(rows)],
        "project_name": [f"Project {rnd.randrange(500)}" for _ in range(rows)],
        "currency": [rnd.choice(("EUR", "USD", "CHF")) for _ in range(rows)],
        "line_type": [rnd.choice(("ENERGY", "SERVICE", "CREDIT")) for _ in range(rows)],
        "description": [rnd.choice(("Energy, \"peak\" hours", "Service fee", "-Credit note", f"Line {i}"))
                        for i in range(rows)],
        "metered_quantity": [None if i % 5 else Decimal(rnd.randrange(10**6)) / 1000 for i in range(rows)],
        "metered_unit": [None if i % 5 else "kWh" for i in range(rows)],
        "quantity": [Decimal(rnd.randrange(1, 10**5)) / 100 for _ in range(rows)],
        "unit_price": [Decimal(rnd.randrange(1, 10**7)) / 10**5 for _ in range(rows)],
        "line_total": [Decimal(rnd.randrange(-10**6, 10**8)) / 1000 for _ in range(rows)],
    }
    frame = pd.DataFrame(data)
    for key in ("metered_quantity", "quantity", "unit_price", "line_total"):
        frame[key] = pd.Series(data[key], dtype=object)
    frame["has_discrepancy"] = [i % 11 == 0 for i in range(rows)]
    return frame


def _invoices(count: int, rnd: random.Random) -> pd.DataFrame:
    start = dt.date(2026, 10, 1)
    data = {
        "invoice_number": [f"INV-{1000 + i}" for i in range(count)],
        "counterparty_name": [rnd.choice(HOSTILE + ["Acme"]) for _ in range(count)],
        "contract_name": [f"Contract {i % 200}" for i in range(count)],
        "invoice_date": [start + dt.timedelta(days=i % 31) for i in range(count)],
        "due_date": [None if i % 9 == 0 else start + dt.timedelta(days=30 + i % 31) for i in range(count)],
        "status": [rnd.choice(("issued", "paid", "void")) for _ in range(count)],
        "currency": [rnd.choice(("EUR", "USD")) for _ in range(count)],
        "amount": [Decimal(rnd.randrange(10**7)) / 100 for _ in range(count)],
        "lines_total": [Decimal(rnd.randrange(10**7)) / 100 for _ in range(count)],
        "difference": [Decimal(rnd.randrange(-100, 100)) / 100 for _ in range(count)],
    }
    frame = pd.DataFrame(data)
    for key in ("invoice_date", "due_date", "amount", "lines_total", "difference"):
        frame[key] = pd.Series(data[key], dtype=object)
    frame["has_discrepancy"] = [d != 0 for d in data["difference"]]
    return frame


def document(line_rows: int, seed: int = 11) -> ReportDocument:
    """An invoice_to_client document: `line_rows` detail lines (13 columns, the CSV's table) and
    one invoice per 7 lines (10 columns), totals per currency, highlighted rows."""
    rnd = random.Random(seed)
    definition = catalog.CATALOG["invoice_to_client"]
    lines = _lines(line_rows, rnd)
    invoices = _invoices(max(line_rows // 7, 1), rnd)
    totals = [{"contract_name": f"Total {cur}", "currency": cur,
               "amount": sum(invoices.loc[invoices.currency == cur, "amount"], Decimal(0))}
              for cur in ("EUR", "USD")]
    return ReportDocument(
        definition=definition, organization_id=7, organization_name="Acme Energy Zürich",
        period_key="2026-10", period_label="October 2026", period_start=dt.date(2026, 10, 1),
        period_end=dt.date(2026, 10, 31), generated_at=GENERATED,
        parameters={"billing_period": "2026-10", "client": "=cmd|x"},
        summary={"invoices": len(invoices), "lines": line_rows, "currencies": ["EUR", "USD"],
                 "totals": {"EUR": {"amount": totals[0]["amount"], "invoices": 1}}},
        tables=[TableData(definition.table("invoices"), invoices, totals=totals, highlight="has_discrepancy"),
                TableData(definition.table("lines"), lines, highlight="has_discrepancy")],
    )


def cell_count(doc: ReportDocument, tables: list[str] | None = None) -> int:
    return sum(len(t.rows) * len(t.table.columns) for t in doc.tables if tables is None or t.key in tables)


# --- variants (each returns the callable the harness times; the document is built untimed) ---

XLSX_LINES, XLSX_LINES_HEAVY = 17_000, 70_000  # ~245k cells (issue 11's 242k) / ~1M cells
CSV_LINES, CSV_LINES_HEAVY = 123_000, 500_000  # ~1.6M cells (issue 11's 1.6M) / ~6.5M cells


def _plain_rows(doc: ReportDocument):
    """Per table: its columns and rows of plain values (what a baseline writes, prepared untimed)."""
    from reporting_dagster.lib.render.values import normalize

    out = []
    for data in doc.tables:
        columns = data.table.columns
        rows = [[normalize(v) for v in values] for values in
                zip(*(data.rows[c.key].tolist() for c in columns))]
        out.append((data.table.title, columns, rows))
    return out


def xlsx_ours(lines: int) -> Callable[[], dict]:
    from reporting_dagster.lib.render import xlsx

    doc = document(lines)

    def timed() -> dict:
        return {"units": cell_count(doc), "bytes": len(xlsx.render(doc))}

    return timed


def _openpyxl(lines: int, write_only: bool) -> Callable[[], dict]:
    from openpyxl import Workbook
    from openpyxl.cell.cell import WriteOnlyCell

    from reporting_dagster.lib.render.values import MONEY_TYPES

    doc = document(lines)
    tables = _plain_rows(doc)
    formats = {"date": "yyyy-mm-dd", **{t: "#,##0.00" for t in MONEY_TYPES}}

    def timed() -> dict:
        wb = Workbook(write_only=write_only)
        if not write_only:
            wb.remove(wb.active)
        for title, columns, rows in tables:
            ws = wb.create_sheet(title[:31])
            fmts = [formats.get(c.type) for c in columns]
            if write_only:
                ws.append([c.label for c in columns])
                for row in rows:
                    cells = []
                    for value, fmt in zip(row, fmts):
                        cell = WriteOnlyCell(ws, value)
                        if fmt and value is not None:
                            cell.number_format = fmt
                        cells.append(cell)
                    ws.append(cells)
            else:
                for col, c in enumerate(columns, 1):
                    ws.cell(1, col, c.label)
                for r, row in enumerate(rows, 2):
                    for col, (value, fmt) in enumerate(zip(row, fmts), 1):
                        cell = ws.cell(r, col, value)
                        if fmt and value is not None:
                            cell.number_format = fmt
        buf = io.BytesIO()
        wb.save(buf)
        return {"units": cell_count(doc), "bytes": len(buf.getvalue())}

    return timed


def xlsx_openpyxl_normal(lines: int) -> Callable[[], dict]:
    return _openpyxl(lines, write_only=False)


def xlsx_openpyxl_write_only(lines: int) -> Callable[[], dict]:
    return _openpyxl(lines, write_only=True)


def csv_ours(lines: int) -> Callable[[], dict]:
    from reporting_dagster.lib.render import csv

    doc = document(lines)

    def timed() -> dict:
        return {"units": cell_count(doc, ["lines"]), "bytes": len(csv.render(doc))}

    return timed


def csv_pandas(lines: int) -> Callable[[], dict]:
    doc = document(lines)
    data = doc.table("lines")
    frame = data.rows[[c.key for c in data.table.columns]]

    def timed() -> dict:
        return {"units": cell_count(doc, ["lines"]), "bytes": len(frame.to_csv(index=False).encode("utf-8"))}

    return timed


def cases(size: Size) -> list[Case]:
    xlsx_args = {"lines": XLSX_LINES_HEAVY if size.heavy else XLSX_LINES}
    csv_args = {"lines": CSV_LINES_HEAVY if size.heavy else CSV_LINES}
    return [
        Case("formats_xlsx", "cells", (
            Variant("ours", "bench.formats:xlsx_ours", xlsx_args),
            Variant("openpyxl_normal", "bench.formats:xlsx_openpyxl_normal", xlsx_args),
            Variant("openpyxl_write_only", "bench.formats:xlsx_openpyxl_write_only", xlsx_args),
        ), (Target("speed_ratio", ">=", 1.0, baseline="openpyxl_normal"),),
            note="invoice_to_client document: typed, formatted, guarded cells vs the same values plainly"),
        Case("formats_csv", "cells", (
            Variant("ours", "bench.formats:csv_ours", csv_args),
            Variant("pandas_to_csv", "bench.formats:csv_pandas", csv_args),
        ), (Target("time_ratio", "<=", 3.0, baseline="pandas_to_csv"),),
            note="the invoice_to_client lines table: guarded, 2-decimal money vs pandas to_csv of the frame"),
    ]
