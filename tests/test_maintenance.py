"""report_catalog and standard_report_templates against a real database."""

import dataclasses
import dagster as dg
import sqlalchemy as sa

from reporting_dagster.defs.maintenance.catalog import report_catalog, standard_report_templates
from reporting_dagster.defs.resources import PlatformDatabase
from reporting_dagster.lib.operations import maintenance
from reporting_dagster.lib.documents.catalog import CATALOG
from tests.builders import Platform


def _definitions(engine):
    with engine.connect() as conn:
        return {r.slug: r for r in conn.execute(sa.text("SELECT * FROM report_definition")).all()}


def test_catalog_sync_inserts_then_changes_nothing_then_updates_newer_versions(fresh_engine):
    first = maintenance.sync_report_definitions(fresh_engine)
    assert sorted(first.inserted) == sorted(CATALOG)
    rows = _definitions(fresh_engine)
    comparison = rows["invoice_comparison"]
    assert comparison.name == "Invoice Comparison Report" and comparison.category == "INVOICING"
    columns = comparison.column_definitions["columns"]
    assert {"key": "variance", "label": "Variance", "type": "currency", "format": "0.00"} in columns
    params = {p["name"]: p for p in comparison.parameter_schema["parameters"]}
    assert params["tolerance_absolute"]["default"] == "0.01"

    second = maintenance.sync_report_definitions(fresh_engine)
    assert second.inserted == [] and second.updated == [] and sorted(second.unchanged) == sorted(CATALOG)
    assert _definitions(fresh_engine)["invoice_comparison"].updated_at == comparison.updated_at

    bumped = dict(CATALOG)
    newer = CATALOG["invoice_comparison"].version + 1
    bumped["invoice_comparison"] = dataclasses.replace(CATALOG["invoice_comparison"], version=newer, name="Comparison v2")
    third = maintenance.sync_report_definitions(fresh_engine, bumped)
    assert third.updated == ["invoice_comparison"]
    assert _definitions(fresh_engine)["invoice_comparison"].name == "Comparison v2"
    # an older catalogue never downgrades the row
    fourth = maintenance.sync_report_definitions(fresh_engine)
    assert fourth.newer_in_database == ["invoice_comparison"]
    assert _definitions(fresh_engine)["invoice_comparison"].version == newer


def _templates(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT organization_id, name, report_type::text AS report_type, is_active, template_config, "
            "brand_color FROM report_template ORDER BY organization_id, report_type")).mappings().all()


def test_standard_templates_fill_gaps_and_leave_user_templates_alone(fresh_engine):
    p = Platform(fresh_engine)
    a = p.org("Alpha")
    b = p.org("Beta")
    # Alpha customised its comparison template; Beta deactivated the standard one
    p.template(a, "invoice_comparison", name="Our comparison", brand_color="#112233")
    p.template(b, "invoice_comparison", name="Invoice Comparison Report", is_active=False)

    created = maintenance.ensure_standard_templates(fresh_engine)
    assert created["invoice_comparison"] == [b]
    rows = _templates(fresh_engine)
    active = {(r["organization_id"], r["report_type"]) for r in rows if r["is_active"]}
    assert active == {(org, t) for org in (a, b) for t in CATALOG}
    ours = next(r for r in rows if r["name"] == "Our comparison")
    assert ours["brand_color"] == "#112233" and ours["template_config"] == {}  # untouched
    renamed = next(r for r in rows if r["organization_id"] == b and r["report_type"] == "invoice_comparison" and r["is_active"])
    assert renamed["name"] == "Invoice Comparison Report (standard)"
    assert renamed["template_config"]["sections"] == ["variance_breakdown", "line_item_matching", "highlight_discrepancies"]

    # idempotent; an organization created later gets its templates on the next run
    assert all(v == [] for v in maintenance.ensure_standard_templates(fresh_engine).values())
    c = p.org("Gamma")
    again = maintenance.ensure_standard_templates(fresh_engine)
    assert all(v == [c] for v in again.values())


def test_maintenance_assets_materialize(fresh_engine, fresh_url):
    Platform(fresh_engine).org("Alpha")
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [report_catalog, standard_report_templates], instance=instance,
            resources={"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False))})
    assert result.success
    meta = result.asset_materializations_for_node("standard_report_templates")[0].metadata
    assert meta["templates_created"].value == len(CATALOG)
    assert len(_definitions(fresh_engine)) == len(CATALOG)
