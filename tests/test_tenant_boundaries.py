"""Cross-organization references in the data are caught by a check (issue 10 item 5): every row
printed in an organization's file resolves to it through every reference it prints, or it is
left out and reported by an ERROR check (the comparison: its organizations' files are stopped).

October 2026. Alpha has clean rows of every kind; Beta's names all carry BETA-CANARY. Alpha's
rows that reach into Beta (every amount is one that appears nowhere else):

- X1 client invoice: Alpha's project, Beta's contract (1111.11) — listing and aging;
- X2 client invoice: Alpha's project and contract, Beta's client (2222.22) — listing and aging;
- X3 client invoice: a contract without organization whose project is Beta's (3333.33);
- X4 expected / X5 received invoice: Alpha's project, Beta's contract (4444.44 / 5555.55);
- A-V-2 received invoice linked by a stored comparison to Beta's September expected invoice
  (stored final amount 6666.66);
- a contract of no organization paired across: Alpha's expected 700.00 and Beta's X7 (7777.77);
- a time entry of Beta's member on Alpha's project (45 min at 88.88).

The pack (all seven report types) and a request per report type and format are run; every file
of Alpha is read back (PDF text, XLSX cells, CSV, JSON, HTML): none holds a BETA-CANARY name
or one of those amounts, and the ERROR finding names each row left out.
"""

from __future__ import annotations

import datetime as dt
import io
import json

import dagster as dg
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.requests.run import run_request
from tests.request_builders import RequestPlatform
from tests.test_empty_pack import PARTITION, REPORT_TYPES, STAMP, pack_assets

CANARY = "BETA-CANARY"
NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
FORMATS = ("pdf", "csv", "xlsx", "json", "html")
FOREIGN_AMOUNTS = ("1111.11", "2222.22", "3333.33", "4444.44", "5555.55", "6666.66", "7777.77", "88.88")
LEFT_OUT_TYPES = ("invoice_to_client", "invoice_expected", "invoice_received", "invoice_aging", "timesheet",
                  "project_profitability")


@pytest.fixture
def world(fresh_engine):
    p = RequestPlatform(fresh_engine)
    sep, octo = p.period(2026, 9), p.period(2026, 10)
    alpha, beta = p.org("Alpha Solar"), p.org(f"{CANARY} Org")
    pa, pb = p.project(alpha, "Alpha Farm"), p.project(beta, f"{CANARY} project")
    alpha_client, beta_client = p.counterparty("Alpha Client"), p.counterparty(f"{CANARY} client")
    contractor = p.counterparty("Alpha Contractor")
    ca = p.contract(alpha, pa, "Alpha PPA", alpha_client)
    om, om2 = p.contract(alpha, pa, "Alpha O&M", contractor), p.contract(alpha, pa, "Alpha O&M 2", contractor)
    cb = p.contract(beta, pb, f"{CANARY} contract", beta_client)
    no_org = p.contract(None, pb, f"{CANARY} contract of the project")
    shared = p.contract(None, None, "Shared contract K")
    day, due = dt.date(2026, 10, 6), dt.date(2026, 11, 5)

    def client_invoice(contract, number, amount, **kw):
        return p.client_invoice(octo, contract, pa, "USD", [("CAPACITY", "Capacity", "1", amount, amount, None)],
                                number, invoice_date=day, due_date=due, **kw)

    ids = {"alpha": alpha, "beta": beta, "beta_client": beta_client}
    # Alpha's clean rows
    client_invoice(ca, "A-INV-1", "500.00", counterparty_id=alpha_client)
    p.expected_lines(octo, om, pa, "USD", [("OM_FEE", "Fee", "1", "1000.00", "1000.00")], counterparty_id=contractor)
    p.received_lines(octo, om, pa, "USD", [("OM_FEE", "Fee", "1", "1000.00", "1000.00")], "A-V-1",
                     counterparty_id=contractor)
    ann = p.member(alpha, "Alpha Ann", "ann@alpha.example")
    task = p.task(pa, "Inspection")
    p.entry(task, ann, dt.date(2026, 10, 12), 60, True, ("100.00", "USD"), ("40.00", "USD"))
    # Alpha's rows that reach into Beta
    ids["x1"] = client_invoice(cb, f"X1-{CANARY}", "1111.11")
    ids["x2"] = client_invoice(ca, f"X2-{CANARY}", "2222.22", counterparty_id=beta_client)
    ids["x3"] = client_invoice(no_org, f"X3-{CANARY}", "3333.33")
    ids["x4"] = p.expected_lines(octo, cb, pa, "USD", [("OM_FEE", "Fee", "1", "4444.44", "4444.44")])
    ids["x5"] = p.received_lines(octo, cb, pa, "USD", [("OM_FEE", "Fee", "1", "5555.55", "5555.55")], f"X5-{CANARY}")
    ids["av2"] = p.received_lines(octo, om2, pa, "USD", [("OM_FEE", "Fee", "1", "300.00", "300.00")], "A-V-2",
                                  counterparty_id=contractor)
    beta_september = p.expected_lines(sep, cb, pb, "USD", [("OM_FEE", "Fee", "1", "6000.00", "6000.00")])
    p.stored_comparison(beta_september, ids["av2"], "matched", final_amount=__import__("decimal").Decimal("6666.66"))
    ids["k_alpha"] = p.expected_lines(octo, shared, pa, "USD", [("OM_FEE", "Fee", "1", "700.00", "700.00")])
    ids["k_beta"] = p.received_lines(octo, shared, pb, "USD", [("OM_FEE", "Fee", "1", "7777.77", "7777.77")],
                                     f"X7-{CANARY}")
    outsider = p.member(beta, f"{CANARY} person", "person@beta.example")
    ids["entry"] = p.entry(task, outsider, dt.date(2026, 10, 13), 45, True, ("88.88", "USD"), ("88.88", "USD"))
    ids["p"] = p
    return ids


def _readable(fmt: str, data: bytes) -> str:
    if fmt == "pdf":
        return " ".join("\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())
    if fmt == "xlsx":
        wb = load_workbook(io.BytesIO(data))
        return "\n".join(str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None)
    return data.decode("utf-8")


def _assert_nothing_of_beta(label, fmt: str, data: bytes) -> None:
    text = _readable(fmt, data)
    assert CANARY not in text, (label, fmt)
    for amount in FOREIGN_AMOUNTS:
        whole, cents = amount.split(".")
        for shown in (amount, f"{int(whole):,}.{cents}"):
            assert shown not in text, (label, fmt, shown)


EXPECTED_LEFT_OUT = {  # report type → (id column, the rows left out, their foreign references)
    "invoice_to_client": ("header_id", ["x1", "x2", "x3"], ["client", "contract"]),
    "invoice_expected": ("header_id", ["x4"], ["contract"]),
    "invoice_received": ("header_id", ["x5"], ["contract"]),
    "invoice_aging": ("invoice_id", ["x1", "x2", "x3"], ["contract", "customer"]),
    "timesheet": ("entry_id", ["entry"], ["member"]),
    "project_profitability": ("entry_id", ["entry"], ["member"]),
}


def _assert_finding(world, report_type: str, summary: dict) -> None:
    id_column, rows, kinds = EXPECTED_LEFT_OUT[report_type]
    [found] = summary["left_out"]
    assert found["severity"] == "ERROR" and found["check"] == "references_within_organization"
    assert found[id_column] == sorted(world[r] for r in rows) and found["foreign_references"] == kinds, found
    assert found["left_out"] == len(rows) and "another organization" in found["message"]


def test_the_pack_leaves_cross_organization_rows_out_and_checks_report_them(world, fresh_url, tmp_path):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(tmp_path))}
    ops = {f"{rt}_report": {"config": {"generated_at": STAMP}} for rt in REPORT_TYPES}
    with dg.instance_for_test() as instance:
        result = dg.materialize(pack_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                                run_config={"ops": ops}, raise_on_error=False)
    assert not result.success  # the comparison export fails, naming its blocked files

    checks = {(e.asset_key.to_user_string(), e.asset_check_key.name): e for e in result.get_asset_check_evaluations()}
    for asset, name, left_out in (("invoice_to_client", "references_within_organization", 3),
                                  ("invoice_expected", "references_within_organization", 1),
                                  ("invoice_received", "references_within_organization", 1),
                                  ("invoice_aging", "references_within_organization", 3),
                                  ("timesheet", "member_and_project_same_organization", 1),
                                  ("project_profitability", "member_and_project_same_organization", 1)):
        check = checks[(asset, name)]
        assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR, (asset, name)
        assert check.metadata["left_out"].value == left_out, (asset, name)
    conflicts = checks[("invoice_comparison", "invoices_resolve_to_one_organization")]
    assert not conflicts.passed and conflicts.severity == dg.AssetCheckSeverity.ERROR
    assert conflicts.metadata["invoices"].value == 2  # X4 and X5
    crossing = checks[("invoice_comparison", "pairs_within_one_organization")]
    assert not crossing.passed and crossing.severity == dg.AssetCheckSeverity.ERROR
    listed = crossing.metadata["listed"].value
    assert crossing.metadata["invoices"].value == 3 and "A-V-2" in listed  # A-V-2, and the pair on contract K

    with world["p"].engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT organization_id, report_type::text AS rt, report_status::text AS status, "
            "file_format::text AS fmt, file_path, summary_data, processing_error "
            "FROM generated_report ORDER BY id")).mappings().all()
    alpha = [r for r in rows if r["organization_id"] == world["alpha"]]
    assert len(alpha) == 35
    for r in alpha:
        if r["rt"] == "invoice_comparison":  # stopped: nothing made, the checks named
            assert r["status"] == "failed" and r["file_path"] is None
            assert "invoices_resolve_to_one_organization" in r["processing_error"]
            assert "pairs_within_one_organization" in r["processing_error"]
            continue
        assert r["status"] == "completed", r
        _assert_nothing_of_beta(r["rt"], r["fmt"], (tmp_path / r["file_path"]).read_bytes())
        _assert_finding(world, r["rt"], r["summary_data"])
    # the rest of Alpha's data is all there (by hand: 500.00 client, 1000.00 contractor, 1 h)
    json_files = {r["rt"]: json.loads((tmp_path / r["file_path"]).read_bytes()) for r in alpha
                  if r["fmt"] == "json" and r["file_path"]}
    assert json_files["invoice_to_client"]["summary"]["currencies"]["USD"]["amount"] == "500.00"
    assert json_files["invoice_aging"]["summary"]["currencies"]["USD"]["open_amount"] == "500.00"
    assert json_files["invoice_received"]["summary"]["currencies"]["USD"]["amount"] == "1300.00"  # A-V-1 + A-V-2
    assert json_files["timesheet"]["summary"]["total_hours"] == "1.00"
    assert json_files["project_profitability"]["summary"]["currencies"]["USD"]["revenue"] == "100.00"
    pdf = next((tmp_path / r["file_path"]).read_bytes() for r in alpha if r["rt"] == "invoice_to_client"
               and r["fmt"] == "pdf")
    assert "LEFT OUT OF THIS REPORT" in _readable("pdf", pdf).upper()  # a reader of the PDF is told
    assert "another organization" in _readable("pdf", pdf)


def _request(world, store, report_type: str, fmt: str):
    p = world["p"]
    parameters = ({"date_from": "2026-10-01", "date_to": "2026-10-31"} if report_type in ("timesheet", "project_profitability")
                  else {"billing_period": PARTITION})
    rid = p.request(world["alpha"], report_type, fmt, parameters=parameters)
    read = PlatformDatabase(url=p.engine.url.render_as_string(hide_password=False)).extract
    return rid, run_request(p.engine, store, read, rid, run_id=f"run-{rid}", now=NOW)


@pytest.mark.parametrize("report_type", LEFT_OUT_TYPES)
def test_a_request_leaves_cross_organization_rows_out_in_every_format(world, tmp_path, report_type):
    store = LocalStore(tmp_path)
    for fmt in FORMATS:
        rid, outcome = _request(world, store, report_type, fmt)
        assert outcome.outcome == "completed", outcome.message
        _assert_nothing_of_beta(report_type, fmt, store.get(outcome.stored.key))
        _assert_finding(world, report_type, world["p"].row("generated_report", rid)["summary_data"])
        if fmt == "json":
            _assert_finding(world, report_type, json.loads(store.get(outcome.stored.key))["summary"])


def test_an_aging_request_for_another_organizations_client_names_nothing_of_it(world, tmp_path):
    """Alpha asks for the aging of Beta's client: X1 (through Beta's contract) and X2 (to that client)
    are left out, and the client's name is not written as the report's customer_name parameter."""
    store, p = LocalStore(tmp_path), world["p"]
    read = PlatformDatabase(url=p.engine.url.render_as_string(hide_password=False)).extract
    for fmt in FORMATS:
        rid = p.request(world["alpha"], "invoice_aging", fmt,
                        parameters={"as_of_date": "2026-10-31", "customer_id": world["beta_client"]})
        outcome = run_request(p.engine, store, read, rid, run_id=f"run-{rid}", now=NOW)
        assert outcome.outcome == "completed", outcome.message
        _assert_nothing_of_beta("invoice_aging", fmt, store.get(outcome.stored.key))
        [found] = p.row("generated_report", rid)["summary_data"]["left_out"]
        assert found["invoice_id"] == [world["x1"], world["x2"]]
        assert found["foreign_references"] == ["contract", "customer"]


def test_a_comparison_request_is_stopped_by_the_checks(world, tmp_path):
    store = LocalStore(tmp_path)
    for fmt in FORMATS:
        rid, outcome = _request(world, store, "invoice_comparison", fmt)
        assert outcome.outcome == "failed"
        assert "invoices_resolve_to_one_organization" in outcome.message
        assert "pairs_within_one_organization" in outcome.message
        assert world["p"].row("generated_report", rid)["file_path"] is None
    assert not [f for f in tmp_path.rglob("*") if f.is_file()]


def test_a_pair_with_an_invoice_of_no_organization_stops_the_comparison(fresh_engine, tmp_path):
    """A contract of no organization pairs Alpha's expected invoice with a received one that has no
    project either (its organization is unknown): its number and amount would print in Alpha's file."""
    p = RequestPlatform(fresh_engine)
    period = p.period(2026, 10)
    alpha = p.org("Alpha Solar")
    pa = p.project(alpha, "Alpha Farm")
    loose = p.contract(None, None, "Loose contract")
    p.expected_lines(period, loose, pa, "USD", [("OM_FEE", "Fee", "1", "700.00", "700.00")])
    p.received_lines(period, loose, None, "USD", [("OM_FEE", "Fee", "1", "9191.91", "9191.91")], f"X8-{CANARY}")
    store = LocalStore(tmp_path)
    rid = p.request(alpha, "invoice_comparison", "json", parameters={"billing_period": PARTITION})
    read = PlatformDatabase(url=fresh_engine.url.render_as_string(hide_password=False)).extract
    outcome = run_request(fresh_engine, store, read, rid, run_id="run-x8", now=NOW)
    assert outcome.outcome == "failed" and "pairs_within_one_organization" in outcome.message
    assert not [f for f in tmp_path.rglob("*") if f.is_file()]
