"""A backed-up queue: several pending rows per generate_report run, each row on its own.

The grouping rule (lib/requests/batch.py) by hand; then the sensor's runs, a batch run in
process against real PostgreSQL with a good row next to bad ones (files read back), and the
run-failure sensor and the reaper on a batch run that died.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from dagster_aws.s3 import S3Resource

from reporting_dagster.defs.requests import failures
from reporting_dagster.defs.requests.generate import generate_report
from reporting_dagster.defs.requests.runs import runs_by_key
from reporting_dagster.defs.requests.sensors import report_request_sensor
from reporting_dagster.defs.resources import LocalReportStore, OutboxReportMailer, PlatformDatabase, RequestProcessing
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.requests import batch
from reporting_dagster.lib.requests import queue as request_queue
from tests.request_builders import CANARY, time_world

OCTOBER = {"date_from": "2026-10-01", "date_to": "2026-10-31"}


@pytest.mark.parametrize("rows, size, sizes", [
    (0, 10, []),
    (1, 10, [1]),
    (4, 10, [1, 1, 1, 1]),  # up to SPREAD rows: a run each
    (5, 10, [2, 1, 1, 1]),  # never fewer than SPREAD runs
    (30, 10, [8, 8, 7, 7]),
    (41, 10, [9, 8, 8, 8, 8]),  # ceil(41 / 10) = 5 runs
    (250, 10, [10] * 25),
    (7, 1, [1] * 7),
])
def test_groups_keep_order_and_spread_a_short_queue(rows, size, sizes):
    cut = batch.groups(list(range(rows)), size)
    assert [len(g) for g in cut] == sizes
    assert [i for g in cut for i in g] == list(range(rows))


def test_batch_size_comes_from_the_environment_within_bounds(monkeypatch):
    monkeypatch.delenv(batch.BATCH_VARIABLE, raising=False)
    assert batch.batch_size() == 10
    monkeypatch.setenv(batch.BATCH_VARIABLE, "3")
    assert batch.batch_size() == 3
    for bad in ("0", "11", "two"):
        monkeypatch.setenv(batch.BATCH_VARIABLE, bad)
        with pytest.raises(ValueError, match=batch.BATCH_VARIABLE):
            batch.batch_size()


def test_tags_carry_each_rows_key_and_the_batch_key_follows_them():
    tags = batch.run_key_tags(["k0", "k1", "k2"])
    assert tags == {request_queue.RUN_KEY_TAG: "k0", "reporting/run_key.1": "k1", "reporting/run_key.2": "k2"}
    assert batch.keys_of({**tags, "other": "x"}) == ["k0", "k1", "k2"]
    assert batch.batch_run_key(["k0", "k1"]) == batch.batch_run_key(["k0", "k1"]) != batch.batch_run_key(["k0", "k2"])
    assert batch.report_ids_of({batch.REPORT_IDS_TAG: "4,5,9"}) == [4, 5, 9]
    assert batch.report_ids_of({"generated_report_id": "7"}) == [7]
    assert batch.report_ids_of({"generated_report_id": "x"}) == [] == batch.report_ids_of({})
    with pytest.raises(ValueError):
        batch.run_key_tags(["k"] * (batch.MAX_BATCH + 1))


@pytest.fixture
def world(fresh_engine, fresh_url, tmp_path):
    w = time_world(fresh_engine)
    w["store"] = tmp_path / "store"
    w["resources"] = {
        "platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
        "report_store": LocalReportStore(directory=str(w["store"])),
        "report_mailer": OutboxReportMailer(directory=str(tmp_path / "outbox")),
        "delivery_s3": S3Resource(region_name="us-east-1"), "request_processing": RequestProcessing()}
    return w


def _tick(instance, resources, cursor=None):
    return report_request_sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources={
        k: resources[k] for k in ("platform_db", "request_processing")}))


def _key(report_id):
    return f"generated_report-{report_id}-after-none"


def _fail_sensor(instance, resources, result):
    context = dg.build_run_status_sensor_context(
        sensor_name="report_run_failure_sensor", dagster_event=result.get_run_failure_event(),
        dagster_instance=instance, dagster_run=result.dagster_run, resources={
            k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")}).for_run_failure()
    failures.report_run_failure_sensor(context)


def test_a_short_queue_gets_a_run_per_row_and_a_long_one_batches(world):
    p, resources = world["p"], world["resources"]
    few = [p.request(world["helios"], "timesheet", parameters=OCTOBER) for _ in range(3)]
    with dg.instance_for_test() as instance:
        tick = _tick(instance, resources)
        # a lone request (or a few) starts at once in a run of its own, tagged as always
        assert [r.run_key for r in tick.run_requests] == [_key(i) for i in few]
        assert tick.run_requests[0].tags[request_queue.RUN_KEY_TAG] == _key(few[0])
        assert tick.run_requests[0].run_config == {
            "ops": {"render_report": {"config": {"generated_report_id": few[0]}}}}
        for r in tick.run_requests:
            instance.create_run_for_job(generate_report, run_config=r.run_config, tags=r.tags,
                                        status=dg.DagsterRunStatus.NOT_STARTED)
        many = [p.request(world["helios"], "timesheet", parameters=OCTOBER) for _ in range(30)]
        second = _tick(instance, resources, tick.cursor)
        ids = [batch.report_ids_of(r.tags) for r in second.run_requests]
        assert ids == [many[0:8], many[8:16], many[16:23], many[23:30]]
        first = second.run_requests[0]
        assert first.run_config == {"ops": {"render_report": {"config": {"generated_report_ids": many[0:8]}}}}
        assert batch.keys_of(first.tags) == [_key(i) for i in many[0:8]]
        assert first.tags["organization_id"] == str(world["helios"]) and "generated_report_id" not in first.tags
        for r in second.run_requests:
            instance.create_run_for_job(generate_report, run_config=r.run_config, tags=r.tags,
                                        status=dg.DagsterRunStatus.NOT_STARTED)
        # every row's own key finds its batch run: nothing is offered twice
        found = runs_by_key(instance, [_key(i) for i in many])
        assert sorted(found) == sorted(_key(i) for i in many) and all(len(v) == 1 for v in found.values())
        third = _tick(instance, resources, second.cursor)
        assert third.run_requests == [] and "33 pending rows whose run is launched already" in \
            third.skip_reason.skip_message


def test_a_bad_row_fails_alone_and_the_others_in_its_batch_complete(world):
    p, resources, engine = world["p"], world["resources"], world["p"].engine
    good = p.request(world["helios"], "timesheet", parameters=OCTOBER)
    bad = p.request(world["helios"], "timesheet", parameters={**OCTOBER, "group_by": "fortnight"})
    also = p.request(world["helios"], "timesheet", "json", parameters=OCTOBER)
    with dg.instance_for_test() as instance:
        result = generate_report.execute_in_process(
            run_config={"ops": {"render_report": {"config": {"generated_report_ids": [good, bad, also]}}}},
            resources=resources, instance=instance, raise_on_error=False,
            tags=batch.run_key_tags([_key(i) for i in (good, bad, also)]))
        assert not result.success  # the run says a row failed …
        [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        assert failure.step_key == "deliver_report" and f"generated_report {bad}: " in str(failure.event_specific_data)
        _fail_sensor(instance, resources, result)  # … and the run-failure sensor leaves every row as it is
    rows = {i: p.row("generated_report", i) for i in (good, bad, also)}
    assert rows[bad]["report_status"] == "failed" and "group_by must be one of" in rows[bad]["processing_error"]
    store = LocalStore(world["store"])
    for rid in (good, also):
        assert (rows[rid]["report_status"], rows[rid]["dagster_run_id"]) == ("completed", result.run_id)
        data = store.get(rows[rid]["file_path"])
        assert CANARY.encode() not in data
    # October by member: Bea 90 + 30 billable + 45 non-billable = 2.75 h; the desk 60 non-billable
    assert b"Bea Rossi,2.75,2.00,0.75,3\r\nfield.desk@helios.example,1.00,0.00,1.00,1" in \
        store.get(rows[good]["file_path"])
    assert b'"Bea Rossi"' in store.get(rows[also]["file_path"])
    with engine.connect() as conn:
        failed = conn.execute(sa.text("SELECT entity_id FROM audit_event WHERE event_type = 'REPORT_FAILED'")).all()
    assert [r[0] for r in failed] == [bad]


def test_a_dead_batch_run_fails_its_held_row_and_releases_the_rows_it_never_took(world, monkeypatch):
    """The run died while making its second row: the row it held ends failed; the row it never
    reached stays pending under a new key and is offered again in a run of its own; the row it
    completed stays completed; a row set back to pending since (a new key) waits."""
    p, resources = world["p"], world["resources"]
    ids = [p.request(world["helios"], "timesheet", parameters=OCTOBER) for _ in range(4)]
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)
    with dg.instance_for_test() as instance:
        dead = generate_report.execute_in_process(  # a run that died before it could do anything
            run_config={"ops": {"render_report": {"config": {"generated_report_ids": ids}}}}, instance=instance,
            tags={batch.REPORT_IDS_TAG: ",".join(map(str, ids)), **batch.run_key_tags([_key(i) for i in ids])},
            raise_on_error=False, resources={
                **resources, "platform_db": PlatformDatabase(url="postgresql://nobody@127.0.0.1:9/unreachable")})
        assert not dead.success
        with p.engine.begin() as conn:  # what the run had done with its rows when it died
            conn.execute(sa.text(
                "UPDATE generated_report SET report_status = 'completed', dagster_run_id = :run, "
                "processing_started_at = :t, processing_completed_at = :t WHERE id = :id"),
                {"run": dead.run_id, "t": long_ago, "id": ids[0]})
            conn.execute(sa.text(
                "UPDATE generated_report SET report_status = 'processing', dagster_run_id = :run, "
                "processing_started_at = :t WHERE id = :id"), {"run": dead.run_id, "t": long_ago, "id": ids[1]})
            # ids[3]: taken by this run, failed, and set back to pending by a user: a key of its own now
            conn.execute(sa.text(
                "UPDATE generated_report SET report_status = 'pending', dagster_run_id = :run, "
                "processing_started_at = :t, processing_completed_at = :t WHERE id = :id"),
                {"run": dead.run_id, "t": long_ago, "id": ids[3]})
        _fail_sensor(instance, resources, dead)
        _fail_sensor(instance, resources, dead)  # a second delivery of the event changes nothing
        status = {i: p.row("generated_report", i) for i in ids}
        assert status[ids[0]]["report_status"] == "completed"
        assert status[ids[1]]["report_status"] == "failed" and status[ids[1]]["processing_error"].startswith(
            "run failed: ")
        assert (status[ids[2]]["report_status"], status[ids[2]]["dagster_run_id"]) == (
            "pending", f"released-1:{dead.run_id}")
        assert status[ids[2]]["processing_error"] is None
        assert (status[ids[3]]["report_status"], status[ids[3]]["dagster_run_id"]) == ("pending", dead.run_id)
        # the reaper on the same rows: nothing left for it, and the pending ones wait for their own runs
        monkeypatch.setattr(failures, "STUCK_AFTER", dt.timedelta(0))
        assert failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
            k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")})).skip_message == \
            "0 stuck reports marked failed"
        assert [p.row("generated_report", i)["report_status"] for i in ids[2:]] == ["pending", "pending"]
        # the sensor offers the released row again, alone, although a queue of 6 would batch the rest
        more = [p.request(world["helios"], "timesheet", parameters=OCTOBER) for _ in range(4)]
        tick = _tick(instance, resources)
        released_key = f"generated_report-{ids[2]}-after-released-1:{dead.run_id}"
        assert [batch.keys_of(r.tags) for r in tick.run_requests][0] == [released_key]
        assert tick.run_requests[0].run_key == released_key
        assert tick.run_requests[0].run_config == {
            "ops": {"render_report": {"config": {"generated_report_id": ids[2]}}}}
        assert [batch.report_ids_of(r.tags) for r in tick.run_requests[1:]] == [
            [ids[3], more[0]], [more[1]], [more[2]], [more[3]]]
    with p.engine.connect() as conn:
        failed = conn.execute(sa.text("SELECT entity_id FROM audit_event WHERE event_type = 'REPORT_FAILED'")).all()
    assert [r[0] for r in failed] == [ids[1]]


def _reap(instance, resources):
    return failures.stuck_report_reaper(dg.build_sensor_context(instance=instance, resources={
        k: resources[k] for k in ("platform_db", "report_mailer", "request_processing")})).skip_message


def test_the_reaper_releases_the_rows_a_finished_batch_run_never_took_and_a_run_of_one_fails_them(world):
    p, resources = world["p"], world["resources"]
    ids = [p.request(world["helios"], "timesheet", parameters=OCTOBER) for _ in range(3)]
    with dg.instance_for_test() as instance:
        # canceled while queued: a batch run that finished without taking any of its rows
        canceled = instance.create_run_for_job(generate_report, status=dg.DagsterRunStatus.CANCELED, tags={
            batch.REPORT_IDS_TAG: ",".join(map(str, ids)), **batch.run_key_tags([_key(i) for i in ids])})
        assert _reap(instance, resources) == "0 stuck reports marked failed"
        for rid in ids:
            row = p.row("generated_report", rid)
            assert (row["report_status"], row["dagster_run_id"]) == ("pending", f"released-1:{canceled.run_id}")
        assert _reap(instance, resources) == "0 stuck reports marked failed"  # new keys: no run yet
        # the released row's run of one, canceled too: that row fails as any run of one's would
        key = f"generated_report-{ids[0]}-after-released-1:{canceled.run_id}"
        alone = instance.create_run_for_job(generate_report, status=dg.DagsterRunStatus.CANCELED, tags={
            "generated_report_id": str(ids[0]), **batch.run_key_tags([key])})
        assert _reap(instance, resources) == "1 stuck reports marked failed"
    row = p.row("generated_report", ids[0])
    assert row["report_status"] == "failed" and f"its run {alone.run_id} ended CANCELED before taking it" in \
        row["processing_error"]
    assert [p.row("generated_report", i)["report_status"] for i in ids[1:]] == ["pending", "pending"]


def test_a_row_released_twice_fails_when_a_third_batch_dies_without_it(world):
    """The loop guard: the count is in the row's marker; a row released twice in a row is failed
    the next time a batch dies without taking it, the other rows of that batch are released."""
    p, resources = world["p"], world["resources"]
    twice, once = (p.request(world["helios"], "timesheet", parameters=OCTOBER) for _ in range(2))
    with p.engine.begin() as conn:
        conn.execute(sa.text("UPDATE generated_report SET dagster_run_id = :m WHERE id = :id"),
                     [{"m": "released-2:run-b", "id": twice}, {"m": "released-1:run-a", "id": once}])
    keys = [f"generated_report-{twice}-after-released-2:run-b", f"generated_report-{once}-after-released-1:run-a"]
    with dg.instance_for_test() as instance:
        third = instance.create_run_for_job(generate_report, status=dg.DagsterRunStatus.CANCELED, tags={
            batch.REPORT_IDS_TAG: f"{twice},{once}", **batch.run_key_tags(keys)})
        assert _reap(instance, resources) == "1 stuck reports marked failed"
    row = p.row("generated_report", twice)
    assert row["report_status"] == "failed"
    assert row["processing_error"] == (
        f"never processed: its batch run {third.run_id} ended CANCELED before taking it, after 2 earlier batch "
        "runs ended the same way; set it back to pending to try again")
    row = p.row("generated_report", once)
    assert (row["report_status"], row["dagster_run_id"]) == ("pending", f"released-2:{third.run_id}")
    assert request_queue.releases(row["dagster_run_id"]) == 2 and request_queue.releases("reaped:x") == 0 == \
        request_queue.releases(None)


def test_launchpad_recipients_with_a_batch_of_rows_are_refused_before_any_row_is_taken(world, tmp_path):
    p, resources = world["p"], world["resources"]
    helios = p.request(world["helios"], "timesheet", parameters=OCTOBER)
    canary = p.request(world["canary"], "timesheet", parameters=OCTOBER)
    with dg.instance_for_test() as instance:
        result = generate_report.execute_in_process(run_config={"ops": {
            "render_report": {"config": {"generated_report_ids": [helios, canary]}},
            "deliver_report": {"config": {"recipients": ["finance@helios.example"]}}}},
            resources=resources, instance=instance, raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_key == "render_report"
    assert "deliver_report recipients apply to one report" in str(failure.event_specific_data)
    assert [p.row("generated_report", i)["report_status"] for i in (helios, canary)] == ["pending", "pending"]
    outbox = tmp_path / "outbox"
    assert not outbox.exists() or list(outbox.iterdir()) == []


def test_a_batch_copies_each_row_to_its_s3_destination_with_one_client(world, s3_endpoint, s3_bucket, monkeypatch):
    import boto3

    p, resources = world["p"], world["resources"]
    monkeypatch.setenv("REPORTS_S3_DELIVERY_BUCKETS", s3_bucket)
    template = p.template(world["helios"], "timesheet", file_format="csv")
    sid = p.schedule(world["helios"], template, day_of_month=1, delivery_method="s3",
                     s3_destination=f"s3://{s3_bucket}/hours/")
    ids = [p.request(world["helios"], "timesheet", generation_source="scheduled", scheduled_report_id=sid,
                     report_template_id=template, parameters=OCTOBER) for _ in range(3)]
    made = []

    class CountingS3(S3Resource):
        def get_client(self):
            made.append(1)
            return super().get_client()

    with dg.instance_for_test() as instance:
        result = generate_report.execute_in_process(
            run_config={"ops": {"render_report": {"config": {"generated_report_ids": ids}}}}, instance=instance,
            resources={**resources, "delivery_s3": CountingS3(endpoint_url=s3_endpoint, region_name="us-east-1")})
        assert result.success
    # one client Dagster makes for the step's context (S3Resource.get_object_to_set_on_execution_context),
    # and one shared by the run's three copies (not one per row)
    assert len(made) == 2
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert len(keys) == 3
    store = LocalStore(world["store"])
    for rid in ids:  # each row's own file, under the schedule's prefix, the org and the period
        row = p.row("generated_report", rid)
        [key] = [k for k in keys if k.startswith(f"hours/{world['helios']}/2026/10/timesheet-{rid}-")]
        data = store.get(row["file_path"])
        assert client.get_object(Bucket=s3_bucket, Key=key)["Body"].read() == data
        assert b"Bea Rossi,2.75,2.00,0.75,3" in data
