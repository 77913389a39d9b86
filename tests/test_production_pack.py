"""The monthly pack and a request on a database shaped like the production platform (Part A+),
after `db upgrade` twice: November 2024, one organization, payable and receivable invoices, a
superseded expected version, a deduction line; then a role that row-level security blinds.

Hand-computed: payable expected (current v2) = 90,000.00 − 5,000.00 = 85,000.00; received 85,000.00
→ matched. The superseded v1 (123,250.00) never counts. Receivable: calculated 38,250.00, issued by
the ERP 38,000.00 → variance −250.00, underbilled, in its own pair and its own section.
"""

from __future__ import annotations

import json
import uuid
from decimal import Decimal as D

import dagster as dg
import pytest
import sqlalchemy as sa

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.infra import db, migrate
from tests.test_empty_pack import STAMP, pack_assets

PARTITION = "2024-11"


def _seed(engine) -> dict[str, int]:
    q = lambda conn, sql, **p: conn.execute(sa.text(sql), p).scalar()  # noqa: E731
    with engine.begin() as c:
        org = q(c, "INSERT INTO organization (name, created_at) VALUES ('Karoo Solar', '2024-01-05') RETURNING id")
        zar = q(c, "INSERT INTO currency (name, code) VALUES ('Rand', 'ZAR') RETURNING id")
        om = q(c, "INSERT INTO invoice_line_item_type (name, code) VALUES ('O&M Fee', 'OM_FEE') RETURNING id")
        ld = q(c, "INSERT INTO invoice_line_item_type (name, code) VALUES ('LD credit', 'LD_CREDIT') RETURNING id")
        en = q(c, "INSERT INTO invoice_line_item_type (name, code) VALUES ('Energy', 'ENERGY') RETURNING id")
        contractor = q(c, "INSERT INTO counterparty (name) VALUES ('Veld O&M') RETURNING id")
        client = q(c, "INSERT INTO counterparty (name) VALUES ('Municipality') RETURNING id")
        project = q(c, "INSERT INTO project (organization_id, name) VALUES (:o, 'Karoo PV') RETURNING id", o=org)
        om_contract = q(c, "INSERT INTO contract (project_id, organization_id, counterparty_id, name) "
                           "VALUES (:p, :o, :c, 'O&M agreement') RETURNING id", p=project, o=org, c=contractor)
        ppa = q(c, "INSERT INTO contract (project_id, organization_id, counterparty_id, name) "
                   "VALUES (:p, :o, :c, 'PPA') RETURNING id", p=project, o=org, c=client)
        period = q(c, "SELECT id FROM billing_period WHERE start_date = DATE '2024-11-01'")

        def expected(contract, party, total, direction, current, version, lines):
            h = q(c, "INSERT INTO expected_invoice_header (project_id, contract_id, billing_period_id, counterparty_id, "
                     "currency_id, total_amount, invoice_direction, is_current, version_no) VALUES "
                     "(:p, :k, :b, :c, :z, :t, CAST(:d AS invoice_direction), :cur, :v) RETURNING id",
                  p=None if direction == "receivable" and False else project, k=contract, b=period, c=party, z=zar,
                  t=D(total), d=direction, cur=current, v=version)
            for kind, amount in lines:
                q(c, "INSERT INTO expected_invoice_line_item (expected_invoice_header_id, invoice_line_item_type_id, "
                     "description, line_total_amount, amount_sign) VALUES (:h, :k, 'line', :a, :s) RETURNING id",
                  h=h, k=kind, a=D(amount), s=-1 if D(amount) < 0 else 1)
            return h

        def received(contract, party, total, direction, number, lines):
            h = q(c, "INSERT INTO received_invoice_header (project_id, contract_id, billing_period_id, counterparty_id, "
                     "currency_id, invoice_number, total_amount, status, invoice_direction) VALUES "
                     "(:p, :k, :b, :c, :z, :n, :t, 'verified', CAST(:d AS invoice_direction)) RETURNING id",
                  p=project, k=contract, b=period, c=party, z=zar, n=number, t=D(total), d=direction)
            for kind, amount in lines:
                q(c, "INSERT INTO received_invoice_line_item (received_invoice_header_id, invoice_line_item_type_id, "
                     "description, line_total_amount) VALUES (:h, :k, 'line', :a) RETURNING id", h=h, k=kind, a=D(amount))
            return h

        old = expected(om_contract, contractor, "123250.00", "payable", False, 1, [(om, "123250.00")])
        expected(om_contract, contractor, "85000.00", "payable", True, 2, [(om, "90000.00"), (ld, "-5000.00")])
        received(om_contract, contractor, "85000.00", "payable", "VO-11", [(om, "90000.00"), (ld, "-5000.00")])
        expected(ppa, client, "38250.00", "receivable", True, 1, [(en, "38250.00")])
        erp = received(ppa, client, "38000.00", "receivable", "SAGE-2024-11", [(en, "38000.00")])
        # a stored comparison of the superseded version with the receivable invoice: never a pair
        q(c, "INSERT INTO invoice_comparison (expected_invoice_header_id, received_invoice_header_id, status) "
             "VALUES (:e, :r, 'overbilled') RETURNING id", e=old, r=erp)
    return {"org": org}


def _run(url, store_dir):
    resources = {"platform_db": PlatformDatabase(url=url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(store_dir))}
    config = {"ops": {a.key.to_user_string(): {"config": {"generated_at": STAMP}}
                      for a in pack_assets() if a.key.to_user_string().endswith("_report")}}
    with dg.instance_for_test() as instance:
        return dg.materialize(pack_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config=config, raise_on_error=False)


def _json(engine, store_dir, report_type):
    with engine.connect() as conn:
        path = conn.execute(sa.text(
            "SELECT file_path FROM generated_report WHERE report_type = CAST(:t AS report_type) AND file_format = 'json' "
            "AND report_status = 'completed' ORDER BY id DESC LIMIT 1"), {"t": report_type}).scalar_one()
    return json.loads((store_dir / path).read_bytes())


def test_pack_on_the_production_platform_follows_versions_directions_and_signs(production_url, tmp_path):
    engine = db.create_engine(production_url)
    migrate.upgrade(engine)
    migrate.upgrade(engine)
    _seed(engine)
    for attempt in (1, 2):  # twice in a row: the same numbers, new objects
        assert _run(production_url, tmp_path).success, attempt
        comparison = _json(engine, tmp_path, "invoice_comparison")
        pairs = {r["invoice_direction"]: r for r in comparison["rows"]}
        assert len(comparison["rows"]) == 2
        assert (pairs["payable"]["expected_amount"], pairs["payable"]["received_amount"], pairs["payable"]["status"]) == \
            ("85000.00", "85000.00", "matched")
        assert (pairs["receivable"]["expected_amount"], pairs["receivable"]["received_amount"],
                pairs["receivable"]["variance"], pairs["receivable"]["status"]) == \
            ("38250.00", "38000.00", "-250.00", "underbilled")
        assert comparison["summary"]["currencies"]["ZAR"]["expected"] == "85000.00"
        assert comparison["summary"]["receivable_currencies"]["ZAR"]["received"] == "38000.00"
        expected = _json(engine, tmp_path, "invoice_expected")
        lines = [(r["invoice_direction"], line["line_total"]) for r in expected["rows"] for line in r.get("lines", [])]
        assert sorted(lines) == [("payable", "-5000.00"), ("payable", "90000.00"), ("receivable", "38250.00")]
        # per line type and direction: the receivable energy line is not mixed into the contractor's types
        assert expected["summary"]["by_line_type"] == {"ZAR": {"O&M Fee": "90000.00", "LD credit": "-5000.00"}}
        assert expected["summary"]["receivable_by_line_type"] == {"ZAR": {"Energy": "38250.00"}}
    with engine.connect() as conn:
        statuses = conn.execute(sa.text("SELECT report_status::text, count(*) FROM generated_report GROUP BY 1")).all()
        paths = conn.execute(sa.text("SELECT count(DISTINCT file_path), count(*) FROM generated_report")).one()
    assert dict(statuses) == {"completed": 2 * 7 * 5}
    assert paths[0] == paths[1]
    engine.dispose()


def test_a_role_that_rls_blinds_fails_first_with_the_tables_and_the_grant(production_url, login_role, tmp_path):
    role, admin = login_role
    _seed(admin)
    as_role = production_url.set(username=role)
    result = _run(as_role, tmp_path)
    assert not result.success
    failures = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failures[0].step_failure_data.error.message if failures[0].step_failure_data.error else ""
    described = failures[0].step_failure_data.user_failure_data.description
    assert "row-level security" in described and "expected_invoice_header" in described and "BYPASSRLS" in described
    assert role in described, message
    with admin.connect() as conn:  # nothing was written
        assert conn.execute(sa.text("SELECT count(*) FROM generated_report")).scalar_one() == 0
    with admin.begin() as conn:
        conn.exec_driver_sql(f'ALTER ROLE "{role}" BYPASSRLS')
    assert _run(as_role, tmp_path).success


def _request(engine, org: int, direction: str | None, parameters: str = "{}") -> int:
    """A pending row as the platform's API inserts it (its generated_report trigger is installed)."""
    with engine.begin() as conn:
        template = conn.execute(sa.text(
            "INSERT INTO report_template (organization_id, name, report_type, file_format) "
            "VALUES (:o, :n, 'invoice_comparison', 'json') RETURNING id"),
            {"o": org, "n": f"Comparison {uuid.uuid4().hex[:6]}"}).scalar_one()
        return conn.execute(sa.text(
            "INSERT INTO generated_report (organization_id, report_template_id, generation_source, report_type, name, "
            "file_format, billing_period_id, invoice_direction, parameters) "
            "SELECT :o, :t, 'on_demand', 'invoice_comparison', 'Comparison', 'json', b.id, "
            "CAST(:d AS invoice_direction), CAST(:p AS jsonb) FROM billing_period b WHERE b.start_date = DATE '2024-11-01' "
            "RETURNING id"), {"o": org, "t": template, "d": direction, "p": parameters}).scalar_one()


@pytest.mark.parametrize("direction, parameters, expected, lines", [
    ("receivable", "{}", {"receivable": ("38250.00", "38000.00", "-250.00")}, 1),
    (None, '{"direction": "payable"}', {"payable": ("85000.00", "85000.00", "0.00")}, 2),
    (None, "{}", {"payable": ("85000.00", "85000.00", "0.00"), "receivable": ("38250.00", "38000.00", "-250.00")}, 3),
])
def test_a_request_on_the_production_platform_is_narrowed_by_direction(production_url, tmp_path, direction,
                                                                          parameters, expected, lines):
    from reporting_dagster.lib.requests.run import run_request
    from reporting_dagster.lib.infra.store import LocalStore

    engine = db.create_engine(production_url)
    migrate.upgrade(engine)
    org = _seed(engine)["org"]
    report_id = _request(engine, org, direction, parameters)
    platform_db = PlatformDatabase(url=production_url.render_as_string(hide_password=False))
    outcome = run_request(engine, LocalStore(tmp_path), platform_db.extract, report_id, run_id="run-1")
    assert outcome.outcome == "completed", outcome.message
    data = json.loads((tmp_path / outcome.stored.key).read_bytes())
    got = {r["invoice_direction"]: (r["expected_amount"], r["received_amount"], r["variance"]) for r in data["rows"]}
    assert got == expected
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT report_status::text, processing_started_at, record_count FROM generated_report "
                                   "WHERE id = :i"), {"i": report_id}).one()
    # record_count = the line detail rows (OM fee + LD credit payable, energy receivable)
    assert row[0] == "completed" and row[1] is not None and row[2] == lines
    engine.dispose()


def test_a_request_whose_direction_and_parameter_disagree_fails_with_a_message(production_url, tmp_path):
    from reporting_dagster.lib.requests.run import run_request
    from reporting_dagster.lib.infra.store import LocalStore

    engine = db.create_engine(production_url)
    migrate.upgrade(engine)
    org = _seed(engine)["org"]
    report_id = _request(engine, org, "receivable", '{"direction": "payable"}')
    platform_db = PlatformDatabase(url=production_url.render_as_string(hide_password=False))
    outcome = run_request(engine, LocalStore(tmp_path), platform_db.extract, report_id, run_id="run-1")
    assert outcome.outcome == "invalid" and "disagree" in outcome.message
    engine.dispose()
