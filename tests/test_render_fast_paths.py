"""The per-column fast paths of the CSV and XLSX renderers (issue 11 item 7) give what the per-cell
rules give: the guard, money scaling and normalisation value for value, the CSV byte for byte
against the rule applied cell by cell, and the XLSX cells read back with openpyxl.
"""

from __future__ import annotations

import csv as csv_module
import datetime as dt
import io
import itertools
import random
from dataclasses import replace
from decimal import Decimal

import numpy as np
import openpyxl
import pandas as pd

from bench.formats import document
from reporting_dagster.lib.documents.catalog import Column
from reporting_dagster.lib.render import csv as csv_render
from reporting_dagster.lib.render import xlsx as xlsx_render
from reporting_dagster.lib.render.document import TableData
from reporting_dagster.lib.render.values import (
    column_money,
    column_scaler,
    csv_guard,
    csv_guard_text,
    fast_normalize,
    money,
    normalize,
    plain_cell,
    scaled,
    table_records,
)

D = Decimal
PAYLOADS = ["x;=cmd|' /C calc'!A0;", "a,=1+1", "a\t=1", "a\r\n=1", "@SUM(1)", "-2+3", "+1", "ok; @x",
            'a;"=1+1"', "\t=1", "\r=1", "x,\uff1d1+1", "Fee -5 and 3", "plain", "", "  =x", "\u2028=x"]


def test_the_guard_fast_path_equals_the_guard():
    rnd = random.Random(3)
    alphabet = "ab =+-@;,\t\r\n\"' \uff1d\uff0b\uff0d\uff201\u00a0\x0b\x0c\u2028\u3000\x85\x1f"
    fuzz = ["".join(rnd.choice(alphabet) for _ in range(rnd.randrange(0, 8))) for _ in range(20000)]
    for value in PAYLOADS + fuzz:
        assert csv_guard_text(value) == csv_guard(value), repr(value)
    assert csv_guard_text("a,=1") == "a,'=1"  # and it does guard


def test_the_column_money_equals_money():
    values = [D("0.005"), D("-0.005"), D("-0.004"), D("2500.005"), D("12500"), D("1E+3"), D("-0"), D("NaN"), 3,
              2.675, "1.005", None, D("0.08254999")]
    for fmt in (None, "0.00", "0.00###", "0.00####"):
        column = Column("x", "X", "currency", fmt)
        convert = column_money(column)
        assert [convert(v) for v in values] == [money(v, column) for v in values]
    assert column_money(None)(D("-0.004")) == "0.00"
    # equal values in other notations, twice each: each gives the text money() gives it
    same = [D("1.5"), D("1.50"), D("1.5000"), D("15E-1"), D("1.5"), D("-0"), D("0.000"), D("0E+2"), D("2.00005")] * 2
    convert = column_money(Column("q", "Q", "decimal", "0.00##"))
    assert [convert(v) for v in same] == [money(v, Column("q", "Q", "decimal", "0.00##")) for v in same]


def test_the_column_money_equals_money_on_random_decimals_of_every_size():
    rnd = random.Random(5)  # the text path trims zeros itself: any exponent, sign and size against money()
    values = [D(rnd.randrange(-10**9, 10**9)).scaleb(rnd.randrange(-8, 5)) for _ in range(5000)]
    values += [D(v) for v in ("0", "-0", "-0.00", "-0.0049", "99.995", "-99.995", "1200.00", "-1200.0000",
                              "1E-10", "-1E-10", "0E+3", "123456789012345678.5", "1E+5")]
    for fmt in (None, "0.00", "0.0000", "0.00##", "0", "0.#", "0.###", "0.##########"):
        column = Column("x", "X", "decimal", fmt)
        convert = column_money(column)
        assert [convert(v) for v in values] == [money(v, column) for v in values], fmt


def test_the_column_scaler_equals_scaled():
    values = [D("0.005"), D("-0.005"), D("2500.005"), D("12500"), D("0.0825"), D("0.08254999"), D("1E+3"),
              D("-0"), D("NaN"), 3, 2.675, "1.005", None, D("123.4567891")]
    for fmt in (None, "0.00", "0.00###", "0.00####", "0.0000", "#,##0.00"):
        column = Column("x", "X", "decimal", fmt)
        scale = column_scaler(column)
        for value in values:
            assert scale(value) == scaled(value, column) and str(scale(value)) == str(scaled(value, column))
    assert str(column_scaler(Column("p", "P", "decimal", "0.00##"))(D("0.0825"))) == "0.0825"


def test_fast_normalize_equals_normalize():
    values = [None, "x", 1, True, False, D("1.5"), D("NaN"), dt.date(2026, 1, 1), dt.datetime(2026, 1, 1, 5),
              pd.Timestamp("2026-01-01T05:00Z"), np.int64(4), np.float64("nan"), float("nan"), 2.5, pd.NA, pd.NaT,
              np.bool_(True)]
    for value in values:
        got, want = fast_normalize(value), normalize(value)
        assert type(got) is type(want) and (got == want or (got is None and want is None)), repr(value)


def _hostile(doc):
    """Strings and odd values in the typed columns of the CSV table (text in an integer, a date and
    a money column is a bad value the renderers must still write, guarded)."""
    lines = doc.table("lines")
    frame = lines.rows.copy()
    frame["header_id"] = pd.Series([*PAYLOADS[:4], 7.0, np.int64(8), D("9"), D("9.5"), True, None]
                                   + frame["header_id"].tolist()[10:], dtype=object)
    frame["description"] = pd.Series((PAYLOADS * len(frame))[:len(frame)], dtype=object)
    frame["line_total"] = pd.Series([D("-0.004"), -5, 2.5, "-1.5"] + frame["line_total"].tolist()[4:], dtype=object)
    tables = [t if t.key != "lines" else replace(lines, rows=frame) for t in doc.tables]
    invoices = tables[0]
    inv = invoices.rows.copy()
    inv["invoice_date"] = pd.Series(["=today()", dt.datetime(2026, 10, 1, 12, tzinfo=dt.timezone.utc), None]
                                    + inv["invoice_date"].tolist()[3:], dtype=object)
    tables[0] = replace(invoices, rows=inv)
    return replace(doc, tables=tables)


def _csv_cell_by_cell(doc) -> bytes:
    """The CSV as the renderer wrote it before the fast paths: each record, each cell, the rule."""
    data = doc.table(doc.definition.csv_table)
    buf = io.StringIO(newline="")
    buf.write(csv_render.BOM)  # by default (REPORTS_CSV_BOM unset)
    for line in csv_render.metadata_lines(doc):
        buf.write(line + "\r\n")
    writer = csv_module.writer(buf, dialect="excel", lineterminator="\r\n")
    writer.writerow([csv_guard(c.label) for c in data.table.columns])
    for record in table_records(data):
        row = []
        for column in data.table.columns:
            cell = plain_cell(normalize(record[column.key]), column)
            number = column.type in csv_render.NUMERIC_TYPES and csv_render._PLAIN_NUMBER.fullmatch(cell)
            row.append(cell if number else csv_guard(cell))
        writer.writerow(row)
    return buf.getvalue().encode("utf-8")


def test_the_csv_is_the_cell_by_cell_csv_byte_for_byte():
    doc = _hostile(document(25_000))  # more than two blocks of CSV_CHUNK rows
    doc.table("lines").rows.loc[3, "line_total"] = D("-1.5")  # text in a money column fails, as ever
    ours = csv_render.render(doc)
    assert ours == _csv_cell_by_cell(doc)
    rows = list(csv_module.reader(io.StringIO(ours.decode("utf-8-sig"), newline="")))
    assert rows[6][0] == "x;'=cmd|' /C calc'!A0;"  # text in the integer column: guarded
    assert rows[10][0] == "7.0" and rows[11][0] == "8" and rows[12][0] == "9" and rows[13][0] == "9.5"
    assert rows[6][-1] == "0.00" and rows[7][-1] == "-5.00" and rows[8][-1] == "2.50"  # -0.004 → 0.00, no -0.00
    assert len(rows) == 6 + 25_000  # 5 metadata lines and the header


def test_xlsx_cells_typed_guarded_and_styled():
    doc = _hostile(document(40))
    doc.table("lines").rows.loc[3, "line_total"] = D("-1.5")
    book = openpyxl.load_workbook(io.BytesIO(xlsx_render.render(doc)))
    assert book.sheetnames[0] == "Summary"
    invoices, lines = book[book.sheetnames[1]], book[book.sheetnames[2]]
    assert lines.freeze_panes == "A2" and lines.auto_filter.ref == "A1:M41"
    a2 = lines["A2"]
    assert a2.value == "x;=cmd|' /C calc'!A0;" and a2.data_type == "s" and not a2.quotePrefix
    a3 = lines["A3"]
    assert a3.value == "a,=1+1" and a3.data_type == "s"
    a6, a7, a9 = lines["A6"], lines["A7"], lines["A9"]
    # a float in an integer column is text (as `put` always did); numpy and Decimal integers are numbers
    assert a6.value == "7.0" and a7.value == 8 and lines["A8"].value == 9 and a9.value == 9.5
    assert lines["A10"].value is True
    description = lines["H2"]
    assert description.value == PAYLOADS[0] and description.data_type == "s"
    minus = [c for c in lines["H"][1:] if c.value == "-2+3"][0]
    assert minus.quotePrefix and minus.data_type == "s"
    total = lines["M2"]
    assert total.value == 0 and total.number_format == "#,##0.00"  # -0.004 half-up to the cent
    assert lines["M3"].value == -5 and lines["M4"].value == 2.5
    price = lines["L5"]
    assert price.number_format == "#,##0.00####"
    # highlighted rows: every cell filled, an empty one too; the others not
    marks = doc.table("lines").rows["has_discrepancy"].tolist()
    marked_row = 2 + marks.index(True)
    assert all(lines.cell(marked_row, c).fill.fgColor.rgb == "00FFF4D6" for c in range(1, 14))
    plain_row = 2 + marks.index(False)
    assert lines.cell(plain_row, 1).fill.patternType is None
    # dates: a real date, a zoned datetime in UTC without zone, text guarded as text
    assert invoices["D2"].value == "=today()" and invoices["D2"].data_type == "s" and invoices["D2"].quotePrefix
    assert invoices["D3"].value == dt.datetime(2026, 10, 1, 12) and invoices["D3"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert invoices["D5"].number_format == "yyyy-mm-dd" and isinstance(invoices["D5"].value, dt.datetime)
    # the totals under the invoices: bold, the first one with its top border
    last = invoices.max_row
    assert invoices.cell(last, 1).font.b and invoices.cell(last - 1, 1).border.top.style == "thin"
    assert invoices.cell(last - 1, 8).value == float(doc.tables[0].totals[0]["amount"].quantize(D("0.01")))
    widths = {k: v.width for k, v in lines.column_dimensions.items()}
    assert widths["A"] == len("x;=cmd|' /C calc'!A0;") + 3  # the longest value's display width + 3
