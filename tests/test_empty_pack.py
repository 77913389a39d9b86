"""Every organization that existed in the month gets the monthly pack, "no data" files included.

October 2026, all seven report types, on a real database and a local store:
- Helios (created 2026-01-05) has one row in every report type;
- Quiet Org (created 2026-03-01) has none: it gets every file, each saying "No data for this period";
- Newcomer (created 2026-11-15, after the month) has none and did not exist then: no files.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.defs.exports.invoice_aging_report import invoice_aging_report
from reporting_dagster.defs.exports.invoice_comparison_report import invoice_comparison_report
from reporting_dagster.defs.exports.invoice_expected_report import invoice_expected_report
from reporting_dagster.defs.exports.invoice_received_report import invoice_received_report
from reporting_dagster.defs.exports.invoice_to_client_report import invoice_to_client_report
from reporting_dagster.defs.exports.project_profitability_report import project_profitability_report
from reporting_dagster.defs.exports.timesheet_report import timesheet_report
from reporting_dagster.defs.invoices import client_extracts, comparison, extracts, listings
from reporting_dagster.defs.receivables import aging
from reporting_dagster.defs.receivables import extracts as receivable_extracts
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.defs.time import extracts as time_extracts
from reporting_dagster.defs.time import profitability, timesheet
from reporting_dagster.lib.infra import db
from reporting_dagster.lib.operations import export as exporter
from reporting_dagster.lib.infra.paths import read_sql
from tests.listing_builders import ListingPlatform
from tests.time_builders import TimePlatform

PARTITION = "2026-10"
STAMP = "2026-11-01T06:00:00+00:00"
NOTE = "No data for this period"
REPORT_TYPES = ("invoice_to_client", "invoice_expected", "invoice_received", "invoice_comparison",
                "invoice_aging", "timesheet", "project_profitability")
UTC = dt.timezone.utc


class PackPlatform(ListingPlatform, TimePlatform):
    """Invoices and time entries in one builder."""


def pack_assets():
    return [
        extracts.expected_invoice_lines, extracts.received_invoice_lines, extracts.stored_invoice_comparisons,
        client_extracts.client_invoice_lines, comparison.invoice_comparison,
        listings.invoice_to_client, listings.invoice_expected, listings.invoice_received,
        receivable_extracts.receivable_invoices, aging.invoice_aging,
        time_extracts.time_entries, time_extracts.project_customers, timesheet.timesheet,
        profitability.project_profitability,
        invoice_to_client_report, invoice_expected_report, invoice_received_report, invoice_comparison_report,
        invoice_aging_report, timesheet_report, project_profitability_report,
    ]


@pytest.fixture
def month(fresh_engine):
    """One row of each kind for Helios in October 2026; nothing for the two other organizations."""
    p = PackPlatform(fresh_engine)
    period = p.period(2026, 10)
    helios = p.org("Helios Solar", dt.datetime(2026, 1, 5, tzinfo=UTC))
    quiet = p.org("Quiet <Org>", dt.datetime(2026, 3, 1, tzinfo=UTC))  # markup in the name: escaped
    newcomer = p.org("Newcomer", dt.datetime(2026, 11, 15, tzinfo=UTC))
    proj = p.project(helios, "Solar North")
    client = p.counterparty("Eskom")
    ppa = p.contract(helios, proj, "PPA North", client)
    om = p.contract(helios, proj, "O&M North")
    # a client invoice issued 2026-10-05, due 2026-11-05: open (Current) at the as-of date 2026-10-31
    p.client_invoice(period, ppa, proj, "USD", [("CAPACITY", "Capacity", "1", "500.00", "500.00", None)], "INV-1",
                     counterparty_id=client, invoice_date=dt.date(2026, 10, 5), due_date=dt.date(2026, 11, 5))
    p.expected_lines(period, om, proj, "USD", [("OM_FEE", "Monthly fee", "1", "1000.00", "1000.00")])
    p.received_lines(period, om, proj, "USD", [("OM_FEE", "Monthly fee", "1", "1000.00", "1000.00")], "V-1")
    member = p.member(helios, "Bea Rossi", "bea@helios.example")
    p.entry(p.task(proj), member, dt.date(2026, 10, 12), 60, True, ("100.00", "USD"), ("40.00", "USD"))
    return {"helios": helios, "quiet": quiet, "newcomer": newcomer}


def _materialize(fresh_url, store_dir, **config):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(store_dir))}
    ops = {f"{rt}_report": {"config": {"generated_at": STAMP, **config}} for rt in REPORT_TYPES}
    with dg.instance_for_test() as instance:
        return dg.materialize(pack_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config={"ops": ops}, raise_on_error=False)


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, organization_id, report_type::text AS rt, report_status::text AS status, "
            "file_format::text AS fmt, file_path, record_count, summary_data "
            "FROM generated_report ORDER BY id")).mappings().all()


def _csv(data: bytes) -> tuple[list[str], list[list[str]]]:
    """(the five metadata lines, the rows after them)."""
    text = data.decode("utf-8-sig")  # the CSV starts with a UTF-8 BOM
    assert text.endswith("\r\n") and text.count("\r\n") == len(text.splitlines())  # CRLF everywhere
    lines = text.split("\r\n")
    return lines[:5], list(csv.reader(io.StringIO("\r\n".join(lines[5:]))))


def _pdf_text(data: bytes) -> str:
    return " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).split())


def _readable(fmt: str, data: bytes) -> str:
    """The text a person or a program reads from the file."""
    if fmt == "pdf":
        return _pdf_text(data)
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(data))
        return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    return data.decode("utf-8")


def _summary_cells(data: bytes) -> list[str]:
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames[0] == "Summary" and len(wb.sheetnames) >= 2  # the table sheets are still there
    return [str(c.value) for row in wb["Summary"].iter_rows() for c in row if c.value is not None]


def test_an_organization_without_rows_gets_no_data_files_of_every_report_type(fresh_engine, fresh_url, month,
                                                                                tmp_path):
    result = _materialize(fresh_url, tmp_path)
    assert result.success

    rows = _rows(fresh_engine)
    assert {r["status"] for r in rows} == {"completed"}
    assert {r["organization_id"] for r in rows} == {month["helios"], month["quiet"]}  # never the newcomer
    assert len(rows) == 70  # 7 report types × 2 organizations × 5 formats

    quiet = [r for r in rows if r["organization_id"] == month["quiet"]]
    assert len(quiet) == 35 and {r["record_count"] for r in quiet} == {0}
    assert all(r["summary_data"]["no_data"] is True for r in quiet)
    for rt in REPORT_TYPES:
        files = {r["fmt"]: (tmp_path / r["file_path"]).read_bytes() for r in quiet if r["rt"] == rt}
        assert set(files) == {"pdf", "csv", "xlsx", "json", "html"}, rt

        meta, table = _csv(files["csv"])
        assert meta[0].startswith("# ") and meta[3] == "# Generated: 2026-11-01T06:00:00+00:00", rt
        assert len(table) == 2 and len(table[0]) > 1 and table[1] == [f"# {NOTE}"], rt  # header, then the note

        assert NOTE in _summary_cells(files["xlsx"]), rt

        doc = json.loads(files["json"])
        assert doc["no_data"] is True and doc["note"] == NOTE and doc["rows"] == [], rt
        assert doc["organization"] == {"id": month["quiet"], "name": "Quiet <Org>"}, rt

        pdf = _pdf_text(files["pdf"])
        assert NOTE in pdf and "Quiet <Org>" in pdf and "October 2026" in pdf, rt

        html = files["html"].decode("utf-8")
        assert f'<p class="no-data-title">{NOTE}</p>' in html and "<table" not in html, rt
        assert "Quiet &lt;Org&gt;" in html and "Quiet <Org>" not in html, rt

    # Helios has one row of each kind (worked by hand): its files are real reports, no note
    helios = [r for r in rows if r["organization_id"] == month["helios"]]
    assert {r["rt"]: r["record_count"] for r in helios} == {rt: 1 for rt in REPORT_TYPES}
    for r in helios:
        data = (tmp_path / r["file_path"]).read_bytes()
        assert NOTE not in _readable(r["fmt"], data), (r["rt"], r["fmt"])
        assert "no_data" not in r["summary_data"]
        if r["fmt"] == "json":
            assert json.loads(data)["no_data"] is False

    for rt in REPORT_TYPES:
        meta = result.asset_materializations_for_node(f"{rt}_report")[0].metadata
        assert (meta["organizations"].value, meta["organizations_without_data"].value, meta["files"].value) == (2, 1, 10)


def test_switched_off_only_organizations_with_rows_get_files(fresh_engine, fresh_url, month, tmp_path):
    result = _materialize(fresh_url, tmp_path, include_empty_organizations=False, formats=["csv", "json"])
    assert result.success
    rows = _rows(fresh_engine)
    assert {r["organization_id"] for r in rows} == {month["helios"]}
    assert len(rows) == 14  # 7 report types × 2 formats, Helios only
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and f"reports/{month['quiet']}/" in p.as_posix()]
    meta = result.asset_materializations_for_node("timesheet_report")[0].metadata
    assert (meta["organizations"].value, meta["organizations_without_data"].value) == (1, 0)


def test_organizations_extract_says_who_existed_at_the_period_end(fresh_engine):
    """Created on the last day (any time, UTC) existed; created at 00:00 UTC the next day did not."""
    with fresh_engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE organization ALTER COLUMN created_at DROP NOT NULL")  # an older platform
    p = PackPlatform(fresh_engine)
    last_second = p.org("Last second", dt.datetime(2026, 10, 31, 23, 59, 59, tzinfo=UTC))
    next_day = p.org("Next day", dt.datetime(2026, 11, 1, 0, 0, 0, tzinfo=UTC))
    # 2026-11-01 01:00 at UTC+02:00 is 2026-10-31 23:00 UTC: still October
    east = p.org("East", dt.datetime(2026, 11, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))))
    with fresh_engine.begin() as conn:
        unknown = conn.execute(sa.text("INSERT INTO organization (name, created_at) VALUES ('Unknown', NULL) "
                                       "RETURNING id")).scalar_one()
    frame = db.read_frame(fresh_engine, read_sql("organizations"), {"period_end": dt.date(2026, 10, 31)})
    existed = dict(zip(frame["organization_id"], frame["existed_in_period"]))
    assert existed == {last_second: True, next_day: False, east: True, unknown: True}


def test_organizations_to_export():
    organizations = pd.DataFrame({"organization_id": [1, 2, 3], "existed_in_period": [True, True, False]})
    # 3 has rows although created later: it keeps its files; 2 existed without rows: "no data" files
    assert exporter.organizations_to_export([3], organizations, include_empty=True) == [1, 2, 3]
    assert exporter.organizations_to_export([3], organizations, include_empty=False) == [3]
    assert exporter.organizations_to_export([], organizations.iloc[0:0], include_empty=True) == []


def test_a_template_config_nested_5000_deep_stops_no_ones_pack(fresh_engine, fresh_url, month, tmp_path):
    """psycopg reads jsonb with json.loads, which raises RecursionError 5,000 levels down: every
    value the driver fetches goes through lib/jsonutil.database_loads, so the hostile template of
    one organization is a bad value of its own row, and every file of both organizations is made."""
    deep = "[" * 5000 + "]" * 5000
    with fresh_engine.begin() as conn:
        for rt in REPORT_TYPES:
            conn.execute(sa.text(
                "INSERT INTO report_template (organization_id, name, report_type, file_format, template_config) "
                "VALUES (:org, :name, CAST(:rt AS report_type), 'pdf', CAST(:config AS jsonb))"),
                {"org": month["helios"], "name": f"Deep {rt}", "rt": rt, "config": deep})
    result = _materialize(fresh_url, tmp_path)
    assert result.success
    rows = _rows(fresh_engine)
    assert {r["status"] for r in rows} == {"completed"}
    assert {r["organization_id"] for r in rows} == {month["helios"], month["quiet"]}
    assert len(rows) == 2 * len(REPORT_TYPES) * 5
