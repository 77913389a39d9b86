"""Hostile request rows: every one ends `failed` with a message that says what to fix, in its own
run, and none of them stops the good row beside it, the request sensor, the run-failure sensor
or the reaper (issue 10: "Bad input gets a clear, final answer").

Real PostgreSQL; the rows go through the request sensor and real generate_report runs."""

from __future__ import annotations

import datetime as dt
import json
import re

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.requests import failures
from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.sensors import report_request_sensor
from reporting_dagster.defs.resources import LocalReportStore, OutboxReportMailer, PlatformDatabase, RequestProcessing
from reporting_dagster.lib.requests.batch import report_ids_of
from reporting_dagster.lib.requests.parameters import InvalidRequest, parameters_object, too_deep
from tests.request_builders import time_world

DEEP = '{"group_by": ' + "[" * 5000 + "]" * 5000 + "}"
RANGE = "must be between 2000-01-01 and 2100-12-31"
TOLERANCE = "tolerance_absolute must be a number from 0 to 1000000000"
# (report type, format, parameters as JSON text, what the message must say)
POISON = [
    ("timesheet", "csv", '"group_by=project"', 'parameters must be a JSON object such as {"group_by": "project"}, got a string: "group_by=project"'),
    ("timesheet", "csv", '["group_by", "project"]', "parameters must be a JSON object such as"),
    ("timesheet", "csv", "5", "got a number: 5"),
    ("timesheet", "csv", DEEP, "parameters is nested too deeply (more than 8 levels)"),
    ("timesheet", "csv", json.dumps({"group_by": "x" * 20000}), "parameters is too large (20016 bytes; at most 16384)"),
    ("timesheet", "csv", '{"date_from": "9999-12-01", "date_to": "9999-12-31"}', f"date_to {RANGE}, got 9999-12-31"),  # jsonb orders keys: date_to first
    ("timesheet", "csv", '{"date_from": "2026-10-01", "date_to": "99999-12-31"}', "date_to must be a date like 2026-01-31"),
    ("timesheet", "pdf", '{"date_from": "2026-10-01", "date_to": "2026-W44-1"}', "date_to must be a date like 2026-01-31"),
    ("timesheet", "csv", '{"member_id": 9223372036854775808}', "member_id must be a positive whole number up to 9223372036854775807"),
    ("timesheet", "csv", '{"member_id": -1}', "member_id must be a positive whole number"),
    ("timesheet", "csv", '{"member_id": true}', "member_id must be a positive whole number up to 9223372036854775807, got true"),
    ("timesheet", "csv", '{"member_id": 1e1000}', "member_id must be a positive whole number"),
    ("timesheet", "csv", json.dumps({"group_by": "p" * 5000}), 'group_by must be one of member, project, date, got "ppp'),
    ("timesheet", "csv", json.dumps({"k" * 1000: 1}), 'unknown parameter(s) "kkkk'),
    ("timesheet", "csv", json.dumps({"group_by": {"nested": ["x"]}}), "group_by must be one of member, project, date"),
    ("invoice_comparison", "csv", '{"tolerance_absolute": "NaN"}', f'{TOLERANCE}, got "NaN"'),
    ("invoice_comparison", "csv", '{"tolerance_absolute": "Infinity"}', f'{TOLERANCE}, got "Infinity"'),
    ("invoice_comparison", "csv", '{"tolerance_absolute": "1e999999"}', f'{TOLERANCE}, got "1e999999"'),
    ("invoice_comparison", "csv", '{"tolerance_absolute": -5}', f"{TOLERANCE}, got -5"),
    ("invoice_comparison", "csv", '{"tolerance_percent": 100.5}', "tolerance_percent must be a number from 0 to 100, got 100.5"),
    ("invoice_comparison", "csv", '{"billing_period": "9999-12"}', "billing_period must be between 2000-01 and 2100-12, got 9999-12"),
    ("invoice_aging", "csv", '{"as_of_date": "9999-01-01"}', f"as_of_date {RANGE}"),
    ("cash_flow", "csv", "{}", "unknown report type 'cash_flow'"),  # an enum value the platform may add
    ("timesheet", "docx", "{}", 'Timesheet Report has no "docx" format'),
]
CLASS_NAME = re.compile(r"[A-Z][a-z]+(Error|Exception|Operation)\b|Traceback|JSONDecode")


def _insert(engine, org: int, report_type: str, file_format: str, parameters: str | None, **cols) -> int:
    row = {"organization_id": org, "report_type": report_type, "file_format": file_format,
           "generation_source": "on_demand", "name": f"{report_type} request", "parameters": parameters, **cols}
    names = list(row)
    values = ", ".join("CAST(:parameters AS jsonb)" if n == "parameters" else f":{n}" for n in names)
    with engine.begin() as conn:
        return int(conn.execute(sa.text(f"INSERT INTO generated_report ({', '.join(names)}) VALUES ({values}) "
                                        "RETURNING id"), row).scalar_one())


def _outcome(engine, ids):
    with engine.connect() as conn:  # parameters never selected: the driver would parse them
        return {r.id: (r.report_status, r.processing_error, r.file_path) for r in conn.execute(sa.text(
            "SELECT id, report_status::text AS report_status, processing_error, file_path FROM generated_report "
            "WHERE id = ANY(:ids)"), {"ids": list(ids)})}


@pytest.fixture
def world(fresh_engine, fresh_url, tmp_path):
    w = time_world(fresh_engine)
    with fresh_engine.begin() as conn:  # values the platform may add to its enums
        conn.exec_driver_sql("ALTER TYPE report_type ADD VALUE IF NOT EXISTS 'cash_flow'")
        conn.exec_driver_sql("ALTER TYPE file_format ADD VALUE IF NOT EXISTS 'docx'")
    url = fresh_url.render_as_string(hide_password=False)
    w["resources"] = {
        "platform_db": PlatformDatabase(url=url), "report_store": LocalReportStore(directory=str(tmp_path / "store")),
        "report_mailer": OutboxReportMailer(directory=str(tmp_path / "outbox")),
        "delivery_s3": S3Resource(region_name="us-east-1"), "request_processing": RequestProcessing()}
    return w


def _sensor(instance, resources, name, run):
    context = dg.build_run_status_sensor_context(
        sensor_name=name, dagster_event=run.get_run_failure_event(), dagster_instance=instance,
        dagster_run=run.dagster_run, resources={k: resources[k] for k in (
            "platform_db", "report_mailer", "request_processing")}).for_run_failure()
    failures.report_run_failure_sensor(context)


def _reap(instance, resources):
    return failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
        k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")}))


def test_poison_rows_fail_with_a_message_and_the_good_row_completes(world, monkeypatch):
    p, engine, resources = world["p"], world["p"].engine, world["resources"]
    org = world["helios"]
    poison = {_insert(engine, org, t, f, params): hint for t, f, params, hint in POISON[:12]}
    good = _insert(engine, org, "timesheet", "csv", '{"date_from": "2026-10-01", "date_to": "2026-10-31"}')
    poison.update({_insert(engine, org, t, f, params): hint for t, f, params, hint in POISON[12:]})
    with dg.instance_for_test() as instance:
        tick = report_request_sensor(dg.build_sensor_context(instance=instance, resources={
            k: resources[k] for k in ("platform_db", "request_processing")}))
        # a backed-up queue: batches of at most 10 rows, every row in one of them
        batches = [report_ids_of(r.tags) for r in tick.run_requests]
        assert len(poison) + 1 > 10 and all(1 < len(ids) <= 10 for ids in batches)
        assert sorted(i for ids in batches for i in ids) == sorted([*poison, good])
        results = [generate_report.execute_in_process(
            run_config=r.run_config, resources=resources, instance=instance, tags=r.tags, raise_on_error=False)
            for r in tick.run_requests]
        # every batch holds a poison row, so every run fails: the good row completes all the same
        assert not any(result.success for result in results)
        # the sensors that look at failed runs, and the reaper, tick over all of them without raising
        for result in results:
            _sensor(instance, resources, "report_run_failure_sensor", result)
        monkeypatch.setattr(failures, "STUCK_AFTER", dt.timedelta(0))
        assert _reap(instance, resources).skip_message == "0 stuck reports marked failed"
        again = report_request_sensor(dg.build_sensor_context(instance=instance, cursor=tick.cursor, resources={
            k: resources[k] for k in ("platform_db", "request_processing")}))
        assert again.run_requests == []
    outcome = _outcome(engine, [*poison, good])
    assert outcome[good][0] == "completed" and outcome[good][2]
    for rid, hint in poison.items():
        status, message, path = outcome[rid]
        assert status == "failed" and path is None, (rid, status, message)
        assert hint in message, (hint, message)
        assert not CLASS_NAME.search(message), message
        assert len(message) <= 500
    with engine.connect() as conn:  # one REPORT_FAILED each, the deep row's without its parameters
        events = dict(conn.execute(sa.text(
            "SELECT entity_id, count(*) FROM audit_event WHERE event_type = 'REPORT_FAILED' GROUP BY entity_id")).all())
    assert events == {rid: 1 for rid in poison}


def test_a_poison_row_a_dead_run_holds_is_failed_by_the_reaper_and_the_run_failure_sensor(world, monkeypatch, tmp_path):
    """The reaper and the run-failure sensor fail rows whose parameters no JSON parser could read,
    and go on to the next row."""
    p, engine, resources = world["p"], world["p"].engine, world["resources"]
    org = world["helios"]
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    monkeypatch.setattr(failures, "STUCK_AFTER", dt.timedelta(0))
    with dg.instance_for_test() as instance:
        dead = generate_report.execute_in_process(  # a run that died before it could do anything
            run_config={"ops": {"render_report": {"config": {"generated_report_id": 1}}}}, instance=instance,
            tags={"generated_report_id": "0"}, raise_on_error=False, resources={
                **resources, "platform_db": PlatformDatabase(url="postgresql://nobody@127.0.0.1:9/unreachable")})
        assert not dead.success
        reaped = [_insert(engine, org, "timesheet", "csv", params, report_status="processing",
                          dagster_run_id=dead.run_id, processing_started_at=long_ago)
                  for params in (DEEP, '"group_by=project"', json.dumps({"x": "y" * 20000}))]
        result = _reap(instance, resources)
        assert result.skip_message == "3 stuck reports marked failed"
        # the run-failure sensor of a run that held a deep row
        sensed = _insert(engine, org, "timesheet", "csv", DEEP, report_status="processing",
                         dagster_run_id=dead.run_id, processing_started_at=long_ago)
        tags = {**dead.dagster_run.tags, "generated_report_id": str(sensed)}
        run = dead.dagster_run.with_tags(tags)
        context = dg.build_run_status_sensor_context(
            sensor_name="report_run_failure_sensor", dagster_event=dead.get_run_failure_event(),
            dagster_instance=instance, dagster_run=run, resources={
                k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")}).for_run_failure()
        failures.report_run_failure_sensor(context)
    outcome = _outcome(engine, [*reaped, sensed])
    for rid in reaped:
        assert outcome[rid][0] == "failed"
        assert outcome[rid][1] == ("stuck in processing: its run ended FAILURE without finishing it; "
                                   "set it back to pending to try again")
    assert outcome[sensed][0] == "failed" and outcome[sensed][1].startswith("run failed: ")
    with engine.connect() as conn:
        details = conn.execute(sa.text("SELECT details FROM audit_event WHERE entity_id = :id"),
                               {"id": reaped[0]}).scalar_one()
    assert details["parameters"] is None and details["run_id"] == dead.run_id


@pytest.mark.parametrize("text, deep", [
    ("[" * 9 + "]" * 9, True), ("[" * 8 + "]" * 8, False), ('{"a": "' + "[" * 50 + '"}', False),
    ('{"a": "\\"' + "[" * 50 + '"}', False), ('[{"a": [{"b": [[[[1]]]]}]}]', False), ('[{"a": [{"b": [[[[[1]]]]]}]}]', True),
])
def test_the_depth_check_counts_brackets_outside_strings_only(text, deep):
    assert too_deep(text) is deep


def test_json_null_or_no_parameters_mean_none():
    assert parameters_object(None) == {} and parameters_object("null") == {}
    with pytest.raises(InvalidRequest, match="got a list"):
        parameters_object("[]")
