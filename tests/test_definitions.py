"""The code location: loads, lineage from the platform tables, checks attached, schedule."""

import datetime as dt
import warnings

import dagster as dg

from reporting_dagster.definitions import defs
from reporting_dagster.defs.partitions import billing_period

EXPECTED_ASSETS = {
    "expected_invoice_lines", "received_invoice_lines", "stored_invoice_comparisons",
    "invoice_comparison", "invoice_comparison_report",
    "receivable_invoices", "invoice_aging", "invoice_aging_report",
    "client_invoice_lines", "invoice_to_client", "invoice_expected", "invoice_received",
    "invoice_to_client_report", "invoice_expected_report", "invoice_received_report",
    "time_entries", "project_customers", "timesheet", "project_profitability",
    "timesheet_report", "project_profitability_report",
}
MAINTENANCE_ASSETS = {"report_catalog", "standard_report_templates", "report_statistics"}


def test_code_location_loads():
    dg.Definitions.validate_loadable(defs)


def _graph():
    return defs.resolve_asset_graph()


def test_lineage_runs_from_platform_tables_to_report_files():
    graph = _graph()
    materializable = {k.to_user_string() for k in graph.materializable_asset_keys}
    assert materializable == EXPECTED_ASSETS | MAINTENANCE_ASSETS
    parents = lambda name: {k.to_user_string() for k in graph.get(dg.AssetKey(name)).parent_keys}  # noqa: E731
    assert {"platform/expected_invoice_header", "platform/expected_invoice_line_item",
            "platform/project", "platform/contract"} <= parents("expected_invoice_lines")
    assert {"platform/received_invoice_header", "platform/received_invoice_line_item"} <= parents("received_invoice_lines")
    assert parents("invoice_comparison") == {"expected_invoice_lines", "received_invoice_lines", "stored_invoice_comparisons"}
    assert "invoice_comparison" in parents("invoice_comparison_report")
    for name in EXPECTED_ASSETS:
        assert graph.get(dg.AssetKey(name)).partitions_def == billing_period


def test_checks_are_attached_to_invoice_comparison():
    checks = {(k.asset_key.to_user_string(), k.name) for k in _graph().asset_check_keys}
    assert checks >= {
        ("invoice_comparison", "line_totals_match_headers"),
        ("invoice_comparison", "no_invoice_counted_twice"),
        ("invoice_comparison", "every_invoice_has_organization"),
    }


def test_partitions_are_completed_months_from_2024_01():
    keys = billing_period.get_partition_keys(current_time=dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc))
    assert keys[0] == "2024-01" and keys[-1] == "2026-10" and len(keys) == 34
    # on the first of a month the month that just closed is the newest key
    keys = billing_period.get_partition_keys(current_time=dt.datetime(2026, 12, 1, 0, 5, tzinfo=dt.timezone.utc))
    assert keys[-1] == "2026-11"


def test_monthly_schedule_runs_the_month_that_just_closed():
    schedule = defs.resolve_schedule_def("monthly_reports_schedule")
    assert schedule.cron_schedule == "0 6 1 * *" and schedule.job_name == "monthly_reports"
    with dg.instance_for_test() as instance:
        context = dg.build_schedule_context(
            instance=instance, scheduled_execution_time=dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.timezone.utc),
            repository_def=defs.get_repository_def())
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)  # a tick calls nothing deprecated
            requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["2026-11"]


def test_monthly_job_covers_every_partitioned_asset():
    job = defs.resolve_job_def("monthly_reports")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == EXPECTED_ASSETS


def test_maintenance_job_runs_daily_before_the_monthly_pack():
    job = defs.resolve_job_def("report_maintenance")
    assert {k.to_user_string() for k in job.asset_layer.selected_asset_keys} == MAINTENANCE_ASSETS
    schedule = defs.resolve_schedule_def("report_maintenance_schedule")
    assert schedule.cron_schedule == "0 5 * * *"


def test_every_report_type_has_an_export_asset_and_a_catalogue_entry():
    from reporting_dagster.lib.documents.catalog import CATALOG

    assert set(CATALOG) == {"invoice_to_client", "invoice_expected", "invoice_received", "invoice_comparison",
                            "invoice_aging", "timesheet", "project_profitability"}
    assert {f"{slug}_report" for slug in CATALOG} <= EXPECTED_ASSETS


def test_request_operations_are_wired_and_running_by_default():
    for name in ("generate_report", "report_retention", "install_s3_lifecycle_rules", "redeliver_report"):
        defs.resolve_job_def(name)
    for name in ("report_request_sensor", "scheduled_report_sensor", "report_run_failure_sensor",
                 "stuck_report_reaper", "delivery_retry_sensor"):
        sensor = defs.resolve_sensor_def(name)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING, name
    assert defs.resolve_sensor_def("report_request_sensor").job_name == "generate_report"
    assert defs.resolve_schedule_def("report_retention_schedule").job_name == "report_retention"
    assert defs.resolve_job_def("generate_report").tags["reporting/queue"] == "requests"
    assert defs.resolve_sensor_def("delivery_retry_sensor").job_name == "redeliver_report"
    assert defs.resolve_job_def("redeliver_report").tags["reporting/queue"] == "requests"


def test_every_schedule_and_sensor_starts_running_on_a_fresh_instance():
    """Nothing waits for someone to find a toggle: the monthly pack runs on a new deployment."""
    repo = defs.get_repository_def()
    schedules = {s.name: s.default_status for s in repo.schedule_defs}
    sensors = {s.name: s.default_status for s in repo.sensor_defs}
    assert {"monthly_reports_schedule", "report_maintenance_schedule", "report_retention_schedule",
            "dagster_run_retention_schedule"} <= set(schedules)
    assert {n: s for n, s in schedules.items() if s != dg.DefaultScheduleStatus.RUNNING} == {}
    assert {n: s for n, s in sensors.items() if s != dg.DefaultSensorStatus.RUNNING} == {}


def test_the_first_billing_period_is_configurable_and_checked(monkeypatch):
    import pytest

    from reporting_dagster.lib.infra import settings

    monkeypatch.delenv("REPORTS_FIRST_BILLING_PERIOD", raising=False)
    assert settings.first_billing_period() == "2024-01"
    monkeypatch.setenv("REPORTS_FIRST_BILLING_PERIOD", "2024-11")
    assert settings.first_billing_period() == "2024-11"
    monkeypatch.setenv("REPORTS_FIRST_BILLING_PERIOD", "Nov 2024")
    with pytest.raises(ValueError, match="YYYY-MM"):
        settings.first_billing_period()


def test_db_first_period_prints_the_platforms_first_month(fresh_url, monkeypatch, capsys):
    from reporting_dagster import cli
    from tests.builders import Platform
    from reporting_dagster.lib.infra import db

    engine = db.create_engine(fresh_url)
    Platform(engine).period(2025, 3)
    Platform(engine).period(2024, 11)
    engine.dispose()
    monkeypatch.setenv("REPORTING_DATABASE_URL", fresh_url.render_as_string(hide_password=False))
    assert cli.main(["db", "first-period"]) == 0
    assert capsys.readouterr().out.strip() == "2024-11"


EXTRACTS = {  # asset → the tables its .sql reads, written out by hand from the files
    # customer_project and contract: the organizations a counterparty is linked to (tenant-boundary check)
    "expected_invoice_lines": {"expected_invoice_header", "expected_invoice_line_item", "project", "contract",
                               "counterparty", "currency", "invoice_line_item_type", "customer_project"},
    "received_invoice_lines": {"received_invoice_header", "received_invoice_line_item", "project", "contract",
                               "counterparty", "currency", "invoice_line_item_type", "customer_project"},
    "stored_invoice_comparisons": {"invoice_comparison", "expected_invoice_header", "received_invoice_header",
                                   "project", "contract"},
    "client_invoice_lines": {"invoice_header", "invoice_line_item", "meter_aggregate", "project", "contract",
                             "counterparty", "currency", "invoice_line_item_type", "customer_project"},
    "receivable_invoices": {"invoice_header", "invoice_payment", "project", "contract", "counterparty", "currency",
                            "customer_project"},
    "time_entries": {"time_entry", "task", "member", "project"},
    "project_customers": {"customer_project", "counterparty", "time_entry", "task"},
}


def test_each_extract_depends_on_the_tables_its_sql_reads():
    graph = defs.resolve_asset_graph()
    for name, tables in EXTRACTS.items():
        deps = {k.path[-1] for k in graph.get(dg.AssetKey(name)).parent_keys if k.path[0] == "platform"}
        assert deps == tables | {"billing_period"}, name


def test_a_table_the_lineage_does_not_know_fails_the_load_by_name(monkeypatch):
    import pytest

    from reporting_dagster.defs import platform_tables

    monkeypatch.setattr(platform_tables, "tables_read", lambda name: ["organization", "ledger_entry"])
    with pytest.raises(ValueError, match="ledger_entry: add it to PLATFORM_TABLES"):
        platform_tables.extract_deps("anything")


def test_exports_follow_the_standard_templates_and_rules_carry_a_code_version():
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        if key.path[0] != "platform" and key.path[-1].endswith("_report"):
            assert dg.AssetKey("standard_report_templates") in graph.get(key).parent_keys, key
    for name in ("invoice_comparison", "invoice_to_client", "invoice_expected", "invoice_received", "invoice_aging",
                 "timesheet", "project_profitability"):
        assert graph.get(dg.AssetKey(name)).code_version, name
    assert graph.get(dg.AssetKey("invoice_comparison")).code_version == "3"


EXPORTS = ("invoice_to_client", "invoice_expected", "invoice_received", "invoice_comparison", "invoice_aging",
           "timesheet", "project_profitability")


def test_export_kinds_name_the_formats_and_s3_only_when_storing_in_s3(monkeypatch):
    from reporting_dagster.defs.exports.factory import export_kinds

    monkeypatch.delenv("REPORTS_S3_BUCKET", raising=False)
    assert export_kinds() == {"pdf", "csv", "xlsx", "json", "html"}
    monkeypatch.setenv("REPORTS_S3_BUCKET", "reports")
    assert export_kinds() == {"pdf", "csv", "xlsx", "json", "html", "s3"}
    graph = _graph()
    for name in EXPORTS:  # loaded in this test process: whatever its environment chose
        kinds = {tag.split("/", 2)[-1] for tag in graph.get(dg.AssetKey(f"{name}_report")).tags
                 if tag.startswith("dagster/kind/")}
        assert {"pdf", "csv", "xlsx", "json", "html"} <= kinds, name


def test_every_export_asset_has_a_description_of_its_own():
    graph = _graph()
    descriptions = {name: graph.get(dg.AssetKey(f"{name}_report")).description for name in EXPORTS}
    # the UI shows a description's start on the asset's node: the starts differ, not only the ends
    assert len({d[:30] for d in descriptions.values()}) == len(EXPORTS), descriptions
    assert all("PDF, CSV, XLSX, JSON and HTML" in d for d in descriptions.values()), descriptions


def test_loading_the_code_location_warns_about_nothing_of_ours():
    """No BetaWarning, SupersessionWarning or deprecation from our own definitions on start."""
    import subprocess
    import sys

    code = ("import warnings; warnings.simplefilter('error');"
            "import reporting_dagster.definitions as d; d.defs.get_repository_def()")
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
