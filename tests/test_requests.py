"""On-demand requests: a generated_report row → a validated, rendered, stored, recorded report.

Expected numbers are worked out by hand from tests/request_builders.time_world.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa

from reporting_dagster.lib.requests.run import run_request
from reporting_dagster.lib.infra.store import LocalStore
from tests.builders import extract_reader
from tests.keys import expected_key
from tests.request_builders import CANARY, time_world

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)


def _csv(data: bytes) -> list[list[str]]:
    lines = [ln for ln in data.decode("utf-8-sig").split("\r\n") if ln and not ln.startswith("#")]
    return list(csv.reader(lines))


@pytest.fixture
def world(fresh_engine):
    return time_world(fresh_engine)


def _run(world, report_id, tmp_path, run_id="run-1"):
    store = LocalStore(tmp_path)
    return run_request(world["p"].engine, store, extract_reader(world["p"].engine), report_id, run_id=run_id, now=NOW), store


def test_timesheet_request_by_project_for_one_member_completes_with_every_field(world, tmp_path):
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv", parameters={
        "date_from": "2026-10-01", "date_to": "2026-10-31", "group_by": "project", "member_id": world["bea"]})
    outcome, store = _run(world, rid, tmp_path)
    assert outcome.outcome == "completed", outcome.message
    data = store.get(outcome.stored.key)
    rows = _csv(data)
    # Bea only: North 90 + 30 billable = 2.00 h; East 45 non-billable = 0.75 h
    assert rows == [["Project", "Total Hours", "Billable Hours", "Non-Billable Hours", "Entries"],
                    ["North Farm", "2.00", "2.00", "0.00", "2"],
                    ["East Wind", "0.75", "0.00", "0.75", "1"]]
    row = p.row("generated_report", rid)
    assert row["report_status"] == "completed"
    claim = _micros(row["processing_started_at"])  # the attempt's claim, in µs since the epoch
    assert row["file_path"] == expected_key(p.engine, world["helios"], "2026-10", "timesheet", rid,
                                            "csv").replace(".csv", f"-c{claim}.csv")
    assert row["file_hash"] == hashlib.sha256(data).hexdigest() and row["file_size_bytes"] == len(data)
    assert row["record_count"] == 2 and row["dagster_run_id"] == "run-1"
    assert row["processing_started_at"] <= row["processing_completed_at"] and row["processing_time_ms"] >= 0
    assert row["processing_error"] is None
    # expires 90 days after completion
    assert dt.timedelta(days=89) < row["expires_at"] - row["processing_completed_at"] <= dt.timedelta(days=90)
    assert p.audit(rid) == ["REPORT_EXPORTED", "REPORT_GENERATED"]
    assert CANARY not in data.decode()


def test_timesheet_date_range_is_inclusive_at_both_ends(world, tmp_path):
    rid = world["p"].request(world["helios"], "timesheet", "json", parameters={
        "date_from": "2026-10-31", "date_to": "2026-10-31", "group_by": "member"})
    outcome, store = _run(world, rid, tmp_path)
    doc = json.loads(store.get(outcome.stored.key))
    # Oct 31 only: Bea 30 billable (0.50 h), the desk 60 non-billable (1.00 h) → desk first (more hours)
    assert [(r["member_name"], r["total_hours"], r["billable_hours"]) for r in doc["rows"]] == [
        ("field.desk@helios.example", "1.00", "0.00"), ("Bea Rossi", "0.50", "0.50")]


def test_profitability_request_defaults_to_the_billing_period(world, tmp_path):
    p = world["p"]
    with p.engine.begin() as conn:
        period = conn.execute(sa.text("SELECT id FROM billing_period WHERE start_date = '2026-10-01'")).scalar_one()
    rid = p.request(world["helios"], "project_profitability", "csv", billing_period_id=period)
    outcome, store = _run(world, rid, tmp_path)
    assert outcome.outcome == "completed", outcome.message
    rows = _csv(store.get(outcome.stored.key))
    header = rows[0]
    got = {r[header.index("Project")]: r for r in rows[1:]}
    north = got["North Farm"]
    # revenue 100 × 90/60 + 100 × 30/60 = 200.00; cost 40 × 90/60 + 40 × 60/60 = 100.00; margin 50 %
    assert [north[header.index(c)] for c in ("Revenue", "Cost", "Margin", "Margin %")] == \
        ["200.00", "100.00", "100.00", "50.00"]
    east = got["East Wind"]
    # EUR: no revenue, cost 50 × 45/60 = 37.50; margin % empty
    assert [east[header.index(c)] for c in ("Currency", "Revenue", "Cost", "Margin", "Margin %")] == \
        ["EUR", "0.00", "37.50", "-37.50", ""]


@pytest.mark.parametrize("change, hint", [
    ({"parameters": {"colour": "blue"}}, "unknown parameter(s) colour"),
    ({"parameters": {"date_from": "2026-10-01", "date_to": "2026-13-01"}}, "date_to must be a date like"),
    ({"parameters": {"date_from": "2026-10-31", "date_to": "2026-10-01"}}, "is after date_to"),
    ({"parameters": {"date_from": "2026-10-01"}}, "give both date_from and date_to"),
    ({"parameters": {"group_by": "week"}}, "group_by must be one of member, project, date"),
    ({"parameters": {"member_id": "CANARY"}}, "member_id must be a positive whole number"),
    ({"project_id": "canary_project"}, "is not a project of this organization"),
    ({"parameters": {"member_id": "canary_member"}}, "is not a member of this organization"),
    ({"template": "canary"}, "belongs to another organization"),
    ({"template": "aging"}, "is a invoice_aging template, not timesheet"),
    ({"template": "inactive"}, "is inactive"),
    ({"template": 999999}, "does not exist"),
    ({"schedule": "canary"}, "is not a schedule of this organization"),
])
def test_invalid_requests_fail_the_row_with_what_to_fix(world, tmp_path, change, hint):
    p = world["p"]
    values = dict(change)
    template = values.pop("template", None)
    if template == "canary":
        values["report_template_id"] = p.template(world["canary"], "timesheet")
    elif template == "aging":
        values["report_template_id"] = p.template(world["helios"], "invoice_aging")
    elif template == "inactive":
        values["report_template_id"] = p.template(world["helios"], "timesheet", is_active=False, name="old")
    elif template is not None:
        values["report_template_id"] = template
    if values.get("project_id") == "canary_project":
        values["project_id"] = world["cproj"]
    if values.get("parameters", {}).get("member_id") == "canary_member":
        values["parameters"]["member_id"] = str(world["cmember"])
    if values.pop("schedule", None) == "canary":
        values["scheduled_report_id"] = p.schedule(world["canary"], p.template(world["canary"], "timesheet"),
                                                   day_of_month=1, recipients=[{"email": "boss@canary.example"}])
    if template == 999999:
        with p.engine.begin() as conn:  # a dangling template id cannot be inserted through the FK
            conn.exec_driver_sql("ALTER TABLE generated_report DROP CONSTRAINT generated_report_report_template_id_fkey")
    rid = p.request(world["helios"], "timesheet", "pdf", **values)
    outcome, store = _run(world, rid, tmp_path)
    assert outcome.outcome == "invalid"
    row = p.row("generated_report", rid)
    assert row["report_status"] == "failed" and hint in row["processing_error"], row["processing_error"]
    assert row["file_path"] is None and not list(tmp_path.rglob("*.pdf"))
    assert p.audit(rid) == ["REPORT_FAILED"]


def test_a_deleted_row_or_one_taken_by_another_run_is_skipped(world, tmp_path):
    p = world["p"]
    gone = p.request(world["helios"], "timesheet")
    with p.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM generated_report WHERE id = :id"), {"id": gone})
    assert _run(world, gone, tmp_path)[0].outcome == "skipped"

    taken = p.request(world["helios"], "timesheet", report_status="processing", dagster_run_id="other-run")
    outcome, _ = _run(world, taken, tmp_path)
    assert outcome.outcome == "skipped" and "other-run" in outcome.message
    assert p.row("generated_report", taken)["report_status"] == "processing"


def test_a_failed_request_retried_restarts_its_clock_and_completes(world, tmp_path):
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "html", parameters={"group_by": "week"})
    assert _run(world, rid, tmp_path, "run-a")[0].outcome == "invalid"
    first = p.row("generated_report", rid)
    with p.engine.begin() as conn:  # the user fixes the request and asks again
        conn.execute(sa.text("UPDATE generated_report SET parameters = '{\"group_by\": \"date\"}', "
                             "report_status = 'pending' WHERE id = :id"), {"id": rid})
    outcome, _ = _run(world, rid, tmp_path, "run-b")
    assert outcome.outcome == "completed"
    second = p.row("generated_report", rid)
    assert second["processing_started_at"] > first["processing_started_at"]
    assert second["processing_error"] is None and second["dagster_run_id"] == "run-b"
    # a completed row is not rendered again by a late duplicate run
    again, _ = _run(world, rid, tmp_path, "run-c")
    assert again.outcome == "completed" and p.row("generated_report", rid)["dagster_run_id"] == "run-b"
    assert p.audit(rid) == ["REPORT_FAILED", "REPORT_EXPORTED", "REPORT_GENERATED"]


def test_invoice_listing_over_two_billing_periods_with_a_contract_filter(fresh_engine, tmp_path):
    from tests.request_builders import RequestPlatform

    p = RequestPlatform(fresh_engine)
    sep, octo = p.period(2026, 9), p.period(2026, 10)
    org = p.org("Helios Energy")
    proj = p.project(org, "North Farm")
    kept = p.contract(org, proj, "PPA North", p.counterparty("Grid Buyer"))
    other = p.contract(org, proj, "PPA Other")
    p.client_invoice(sep, kept, proj, "USD", [("ENERGY", "Energy", "1000", "0.10", "100.00", None)], "INV-9")
    p.client_invoice(octo, kept, proj, "USD", [("ENERGY", "Energy", "2000", "0.10", "200.00", None),
                                               ("LD_CREDIT", "LD credit", "1", "-15.50", "-15.50", None)], "INV-10")
    p.client_invoice(octo, other, proj, "USD", [("ENERGY", "Energy", "1", "999.00", "999.00", None)], "INV-X")
    rid = p.request(org, "invoice_to_client", "json", contract_id=kept,
                    parameters={"date_from": "2026-09-01", "date_to": "2026-10-31"})
    outcome = run_request(fresh_engine, LocalStore(tmp_path), extract_reader(fresh_engine), rid, run_id="r", now=NOW)
    assert outcome.outcome == "completed", outcome.message
    doc = json.loads(LocalStore(tmp_path).get(outcome.stored.key))
    assert sorted(i["invoice_number"] for i in doc["rows"]) == ["INV-10", "INV-9"]
    # 100.00 + 200.00 − 15.50 = 284.50 USD over the two months; INV-X (another contract) left out
    assert json.dumps(doc["summary"]).count("284.50") >= 1 and "999" not in json.dumps(doc["rows"])
    assert p.row("generated_report", rid)["file_path"].startswith(f"reports/{org}/2026/09/")


def test_a_retried_run_takes_over_the_row_its_parent_run_left_processing(world, tmp_path):
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv", report_status="processing", dagster_run_id="run-lost")
    stranger, _ = _run(world, rid, tmp_path, "run-other")
    assert stranger.outcome == "skipped"
    store = LocalStore(tmp_path)
    outcome = run_request(p.engine, store, extract_reader(p.engine), rid, run_id="run-retry", parent_run_id="run-lost", now=NOW)
    assert outcome.outcome == "completed" and p.row("generated_report", rid)["dagster_run_id"] == "run-retry"


def test_a_completed_report_is_never_turned_into_a_failure(world, tmp_path):
    from reporting_dagster.lib.operations import records

    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv")
    assert _run(world, rid, tmp_path)[0].outcome == "completed"
    changed = records.fail_unfinished(p.engine, rid, "late reaper", organization_id=world["helios"],
                                      report_type="timesheet", file_format="csv", dagster_run_id=None)
    assert changed is False and p.row("generated_report", rid)["report_status"] == "completed"
    assert "REPORT_FAILED" not in p.audit(rid)


@pytest.mark.parametrize("text, leaked", [
    ("could not connect to postgresql://rep:pa/ss@db.internal:5432/platform", "pa/ss"),
    ("login failed for smtp://mailer:p@ss@mail.example:587", "p@ss"),
    ("GET https://b.s3.amazonaws.com/k?X-Amz-Credential=AKIA123&X-Amz-Signature=deadbeef failed", "deadbeef"),
    ("password=hunter2 rejected", "hunter2"),
])
def test_stored_errors_carry_no_credentials(text, leaked):
    from reporting_dagster.lib.operations.records import short_error

    assert leaked not in short_error(text)


def test_a_quarterly_comparison_pairs_within_each_month(world, tmp_path):
    """June–August 2026 of one contract: June matched; July expected but never received; August
    received twice (a double invoice). Pooled over the quarter the two errors cancel out
    (3 × 1,000.00 expected vs 3 × 1,000.00 received = matched); per month they must not."""
    p = world["p"]
    org = world["helios"]
    project = p.project(org, "Q project")
    contract = p.contract(org, project, "Q contract")
    months = {m: p.period(2026, m) for m in (6, 7, 8)}
    p.expected(months[6], contract, project, "EUR", [("OM_FEE", "Fee", "1000.00")])
    p.received(months[6], contract, project, "EUR", [("OM_FEE", "Fee", "1000.00")], "Q-6")
    p.expected(months[7], contract, project, "EUR", [("OM_FEE", "Fee", "1000.00")])
    p.expected(months[8], contract, project, "EUR", [("OM_FEE", "Fee", "1000.00")])
    p.received(months[8], contract, project, "EUR", [("OM_FEE", "Fee", "1000.00")], "Q-8a")
    p.received(months[8], contract, project, "EUR", [("OM_FEE", "Fee", "1000.00")], "Q-8b")
    p.template(org, "invoice_comparison")
    rid = p.request(org, "invoice_comparison", "json", contract_id=contract,
                    parameters={"date_from": "2026-06-01", "date_to": "2026-08-31"})
    outcome = run_request(p.engine, LocalStore(tmp_path), extract_reader(p.engine), rid, run_id="run-q", now=NOW)
    assert outcome.outcome == "completed", outcome.message
    data = json.loads((tmp_path / outcome.stored.key).read_bytes())
    got = sorted((r["billing_period"], r["expected_amount"], r["received_amount"], r["status"]) for r in data["rows"])
    assert got == [("2026-06", "1000.00", "1000.00", "matched"),
                   ("2026-07", "1000.00", None, "missing_received"),
                   ("2026-08", "1000.00", "2000.00", "overbilled")]
    eur = data["summary"]["currencies"]["EUR"]
    # the column sums still add up over the quarter (3 × 1,000.00 each), but the variance is on the
    # paired months only: June 0.00 + August 2,000.00 − 1,000.00 = 1,000.00; July is not received
    assert (eur["expected"], eur["received"]) == ("3000.00", "3000.00")
    assert eur["variance"] == eur["paired"]["variance"] == "1000.00"
    assert eur["not_received"] == {"pairs": 1, "expected": "1000.00"}


@pytest.fixture(params=["local", "s3"])
def any_store(request, tmp_path):
    """The local store, or a bucket on the moto S3 server; and a way to overwrite an object behind
    the store's back (what an operator or another tool might do)."""
    if request.param == "local":
        store = LocalStore(tmp_path / "store")
        return store, lambda key, data: store.path(key).write_bytes(data)
    import boto3

    from reporting_dagster.lib.infra.store import S3Store

    bucket = request.getfixturevalue("s3_bucket")
    client = boto3.client("s3", endpoint_url=request.getfixturevalue("s3_endpoint"), region_name="us-east-1")
    return S3Store(client, bucket, prefix="tenant"), lambda key, data: client.put_object(
        Bucket=bucket, Key=f"tenant/{key}", Body=data)


def _micros(stamp: dt.datetime) -> int:
    return int(stamp.timestamp() * 1_000_000)


def test_a_re_executed_request_whose_object_is_gone_or_changed_is_made_again(world, any_store):
    """A completed row is "already completed" only while its object is there with the recorded
    hash. Deleted, or changed behind the store's back: the next run for the row makes it again
    under a key of its own (objects are written once) and records it."""
    p = world["p"]
    store, overwrite = any_store
    read = extract_reader(p.engine)
    rid = p.request(world["helios"], "timesheet", "csv", parameters={"date_from": "2026-10-01", "date_to": "2026-10-31"})
    assert run_request(p.engine, store, read, rid, run_id="run-1", now=NOW).outcome == "completed"
    first = p.row("generated_report", rid)
    same = run_request(p.engine, store, read, rid, run_id="run-2", now=NOW)
    assert (same.outcome, same.message) == ("completed", "already completed (a retried run); not rendered again")

    store.delete(first["file_path"])
    gone = run_request(p.engine, store, read, rid, run_id="run-3", now=NOW)
    second = p.row("generated_report", rid)
    assert gone.outcome == "completed"
    assert gone.message.startswith(f"its stored file {first['file_path']} is missing; making it again: ")
    assert (second["report_status"], second["dagster_run_id"]) == ("completed", "run-3")
    # after 1 completed attempt, and the claim that made it (µs since the epoch)
    stem = first["file_path"].removesuffix(f"-c{_micros(first['processing_started_at'])}.csv")
    assert second["file_path"] == f"{stem}-a1-c{_micros(second['processing_started_at'])}.csv"
    data = store.get(second["file_path"])
    assert hashlib.sha256(data).hexdigest() == second["file_hash"] and second["file_size_bytes"] == len(data)
    assert _csv(data)[1] == ["Bea Rossi", "2.75", "2.00", "0.75", "3"]  # Oct: 90 + 30 billable, 45 not (2.75 h)

    overwrite(second["file_path"], b"not the report")
    changed = run_request(p.engine, store, read, rid, run_id="run-4", now=NOW)
    third = p.row("generated_report", rid)
    assert changed.message.startswith(f"its stored file {second['file_path']} no longer has the recorded contents")
    assert third["file_path"] == f"{stem}-a2-c{_micros(third['processing_started_at'])}.csv"
    assert hashlib.sha256(store.get(third["file_path"])).hexdigest() == third["file_hash"]
    assert store.get(second["file_path"]) == b"not the report"  # left as found: keys are written once
    assert p.audit(rid) == ["REPORT_EXPORTED", "REPORT_GENERATED"] * 3


def test_a_completed_row_another_processor_completed_is_left_as_it_is(world, tmp_path):
    p = world["p"]
    rid = p.request(world["helios"], "timesheet", "csv", report_status="completed", file_path="platform/x.csv")
    outcome, _ = _run(world, rid, tmp_path)
    assert outcome.outcome == "skipped" and "completed by another processor" in outcome.message
    assert p.row("generated_report", rid)["file_path"] == "platform/x.csv"
