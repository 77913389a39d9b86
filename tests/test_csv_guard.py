"""The CSV formula guard per cell content (issue 10 item 6), on real files from a real database.

Hostile strings land in a client invoice's lines, its contract and its client (the request path
renders the CSV and the XLSX); a receivables aging request for a client with a hostile name puts
that name into the CSV's `# Parameters:` metadata line. Each CSV is read back with the csv
module and also split the way a spreadsheet might split it (on `;`, `,`, tab and line breaks,
whatever the quoting): no field starts with a formula character unless it is a plain number,
and the negative money values stay numbers (`-5.00`). The XLSX holds every payload as a text
cell, exactly, and no formula at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import openpyxl
import pytest

from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.render.values import csv_guard
from reporting_dagster.lib.requests.run import run_request
from tests.builders import extract_reader
from tests.request_builders import RequestPlatform

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
PAYLOADS = [
    "x;=cmd|' /C calc'!A0;",
    "a,=1+1",
    "a\t=1",
    "a\r\n=1",
    "@SUM(1)",
    "-2+3",
    '=HYPERLINK("http://evil.example","click")',
    "+1",
    "ok; @x",
    'a;"=1+1"',
    "\t=1",
    "\r=1",
    "x,\uff1d1+1",  # full-width equals sign
    "Fee -5 and 3",  # harmless: a starter not at a split point is left alone
]
STARTERS = set("=+-@\uff1d\uff0b\uff0d\uff20")
NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")


def _fields_after_every_split(text: str) -> list[str]:
    """Every field a spreadsheet could make of the file: lines split on CR/LF, then on each
    separator alone (the file's quoting ignored), leading spaces and quotes dropped."""
    fields = []
    for line in re.split(r"\r\n|\r|\n", text):
        for sep in (";", ",", "\t"):
            fields += [f.lstrip(' "') for f in line.split(sep)]
    return fields


def _assert_no_formula_anywhere(text: str) -> None:
    for row in csv.reader(io.StringIO(text, newline="")):
        for field in row:
            stripped = field.lstrip(' "')
            assert not stripped or stripped[0] not in STARTERS or NUMBER.fullmatch(stripped), field
    for field in _fields_after_every_split(text):
        assert not field or field[0] not in STARTERS or NUMBER.fullmatch(field), field


@pytest.fixture
def hostile(fresh_engine):
    p = RequestPlatform(fresh_engine)
    period = p.period(2026, 10)
    org = p.org("Helios")
    proj = p.project(org, "North")
    client = p.counterparty("x;=cmd|' /C calc'!A0;")
    contract = p.contract(org, proj, "a,=1+1", client)
    lines = [("ENERGY", text, "1", "10.00", "10.00", None) for text in PAYLOADS]
    lines.append(("LD_CREDIT", "-credit;=1", "1", "-5.00", "-5.00", None))
    p.client_invoice(period, contract, proj, "USD", lines, "@INV-1", counterparty_id=client,
                     invoice_date=dt.date(2026, 10, 1), due_date=dt.date(2026, 10, 15))
    return {"p": p, "org": org, "client": client}


def _request(hostile, tmp_path, report_type, fmt, **values):
    p = hostile["p"]
    rid = p.request(hostile["org"], report_type, fmt, **values)
    store = LocalStore(tmp_path)
    outcome = run_request(p.engine, store, extract_reader(p.engine), rid, run_id=f"run-{rid}", now=NOW)
    assert outcome.outcome == "completed", outcome.message
    return store.get(outcome.stored.key)


def test_invoice_lines_csv_has_no_formula_after_any_split(hostile, tmp_path):
    text = _request(hostile, tmp_path, "invoice_to_client", "csv",
                    parameters={"billing_period": "2026-10"}).decode("utf-8-sig")
    _assert_no_formula_anywhere(text)
    rows = list(csv.reader(io.StringIO(text.split("\r\n", 5)[5], newline="")))
    header, body = rows[0], rows[1:]
    description = {r[header.index("Description")]: r for r in body}
    # by hand: a ' before each starter at a split point; tabs become spaces; CR/LF stay
    assert "x;'=cmd|' /C calc'!A0;" in description
    assert "a,'=1+1" in description and "a '=1" in description and "a\r\n'=1" in description
    assert "'@SUM(1)" in description and "'-2+3" in description and "'+1" in description
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in description
    assert "ok; '@x" in description and 'a;"\'=1+1"' in description
    assert "' '=1" in description and "'\r'=1" in description and "x,'\uff1d1+1" in description
    assert "Fee -5 and 3" in description
    credit = description["'-credit;'=1"]
    assert credit[header.index("Unit price")] == "-5.00" and credit[header.index("Line total")] == "-5.00"
    first = body[0]
    assert first[header.index("Invoice #")] == "'@INV-1"
    assert first[header.index("Client")] == "x;'=cmd|' /C calc'!A0;"
    assert first[header.index("Contract")] == "a,'=1+1"
    assert first[header.index("Invoice ID")].isdigit()  # an integer column: a number, untouched
    assert not any("\t" in f for r in rows for f in r)


def test_a_hostile_parameter_in_the_metadata_lines_is_guarded(hostile, tmp_path):
    text = _request(hostile, tmp_path, "invoice_aging", "csv",
                    parameters={"as_of_date": "2026-10-31", "customer_id": hostile["client"]}).decode("utf-8-sig")
    _assert_no_formula_anywhere(text)
    parameters = text.split("\r\n")[4]
    assert parameters.startswith("# Parameters: ") and "customer_name=x;'=cmd|' /C calc'!A0;" in parameters


def test_xlsx_holds_every_payload_as_text_and_no_formula(hostile, tmp_path):
    wb = openpyxl.load_workbook(io.BytesIO(_request(hostile, tmp_path, "invoice_to_client", "xlsx",
                                                    parameters={"billing_period": "2026-10"})))
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None]
    assert cells and all(c.data_type != "f" for c in cells)
    by_value = {c.value: c for c in cells}
    for payload in [*PAYLOADS, "x;=cmd|' /C calc'!A0;", "a,=1+1", "@INV-1", "-credit;=1"]:
        as_read = re.sub(r"\r\n?", "\n", payload)  # XML reads line ends back as LF
        assert by_value[as_read].data_type == "s", payload  # exactly the stored text, as a string
    amounts = [c for c in cells if c.value == -5]
    assert amounts and all(c.data_type == "n" for c in amounts)


@pytest.mark.parametrize("value, guarded", [
    ("plain text", "plain text"),
    ("INV-2026-10", "INV-2026-10"),  # a hyphen inside a word is not a split point
    ("2026-11-05T10:30:00+00:00", "2026-11-05T10:30:00+00:00"),
    ("a ; -b", "a ; '-b"),
    ("", ""),
])
def test_guard_leaves_ordinary_text_alone(value, guarded):
    assert csv_guard(value) == guarded
