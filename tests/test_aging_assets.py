"""The invoice_aging slice materialized for one partition on a real database and local store."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import dagster as dg
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.defs.exports.invoice_aging_report import invoice_aging_report
from reporting_dagster.defs.receivables import aging, extracts
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from tests.keys import expected_key
from tests.test_aging import AgingPlatform

PARTITION = "2025-03"
CANARY = "CANARY-4417"
STAMP = "2025-04-01T06:00:00+00:00"


def slice_assets():
    return [extracts.receivable_invoices, aging.invoice_aging, invoice_aging_report]


@pytest.fixture
def orgs(fresh_engine):
    p = AgingPlatform(fresh_engine)
    p.period(2025, 3)
    p.period(2025, 4)
    helios = p.org("Helios Receivables")
    proj = p.project(helios, "Solar North")
    acme = p.counterparty("Acme Power")
    beta = p.counterparty("=Beta Grid")
    contract = p.contract(helios, proj, "PPA", acme)

    def inv(number, customer, currency, total, due, status="sent"):
        return p.client_invoice(proj, contract, customer, currency, total, number=number,
                                invoice_date=dt.date(2024, 12, 1), due_date=due, status=status)

    h1 = inv("H-1", acme, "USD", "1000.00", dt.date(2025, 3, 1))          # 30 days overdue → 1-30
    p.payment(h1, "400.00", dt.date(2025, 3, 10))                          # open 600.00
    h2 = inv("H-2", acme, "USD", "250.00", dt.date(2024, 12, 30))          # 91 days → 90+
    h3 = inv("H-3", beta, "EUR", "800.00", dt.date(2025, 4, 30), "paid")  # not due yet → Current
    p.payment(h3, "800.00", dt.date(2025, 4, 15))                          # after the as-of date: ignored
    inv("H-4", acme, "USD", "50.00", dt.date(2025, 1, 1), "paid")          # paid, no payment rows: settled
    inv("H-5", acme, "USD", "70.00", dt.date(2025, 1, 1), "draft")         # never outstanding

    canary = p.org(f"{CANARY} Org")
    cproj = p.project(canary, f"{CANARY} project")
    ccust = p.counterparty(f"{CANARY} customer")
    p.client_invoice(cproj, None, ccust, "USD", "987654.32", number=f"{CANARY}-INV",
                     invoice_date=dt.date(2025, 2, 1), due_date=dt.date(2025, 3, 3))
    p.template(helios, "invoice_aging", brand_color="#7A1F5C", footer_text="Accounts receivable")
    return {"p": p, "helios": helios, "canary": canary, "h2": h2}


def _materialize(fresh_url, tmp_path):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(tmp_path))}
    run_config = {"ops": {"invoice_aging_report": {"config": {"generated_at": STAMP}}}}
    with dg.instance_for_test() as instance:
        return dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config=run_config, raise_on_error=False)


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, organization_id, report_type::text AS report_type, report_status::text AS status, "
            "file_format::text AS fmt, file_path, file_hash, record_count, parameters "
            "FROM generated_report ORDER BY id")).mappings().all()


def _files(tmp_path, rows, org_id):
    return {r["fmt"]: (tmp_path / r["file_path"]).read_bytes() for r in rows if r["organization_id"] == org_id}


def test_aging_slice_writes_every_format_for_every_organization(fresh_engine, fresh_url, orgs, tmp_path):
    result = _materialize(fresh_url, tmp_path)
    assert result.success

    rows = _rows(fresh_engine)
    assert len(rows) == 10  # 2 organizations × 5 formats
    assert {r["status"] for r in rows} == {"completed"} and {r["report_type"] for r in rows} == {"invoice_aging"}
    for r in rows:
        assert r["file_path"] == expected_key(fresh_engine, r["organization_id"], "2025-03", "invoice_aging", r["id"], r["fmt"])
    helios_rows = [r for r in rows if r["organization_id"] == orgs["helios"]]
    assert {r["record_count"] for r in helios_rows} == {3}  # H-1, H-2, H-3 outstanding
    files = _files(tmp_path, rows, orgs["helios"])

    # CSV: metadata, labels, one row per outstanding invoice, guarded customer name
    lines = files["csv"].decode("utf-8-sig").split("\r\n")  # the CSV starts with a UTF-8 BOM
    assert lines[0] == "# Invoice Aging Report"
    assert lines[3].startswith("# Generated: 2025-04-01T06:00:00")
    assert lines[4] == "# Parameters: as_of_date=2025-03-31"
    table = list(csv.reader(io.StringIO("\r\n".join(lines[5:]))))
    header, body = table[0], {r[0]: r for r in table[1:] if r}
    assert header == ["Invoice #", "Customer", "Project", "Issue Date", "Due Date", "Currency", "Total",
                      "Paid to Date", "Open Amount", "Days Overdue", "Bucket", "Status", "Note"]
    assert body["H-1"][6:11] == ["1000.00", "400.00", "600.00", "30", "1-30 Days"]  # 1000 − 400
    assert body["H-2"][6:11] == ["250.00", "0.00", "250.00", "91", "90+ Days"]
    # H-3 was paid on 2025-04-15, after the as-of date: still open for March, and noted so; due in
    # 30 days: 0 days overdue and "Not yet due", never −30
    assert body["H-3"][1] == "'=Beta Grid" and body["H-3"][6:13] == [
        "800.00", "0.00", "800.00", "0", "Current", "paid", "Not yet due; Paid after the as-of date"]
    assert set(body) == {"H-1", "H-2", "H-3"}

    # JSON: totals per currency by hand, never summed across currencies
    doc = json.loads(files["json"])
    usd, eur = doc["summary"]["currencies"]["USD"], doc["summary"]["currencies"]["EUR"]
    assert (usd["open_amount"], usd["overdue_amount"], usd["invoices"]) == ("850.00", "850.00", 2)  # 600 + 250
    assert usd["buckets"]["1_30"]["amount"] == "600.00" and usd["buckets"]["90_plus"]["amount"] == "250.00"
    assert (eur["open_amount"], eur["overdue_amount"]) == ("800.00", "0.00")
    assert doc["parameters"] == {"as_of_date": "2025-03-31"}
    assert "1650.00" not in files["json"].decode()  # 850 + 800 would be a cross-currency sum
    customers = {(c["customer_name"], c["currency"]): c for c in doc["tables"]["customers"]}
    assert customers[("Acme Power", "USD")]["open_amount"] == "850.00"
    assert customers[("=Beta Grid", "EUR")]["amount_current"] == "800.00"

    # XLSX: a sheet per table, money exact
    wb = load_workbook(io.BytesIO(files["xlsx"]))
    assert len(wb.sheetnames) == 4
    sheet = wb[wb.sheetnames[1]]
    head = [c.value for c in sheet[1]]
    xrows = {r[0]: r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0]}
    assert D(str(xrows["H-1"][head.index("Open Amount")])) == D("600.00")
    assert xrows["H-3"][head.index("Customer")] == "=Beta Grid" and sheet.cell(row=2, column=2).data_type == "s"

    # PDF and HTML
    pdf = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(files["pdf"])).pages).split())
    for text in ("Invoice Aging Report", "Helios Receivables", "March 2025", "2025-03-31", "850.00", "600.00",
                 "90+ Days", "Acme Power", "Accounts receivable"):
        assert text in pdf, text
    html = files["html"].decode()
    assert "#7A1F5C" in html and "Open amount by age bucket" in html

    # organization isolation: the canary's values appear in no file of Helios
    for fmt, data in files.items():
        assert CANARY.encode() not in data and b"987654" not in data and b"987,654" not in data, fmt
    canary = json.loads(_files(tmp_path, rows, orgs["canary"])["json"])
    assert canary["summary"]["currencies"]["USD"]["open_amount"] == "987654.32"
    assert canary["rows"][0]["days_overdue"] == 28  # 2025-03-31 − 2025-03-03

    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"every_invoice_has_organization": True, "outstanding_invoices_have_due_dates": True,
                      "references_within_organization": True}
    meta = result.asset_materializations_for_node("invoice_aging")[0].metadata
    assert meta["as_of_date"].value == "2025-03-31" and meta["outstanding_invoices"].value == 4
    assert meta["receivables_considered"].value == 5  # H-1..H-4 and the canary's (H-5 is a draft)
    export_meta = result.asset_materializations_for_node("invoice_aging_report")[0].metadata
    assert export_meta["organizations"].value == 2 and export_meta["files"].value == 10


def test_a_month_computed_again_after_later_payments_is_unchanged(fresh_engine, fresh_url, orgs, tmp_path):
    assert _materialize(fresh_url, tmp_path).success
    # H-2 is paid in full in April: March's report must not change
    orgs["p"].payment(orgs["h2"], "250.00", dt.date(2025, 4, 2))
    assert _materialize(fresh_url, tmp_path).success
    rows = [r for r in _rows(fresh_engine) if r["fmt"] in ("csv", "json", "xlsx")]
    assert len(rows) == 12 and len({r["file_path"] for r in rows}) == 12  # new objects, never overwritten
    hashes: dict = {}
    for r in rows:
        hashes.setdefault((r["organization_id"], r["fmt"]), set()).add(r["file_hash"])
    assert all(len(h) == 1 for h in hashes.values())  # same as-of data + same timestamp → same bytes


def test_unresolved_invoice_is_reported_by_the_check(fresh_engine, fresh_url, orgs, tmp_path):
    p = orgs["p"]
    p.client_invoice(None, None, None, "USD", "5.00", number="ORPHAN-1", invoice_date=dt.date(2025, 3, 1),
                     due_date=None)
    result = _materialize(fresh_url, tmp_path)
    assert result.success
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    unresolved = evaluations["every_invoice_has_organization"]
    assert not unresolved.passed and "ORPHAN-1" in unresolved.metadata["invoices"].value
    assert evaluations["outstanding_invoices_have_due_dates"].passed  # the orphan is not in any org's report
