"""The time slice (time_entries → timesheet / project_profitability → their reports) materialized
for one partition on a real database and a local store, with an organization-isolation canary."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import dagster as dg
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.defs.exports.project_profitability_report import project_profitability_report
from reporting_dagster.defs.exports.timesheet_report import timesheet_report
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.defs.time import extracts, profitability, timesheet
from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.platform_schema import extract_sql
from tests.keys import expected_key
from tests.time_builders import TimePlatform

PARTITION = "2026-10"
CANARY = "CANARY-4417"


@pytest.fixture
def world(fresh_engine):
    """Helios: two members (one without a name), two projects, USD and EUR; a canary organization."""
    p = TimePlatform(fresh_engine)
    p.period(2026, 10)
    helios = p.org("Helios Energy")
    north = p.project(helios, "=North Farm")  # formula-like text: guarded in CSV, a string in XLSX
    east = p.project(helios, "East Wind")
    p.customer_of(north, p.counterparty("Zeta Power"))
    p.customer_of(north, p.counterparty("acme Energy"))
    bea = p.member(helios, "Bea Rossi", "bea@helios.example")
    desk = p.member(helios, None, "field.desk@helios.example")
    t_north, t_east = p.task(north), p.task(east)
    # North, USD: 90 min billable at 100.00 (rev 150.00, cost 40 × 1.5 = 60.00) on the first day;
    # 60 min non-billable with cost 40.00 (cost 40.00) on the last day
    p.entry(t_north, bea, dt.date(2026, 10, 1), 90, True, ("100.00", "USD"), ("40.00", "USD"))
    p.entry(t_north, desk, dt.date(2026, 10, 31), 60, False, None, ("40.00", "USD"))
    # East, EUR: 45 min billable at 120.00 (rev 90.00), no cost
    p.entry(t_east, desk, dt.date(2026, 10, 15), 45, True, ("120.00", "EUR"))
    # outside the month: the day before and the day after
    p.entry(t_north, bea, dt.date(2026, 9, 30), 600, True, ("100.00", "USD"), ("40.00", "USD"))
    p.entry(t_east, bea, dt.date(2026, 11, 1), 600, True, ("120.00", "EUR"))

    canary = p.org(f"{CANARY} Org")
    cproj = p.project(canary, f"{CANARY} project")
    p.customer_of(cproj, p.counterparty(f"{CANARY} customer"))
    cmember = p.member(canary, f"{CANARY} person", "canary@else.example")
    p.entry(p.task(cproj, f"{CANARY} task"), cmember, dt.date(2026, 10, 20), 555, True,
            ("9876.54", "USD"), ("1234.56", "USD"))
    p.template(helios, "timesheet", brand_color="#0B6E4F", footer_text="<b>Confidential</b>")
    return {"helios": helios, "canary": canary, "north": north, "engine": fresh_engine}


def assets():
    return [extracts.time_entries, extracts.project_customers, timesheet.timesheet,
            profitability.project_profitability, timesheet_report, project_profitability_report]


def _materialize(fresh_url, store_dir):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(store_dir))}
    stamp = {"config": {"generated_at": "2026-11-01T06:00:00+00:00"}}
    with dg.instance_for_test() as instance:
        return dg.materialize(assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config={"ops": {"timesheet_report": stamp, "project_profitability_report": stamp}},
                              raise_on_error=False)


def _readable(fmt: str, data: bytes) -> str:
    """The text a person or a program reads from the file (PDF text, XLSX cell values)."""
    if fmt == "pdf":
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(data))
        return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    return data.decode("utf-8")


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, organization_id, report_type::text AS type, report_status::text AS status, "
            "file_format::text AS fmt, file_path, record_count, summary_data, parameters "
            "FROM generated_report ORDER BY id")).mappings().all()


def test_extract_includes_both_ends_of_the_range(world):
    frame = db.read_frame(world["engine"], extract_sql(world["engine"], "time_entries"),
                          {"date_from": dt.date(2026, 10, 1), "date_to": dt.date(2026, 10, 31)})
    assert sorted(frame["duration_minutes"]) == [45, 60, 90, 555]  # 09-30 and 11-01 (600 each) excluded
    assert set(frame["billing_rate_currency"].dropna()) == {"USD", "EUR"}  # CHAR(3) trimmed
    assert set(frame["organization_id"]) == {world["helios"], world["canary"]}
    customers = db.read_frame(world["engine"], extract_sql(world["engine"], "project_customers"),
                              {"date_from": dt.date(2026, 10, 1), "date_to": dt.date(2026, 10, 31)})
    assert sorted(customers.loc[customers["project_id"] == world["north"], "customer_name"]) == ["Zeta Power", "acme Energy"]


def test_time_slice_writes_every_format_for_every_organization(world, fresh_url, tmp_path):
    result = _materialize(fresh_url, tmp_path)
    assert result.success
    rows = _rows(world["engine"])
    assert len(rows) == 20  # 2 organizations × 2 report types × 5 formats
    assert {r["status"] for r in rows} == {"completed"}
    for r in rows:
        assert r["file_path"] == expected_key(world["engine"], r["organization_id"], "2026-10", r["type"], r["id"], r["fmt"])
    files = {(r["organization_id"], r["type"], r["fmt"]): (tmp_path / r["file_path"]).read_bytes() for r in rows}

    h = world["helios"]
    # timesheet JSON: 90 + 60 + 45 = 195 min = 3.25 h; billable 90 + 45 = 135 = 2.25; non-billable 60 = 1.00
    ts = json.loads(files[(h, "timesheet", "json")])
    assert (ts["summary"]["total_hours"], ts["summary"]["billable_hours"], ts["summary"]["non_billable_hours"]) == (
        "3.25", "2.25", "1.00")
    # by member: field.desk (no name → e-mail) 60 + 45 = 105 min = 1.75 h before Bea 90 min = 1.50 h
    assert [(m["member_name"], m["total_hours"]) for m in ts["rows"]] == [
        ("field.desk@helios.example", "1.75"), ("Bea Rossi", "1.50")]
    assert [(d["entry_date"], d["total_hours"]) for d in ts["tables"]["by_date"]] == [
        ("2026-10-01", "1.50"), ("2026-10-15", "0.75"), ("2026-10-31", "1.00")]
    assert ts["parameters"] == {"date_from": "2026-10-01", "date_to": "2026-10-31", "group_by": "all"}

    # timesheet CSV: the daily detail; formula-like project name guarded
    text = files[(h, "timesheet", "csv")].decode("utf-8-sig")
    table = list(csv.reader(io.StringIO("\r\n".join(text.split("\r\n")[5:]))))
    assert table[0][:4] == ["Team Member", "Date", "Day", "Project"]
    assert ["Bea Rossi", "2026-10-01", "Thu", "'=North Farm", "1.50", "1.50", "0.00", "1"] in table

    # timesheet XLSX: one sheet per grouping
    wb = load_workbook(io.BytesIO(files[(h, "timesheet", "xlsx")]))
    assert wb.sheetnames == ["Summary", "Hours by team member", "Hours by project", "Hours by date",
                             "Daily detail by member"]
    assert wb["Hours by project"]["A2"].value == "=North Farm" and wb["Hours by project"]["A2"].data_type == "s"

    # profitability JSON: North USD rev 150.00, cost 60.00 + 40.00 = 100.00, margin 50.00, 50/150 = 33.33 %;
    # East EUR rev 90.00, no cost, margin 90.00, 100.00 %
    pf = json.loads(files[(h, "project_profitability", "json")])
    assert [(r["project_name"], r["customer_names"], r["currency"], r["billable_hours"], r["revenue"], r["cost"],
             r["margin"], r["margin_percent"]) for r in pf["rows"]] == [
        ("=North Farm", "acme Energy, Zeta Power", "USD", "1.50", "150.00", "100.00", "50.00", "33.33"),
        ("East Wind", None, "EUR", "0.75", "90.00", "0.00", "90.00", "100.00"),
    ]  # "=north farm" sorts before "east wind" ("=" < "e")
    assert pf["summary"]["currencies"]["USD"]["margin"] == "50.00"
    assert pf["summary"]["currencies"]["EUR"]["revenue"] == "90.00"

    # PDFs and HTML readable
    for report_type, title in (("timesheet", "Timesheet Report"), ("project_profitability", "Project Profitability Report")):
        pdf_text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(files[(h, report_type, "pdf")])).pages)
        assert title in pdf_text and "October 2026" in pdf_text and "Helios Energy" in pdf_text
    html = files[(h, "timesheet", "html")].decode("utf-8")
    assert "#0B6E4F" in html and "&lt;b&gt;Confidential&lt;/b&gt;" in html

    # organization isolation: nothing of the canary in any Helios file
    for key, data in files.items():
        if key[0] == h:
            text = _readable(key[2], data)
            for canary_value in (CANARY, "9876", "9,876", "555", "9.25", "91358", "91,358"):  # 555 min = 9.25 h
                assert canary_value not in text, (key, canary_value)
    canary_pf = json.loads(files[(world["canary"], "project_profitability", "json")])
    # 9876.54 × 555 / 60 = 91,357.995 → 91358.00 (half-up); cost 1234.56 × 555 / 60 = 11419.68
    assert canary_pf["summary"]["currencies"]["USD"]["revenue"] == "91358.00"
    assert canary_pf["summary"]["currencies"]["USD"]["cost"] == "11419.68"

    helios_rows = [r for r in rows if r["organization_id"] == h]
    assert {r["record_count"] for r in helios_rows if r["type"] == "project_profitability"} == {2}
    assert {r["record_count"] for r in helios_rows if r["type"] == "timesheet"} == {3}  # 3 detail rows
    ts_row = next(r for r in helios_rows if r["type"] == "timesheet")
    assert ts_row["summary_data"]["total_hours"] == "3.25"

    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"member_and_project_same_organization": True, "billable_entries_have_billing_rate": True}
    with world["engine"].connect() as conn:
        events = dict(conn.execute(sa.text("SELECT event_type, count(*) FROM audit_event GROUP BY 1")).all())
    assert events == {"REPORT_EXPORTED": 20}


def test_member_of_another_organization_is_left_out_and_reported(world, fresh_url, tmp_path):
    """A member of org B logging time on org A's project: whose is it? The entry is in no file (it
    would print B's member in A's files); an ERROR check and A's file name it (issue 10 item 5)."""
    p = TimePlatform(world["engine"])
    other = p.org("Other Org")
    outsider = p.member(other, "Out Sider", "out@other.example")
    entry = p.entry(p.task(world["north"]), outsider, dt.date(2026, 10, 2), 30, False, None, ("10.00", "USD"))
    result = _materialize(fresh_url, tmp_path)
    assert result.success
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    for check in (e for e in result.get_asset_check_evaluations()
                  if e.asset_check_key.name == "member_and_project_same_organization"):  # timesheet and profitability
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
        assert check.metadata["left_out"].value == 1
    rows = _rows(world["engine"])
    assert other not in {r["organization_id"] for r in rows}  # no files for the member's organization
    ts = json.loads(next((tmp_path / r["file_path"]).read_bytes() for r in rows
                         if r["organization_id"] == world["helios"] and r["type"] == "timesheet" and r["fmt"] == "json"))
    assert ts["summary"]["total_hours"] == "3.25"  # 195 min: the outsider's 30 are left out
    assert [(f["severity"], f["entry_id"]) for f in ts["summary"]["left_out"]] == [("ERROR", [entry])]
    for r in rows:
        if r["organization_id"] == world["helios"]:
            assert b"Out Sider" not in (tmp_path / r["file_path"]).read_bytes()


def test_empty_month_writes_no_data_files_and_succeeds(fresh_engine, fresh_url, tmp_path):
    """An organization without time entries gets its files, saying so; one created later gets none."""
    p = TimePlatform(fresh_engine)
    p.period(2026, 10)
    quiet = p.org("Quiet Org", dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    p.org("Later Org", dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc))  # did not exist in October
    result = _materialize(fresh_url, tmp_path)
    assert result.success
    rows = _rows(fresh_engine)
    assert len(rows) == 10 and {r["organization_id"] for r in rows} == {quiet}  # 2 report types × 5 formats
    assert {(r["status"], r["record_count"]) for r in rows} == {("completed", 0)}
    for r in rows:
        assert "No data for this period" in _readable(r["fmt"], (tmp_path / r["file_path"]).read_bytes()), r
    meta = result.asset_materializations_for_node("timesheet_report")[0].metadata
    assert meta["organizations"].value == 1 and meta["organizations_without_data"].value == 1
