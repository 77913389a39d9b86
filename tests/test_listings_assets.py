"""The three invoice listings materialized for one partition on a real database and a local store."""

from __future__ import annotations

import csv
import io
import json

import dagster as dg
import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from reporting_dagster.defs.exports.invoice_expected_report import invoice_expected_report
from reporting_dagster.defs.exports.invoice_received_report import invoice_received_report
from reporting_dagster.defs.exports.invoice_to_client_report import invoice_to_client_report
from reporting_dagster.defs.invoices import client_extracts, extracts, listings
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from tests.keys import expected_key
from tests.listing_builders import helios_month

PARTITION = "2026-10"
CANARY = "CANARY-5519"
REPORTS = ("invoice_to_client", "invoice_expected", "invoice_received")
STAMP = "2026-11-01T06:00:00+00:00"


def slice_assets():
    return [
        client_extracts.client_invoice_lines, extracts.expected_invoice_lines, extracts.received_invoice_lines,
        listings.invoice_to_client, listings.invoice_expected, listings.invoice_received,
        invoice_to_client_report, invoice_expected_report, invoice_received_report,
    ]


def _materialize(fresh_url, store_dir):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(store_dir))}
    run_config = {"ops": {f"{rt}_report": {"config": {"generated_at": STAMP}} for rt in REPORTS}}
    with dg.instance_for_test() as instance:
        return dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config=run_config, raise_on_error=False)


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, organization_id, report_type::text AS rt, report_status::text AS status, "
            "file_format::text AS fmt, file_path, file_size_bytes, record_count, dagster_run_id "
            "FROM generated_report ORDER BY id")).mappings().all()


@pytest.fixture
def month(fresh_engine):
    return helios_month(fresh_engine, CANARY)


def test_listings_write_every_format_for_every_organization(fresh_engine, fresh_url, month, tmp_path):
    result = _materialize(fresh_url, tmp_path)
    assert result.success

    rows = _rows(fresh_engine)
    assert len(rows) == 30  # 3 report types × 2 organizations × 5 formats (the orphan has no organization)
    assert {r["status"] for r in rows} == {"completed"}
    assert {r["organization_id"] for r in rows} == {month["helios"], month["canary"]}
    assert all(r["dagster_run_id"] == result.run_id and r["file_size_bytes"] > 0 for r in rows)
    for r in rows:
        assert r["file_path"] == expected_key(fresh_engine, r["organization_id"], "2026-10", r["rt"], r["id"], r["fmt"])

    def files(report_type, org):
        return {r["fmt"]: (tmp_path / r["file_path"]).read_bytes()
                for r in rows if r["rt"] == report_type and r["organization_id"] == org}

    # record counts: Helios lines — client 3 + 1, expected 2, received 1 + 3
    counts = {(r["rt"], r["organization_id"]): r["record_count"] for r in rows}
    assert counts[("invoice_to_client", month["helios"])] == 4
    assert counts[("invoice_expected", month["helios"])] == 2
    assert counts[("invoice_received", month["helios"])] == 4

    # organization isolation and the unresolved invoice: neither appears in any Helios file
    for rt in REPORTS:
        for fmt, data in files(rt, month["helios"]).items():
            assert CANARY.encode() not in data and b"987654" not in data and b"9876.54" not in data \
                and b"9,876.54" not in data, (rt, fmt)
            assert b"ORPHAN-1" not in data and b"Unallocated" not in data, (rt, fmt)
    for rt in REPORTS:
        for fmt, data in files(rt, month["canary"]).items():
            assert b"ORPHAN-1" not in data and b"Helios" not in data and b"INV-001" not in data, (rt, fmt)

    client = files("invoice_to_client", month["helios"])
    table = list(csv.reader(io.StringIO("\n".join(client["csv"].decode("utf-8-sig").splitlines()[5:]))))
    credit = next(r for r in table if r[7] == "Availability shortfall")
    assert credit[-2:] == ["-160.00", "-160.00"]  # a negative amount is a number: no quote guard
    doc = json.loads(client["json"])
    assert doc["summary"]["currencies"]["USD"]["amount"] == "16025.19"  # 10185.19 + 6000.00 − 160.00
    assert doc["summary"]["currencies"]["EUR"]["amount"] == "3600.00"
    assert openpyxl.load_workbook(io.BytesIO(client["xlsx"])).sheetnames == ["Summary", "Invoices", "Invoice lines"]
    pdf = "".join(p.extract_text() for p in PdfReader(io.BytesIO(client["pdf"])).pages)
    assert "Invoice to Client Report" in pdf and "16,025.19" in pdf and "Helios Solar" in pdf
    assert "INV-002" in client["html"].decode("utf-8")

    canary_doc = json.loads(files("invoice_to_client", month["canary"])["json"])
    assert canary_doc["summary"]["currencies"]["USD"]["amount"] == "9876.54"  # 987654.321 × 0.0100 → 9876.54

    received = json.loads(files("invoice_received", month["helios"])["json"])
    v100 = next(r for r in received["rows"] if r["invoice_number"] == "V-100")
    assert (v100["received_on"], v100["status"], v100["amount"]) == ("2026-11-05", "disputed", "1860.00")
    expected = json.loads(files("invoice_expected", month["helios"])["json"])
    assert expected["summary"]["currencies"]["USD"]["amount"] == "1250.05"

    # the client checks: the orphan is listed; INV-002's header differs from its lines
    checks = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()
              if e.asset_key == dg.AssetKey("invoice_to_client")}
    assert set(checks) == {"every_invoice_has_organization", "line_totals_match_headers",
                           "no_duplicate_invoice_numbers", "references_within_organization"}
    assert checks["references_within_organization"].passed
    unresolved = checks["every_invoice_has_organization"]
    assert not unresolved.passed and unresolved.metadata["unresolved_invoices"].value == 1
    assert "ORPHAN-1" in unresolved.metadata["invoices"].value
    mismatch = checks["line_totals_match_headers"]
    assert not mismatch.passed and "INV-002" in mismatch.metadata["invoices"].value
    assert checks["no_duplicate_invoice_numbers"].passed

    meta = result.asset_materializations_for_node("invoice_to_client_report")[0].metadata
    assert meta["organizations"].value == 2 and meta["files"].value == 10
    assert meta["left_out_unresolved_invoices"].value == 1


def test_empty_month_writes_no_files_and_succeeds(fresh_engine, fresh_url, tmp_path):
    """No organization at all: nothing to write (with organizations, see test_empty_pack.py)."""
    from tests.listing_builders import ListingPlatform

    ListingPlatform(fresh_engine).period(2026, 10)
    result = _materialize(fresh_url, tmp_path)
    assert result.success
    assert _rows(fresh_engine) == []
    meta = result.asset_materializations_for_node("invoice_received_report")[0].metadata
    assert meta["files"].value == 0 and meta["organizations"].value == 0
