"""The access check on the production-shaped platform: every way row-level security or a missing
grant could make the pipeline see or change nothing is caught; a role set up as the README says passes."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from reporting_dagster.lib.infra import db, platform_access

CORE = ["organization", "project", "contract", "counterparty", "invoice_header", "invoice_line_item",
        "expected_invoice_header", "expected_invoice_line_item", "received_invoice_header",
        "received_invoice_line_item", "invoice_comparison", "invoice_comparison_line_item", "meter_aggregate",
        "report_template", "scheduled_report", "generated_report"]


@pytest.fixture
def platform(production_url, login_role):
    """The upgraded production-shaped database: an admin engine, an engine of the login role, its name."""
    role, admin = login_role
    engine = db.create_engine(production_url.set(username=role))
    yield admin, engine, role
    engine.dispose()


def _policies(admin, role: str, clause: str, tables=CORE) -> None:
    suffix = uuid.uuid4().hex[:4]
    with admin.begin() as conn:
        for t in tables:
            conn.exec_driver_sql(f'CREATE POLICY "{role}_{t}_{suffix}" ON {t} {clause.format(role=role)}')


def _message(engine) -> str:
    with pytest.raises(platform_access.PlatformAccessError) as caught:
        platform_access.check_access(engine)
    return str(caught.value)


def test_no_policy_is_named_with_the_fix(platform):
    admin, engine, role = platform
    message = _message(engine)
    assert "expected_invoice_header" in message and "organization" in message and "BYPASSRLS" in message
    assert role in message
    with engine.connect() as conn:  # what the check protects against: silence
        assert conn.execute(sa.text("SELECT count(*) FROM billing_period")).scalar_one() == 48
        assert conn.execute(sa.text("SELECT count(*) FROM organization")).scalar_one() == 0


@pytest.mark.parametrize("setup, hidden", [
    # read-only policies: the report tables cannot be written (a request would stay pending)
    ('FOR SELECT TO "{role}" USING (true)', "generated_report"),
    # a tenant condition: some rows hidden
    ('FOR ALL TO "{role}" USING (id = 1) WITH CHECK (true)', "organization"),
    # a policy for everybody with a condition
    ("FOR SELECT USING (id = current_setting('app.org', true)::bigint)", "organization"),
])
def test_policies_that_do_not_open_every_row_are_caught(platform, setup, hidden):
    admin, engine, role = platform
    _policies(admin, role, setup)
    assert hidden in _message(engine)


def test_a_restrictive_policy_is_caught_and_membership_in_a_blind_role_does_not_help(platform):
    admin, engine, role = platform
    with admin.begin() as conn:
        conn.exec_driver_sql(f'GRANT platform_authenticated TO "{role}"')  # its policies are USING (false)
    assert "organization" in _message(engine)
    _policies(admin, role, 'FOR ALL TO "{role}" USING (true) WITH CHECK (true)')
    _policies(admin, role, 'AS RESTRICTIVE FOR SELECT TO "{role}" USING (id > 0)', ["organization"])
    hidden = set(_message(engine).split("may hide rows of ", 1)[1].split(" from role", 1)[0].split(", "))
    assert "organization" in hidden and not hidden & (set(CORE) - {"organization"})  # only the restricted one


def test_a_role_the_readme_way_passes_and_a_missing_write_grant_is_named(platform):
    admin, engine, role = platform
    with admin.begin() as conn:
        conn.exec_driver_sql(f'ALTER ROLE "{role}" BYPASSRLS')
    platform_access.check_access(engine)  # no error
    with admin.begin() as conn:
        conn.exec_driver_sql(f'REVOKE UPDATE ON generated_report FROM "{role}"')
    message = _message(engine)
    assert "may not write generated_report" in message and "GRANT INSERT, UPDATE ON generated_report" in message


def test_policies_opening_every_row_pass(platform):
    admin, engine, role = platform
    _policies(admin, role, 'FOR ALL TO "{role}" USING (true) WITH CHECK (true)')
    # our own tables got RLS (the platform uses it) and no policy: the role needs one there too
    ours = ["member", "task", "time_entry", "customer_project", "invoice_payment", "report_definition",
            "report_delivery", "audit_event", "reporting_installation"]
    assert "member" in _message(engine)
    _policies(admin, role, 'FOR ALL TO "{role}" USING (true) WITH CHECK (true)', ours)
    platform_access.check_access(engine)


def test_a_blinded_role_fails_the_request_sensor_tick_instead_of_finding_nothing(platform):
    import dagster as dg

    from reporting_dagster.defs.requests.sensors import report_request_sensor
    from reporting_dagster.defs.resources import PlatformDatabase, RequestProcessing

    admin, engine, role = platform
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor="0", resources={
            "platform_db": PlatformDatabase(url=engine.url.render_as_string(hide_password=False)),
            "request_processing": RequestProcessing(enabled=True)})
        with pytest.raises(dg.Failure, match="row-level security"):
            report_request_sensor(context)
