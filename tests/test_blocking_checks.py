"""A failed ERROR check keeps the concerned organizations' files from being made and sent, in the
pack and in requests; WARN findings go into the file's summary. October 2026:

- Alpha and Beta: a stored comparison links Beta's expected invoice to Alpha's received one (a
  pair across two tenants) → pairs_within_one_organization fails; both are blocked.
- Gamma: clean, except one header whose total (100.00) is not its lines' sum (90.00) → its files
  are made, with the line_totals_match_headers warning in their summary.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import sqlalchemy as sa

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.requests.run import run_request
from reporting_dagster.lib.infra.store import LocalStore
from tests.request_builders import RequestPlatform
from tests.test_assets import PARTITION, slice_assets

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
D = __import__("decimal").Decimal


def _world(engine):
    p = RequestPlatform(engine)
    period = p.period(2026, 10)
    alpha, beta, gamma = p.org("Alpha"), p.org("Beta"), p.org("Gamma")
    pa, pb, pg = p.project(alpha, "A"), p.project(beta, "B"), p.project(gamma, "G")
    ca, cb, cg = p.contract(alpha, pa, "A O&M"), p.contract(beta, pb, "B O&M"), p.contract(gamma, pg, "G O&M")
    p.expected(period, ca, pa, "EUR", [("OM_FEE", "Fee", "100.00")])
    alpha_received = p.received(period, ca, pa, "EUR", [("OM_FEE", "Fee", "100.00")], "A-1")
    beta_expected = p.expected(period, cb, pb, "EUR", [("OM_FEE", "Fee", "500.00")])
    p.stored_comparison(beta_expected, alpha_received, "matched")
    p.expected(period, cg, pg, "EUR", [("OM_FEE", "Fee", "90.00")], total=D("100.00"))
    p.received(period, cg, pg, "EUR", [("OM_FEE", "Fee", "90.00")], "G-1", total=D("90.00"))
    for org in (alpha, beta, gamma):
        p.template(org, "invoice_comparison")
    return p, {"alpha": alpha, "beta": beta, "gamma": gamma}


def test_the_pack_makes_no_file_for_blocked_organizations_and_fails_visibly(fresh_engine, fresh_url, tmp_path):
    p, orgs = _world(fresh_engine)
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(tmp_path))}
    with dg.instance_for_test() as instance:
        result = dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                                raise_on_error=False)
    assert not result.success  # the export step fails, naming the failed files
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    crossing = evaluations["pairs_within_one_organization"]
    assert not crossing.passed and crossing.severity == dg.AssetCheckSeverity.ERROR and crossing.partition == PARTITION
    with fresh_engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT organization_id, report_status::text AS status, file_path, processing_error, summary_data "
            "FROM generated_report ORDER BY id")).mappings().all()
    by_org = {o: [r for r in rows if r["organization_id"] == i] for o, i in orgs.items()}
    for name in ("alpha", "beta"):
        assert len(by_org[name]) == 5
        for r in by_org[name]:
            assert r["status"] == "failed" and r["file_path"] is None
            assert "blocked by check pairs_within_one_organization" in r["processing_error"]
    assert [r["status"] for r in by_org["gamma"]] == ["completed"] * 5
    assert by_org["gamma"][0]["summary_data"]["check_warnings"] == [{"check": "line_totals_match_headers",
                                                                      "invoices": 1}]
    files = sorted(str(f.relative_to(tmp_path)) for f in tmp_path.rglob("*") if f.is_file())
    assert len(files) == 5 and all(f.startswith(f"reports/{orgs['gamma']}/") for f in files)


def test_a_request_of_a_blocked_organization_fails_with_the_check(fresh_engine, tmp_path):
    p, orgs = _world(fresh_engine)
    read = PlatformDatabase(url=fresh_engine.url.render_as_string(hide_password=False)).extract
    blocked = p.request(orgs["alpha"], "invoice_comparison", "json", parameters={"billing_period": PARTITION})
    outcome = run_request(fresh_engine, LocalStore(tmp_path), read, blocked, run_id="run-1", now=NOW)
    assert outcome.outcome == "failed" and "pairs_within_one_organization" in outcome.message
    assert not [f for f in tmp_path.rglob("*") if f.is_file()]
    clean = p.request(orgs["gamma"], "invoice_comparison", "json", parameters={"billing_period": PARTITION})
    outcome = run_request(fresh_engine, LocalStore(tmp_path), read, clean, run_id="run-2", now=NOW)
    assert outcome.outcome == "completed", outcome.message
    data = json.loads((tmp_path / outcome.stored.key).read_bytes())
    assert data["summary"]["check_warnings"] == [{"check": "line_totals_match_headers", "invoices": 1}]
