"""The invoice-comparison slice materialized for one partition on a real database and store."""

import csv
import io
import json
from decimal import Decimal as D

import dagster as dg
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from reporting_dagster.defs.exports.invoice_comparison_report import invoice_comparison_report
from reporting_dagster.defs.invoices import comparison, extracts
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase, S3ReportStore
from tests.builders import Platform
from tests.keys import expected_key

PARTITION = "2026-10"
FORMATS = ["pdf", "csv", "xlsx", "json", "html"]
CANARY = "CANARY-7731"


def slice_assets():
    return [
        extracts.expected_invoice_lines, extracts.received_invoice_lines, extracts.stored_invoice_comparisons,
        comparison.invoice_comparison, invoice_comparison_report,
    ]


@pytest.fixture
def two_orgs(fresh_engine):
    """Helios (USD and EUR contracts) and a canary organization that must never leak."""
    p = Platform(fresh_engine)
    period = p.period(2026, 10)
    helios = p.org("Helios, \"Solar\" Partners")
    proj = p.project(helios, "=Solar North")
    c1 = p.contract(helios, proj, "O&M North")
    c2 = p.contract(helios, proj, "O&M South")
    p.expected(period, c1, proj, "USD", [("OM_FEE", "Preventive", "1000.00"), ("ENERGY", "Energy", "250.50")])
    p.received(period, c1, proj, "USD", [("OM_FEE", "Preventive", "1000.00"), ("ENERGY", "Energy", "410.50")], "V-100")
    p.expected(period, c2, proj, "EUR", [("OM_FEE", "Fee", "-160.00")])
    p.received(period, c2, proj, "EUR", [("OM_FEE", "Fee", "-160.00")], "V-200")
    canary = p.org(f"{CANARY} Org")
    cproj = p.project(canary, f"{CANARY} project")
    cc = p.contract(canary, cproj, f"{CANARY} contract")
    p.expected(period, cc, cproj, "USD", [("OM_FEE", CANARY, "987654.32")])
    p.template(helios, "invoice_comparison", brand_color="#0B6E4F", footer_text="<b>Confidential</b>")
    return {"helios": helios, "canary": canary, "period": period}


def _resources(fresh_url, store):
    return {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)), "report_store": store}


def _materialize(resources, ops=None):
    run_config = {"ops": {"invoice_comparison_report": {"config": {"generated_at": "2026-11-01T06:00:00+00:00"}},
                          **(ops or {})}}
    with dg.instance_for_test() as instance:
        return dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance,
                              run_config=run_config, raise_on_error=False)


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT id, organization_id, report_status::text AS status, file_format::text AS fmt, file_path, "
            "file_size_bytes, file_hash, record_count, summary_data, processing_time_ms, dagster_run_id "
            "FROM generated_report ORDER BY id")).mappings().all()


def test_slice_writes_every_format_for_every_organization(fresh_engine, fresh_url, two_orgs, tmp_path):
    store = LocalReportStore(directory=str(tmp_path))
    result = _materialize(_resources(fresh_url, store))
    assert result.success

    rows = _rows(fresh_engine)
    assert len(rows) == 10  # 2 organizations × 5 formats
    assert {r["status"] for r in rows} == {"completed"}
    assert all(r["file_size_bytes"] > 0 and len(r["file_hash"]) == 64 and r["dagster_run_id"] == result.run_id for r in rows)
    for r in rows:
        assert r["file_path"] == expected_key(fresh_engine, r["organization_id"], "2026-10", "invoice_comparison", r["id"], r["fmt"])
        assert (tmp_path / r["file_path"]).stat().st_size == r["file_size_bytes"]

    helios = {r["fmt"]: (tmp_path / r["file_path"]).read_bytes() for r in rows if r["organization_id"] == two_orgs["helios"]}
    helios_rows = [r for r in rows if r["organization_id"] == two_orgs["helios"]]
    assert {r["record_count"] for r in helios_rows} == {3}  # lines: OM_FEE, ENERGY (USD) + OM_FEE (EUR)

    # JSON: per-currency totals worked by hand; money as decimal strings
    doc = json.loads(helios["json"])
    usd = doc["summary"]["currencies"]["USD"]
    assert (usd["expected"], usd["received"], usd["variance"]) == ("1250.50", "1410.50", "160.00")
    assert doc["summary"]["currencies"]["EUR"]["variance"] == "0.00"
    assert doc["parameters"]["tolerance_absolute"] == "0.01"

    # CSV: metadata lines, labels, the formula guard on text and none on negative numbers
    text = helios["csv"].decode("utf-8-sig")  # the CSV starts with a UTF-8 BOM
    assert text.startswith("# Invoice Comparison Report") and "\r\n" in text
    table = list(csv.reader(io.StringIO("\n".join(text.splitlines()[5:]))))
    assert table[0][:2] == ["Contract", "Vendor invoice #"]
    assert any("-160.00" in row for row in table[1:])

    # PDF text
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(helios["pdf"])).pages)
    assert "Invoice Comparison Report" in pdf_text and "October 2026" in pdf_text and "160.00" in pdf_text

    # organization isolation: the canary's values appear in no file of Helios
    for fmt, data in helios.items():
        assert CANARY.encode() not in data and b"987654" not in data and b"987,654" not in data, fmt
    canary_json = json.loads(next((tmp_path / r["file_path"]).read_bytes() for r in rows
                                  if r["organization_id"] == two_orgs["canary"] and r["fmt"] == "json"))
    assert canary_json["summary"]["currencies"]["USD"]["expected"] == "987654.32"

    with fresh_engine.connect() as conn:
        events = conn.execute(sa.text("SELECT event_type, count(*) FROM audit_event GROUP BY 1")).all()
    assert dict(events) == {"REPORT_EXPORTED": 10}

    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"line_totals_match_headers": True, "no_invoice_counted_twice": True,
                      "every_invoice_has_organization": True, "invoices_resolve_to_one_organization": True,
                      "pairs_within_one_organization": True}
    meta = result.asset_materializations_for_node("invoice_comparison_report")[0].metadata
    assert meta["organizations"].value == 2 and meta["files"].value == 10
    assert "O&M North" in meta["largest_variances"].value


def test_rerun_gives_same_numbers_and_new_objects(fresh_engine, fresh_url, two_orgs, tmp_path):
    resources = _resources(fresh_url, LocalReportStore(directory=str(tmp_path)))
    assert _materialize(resources).success
    assert _materialize(resources).success
    rows = [r for r in _rows(fresh_engine) if r["fmt"] in ("csv", "json", "xlsx")]
    assert len(rows) == 12 and len({r["file_path"] for r in rows}) == 12  # new objects, never overwritten
    by_format = {}
    for r in rows:
        by_format.setdefault((r["organization_id"], r["fmt"]), set()).add(r["file_hash"])
    assert all(len(hashes) == 1 for hashes in by_format.values())  # same data + same timestamp → same bytes


def test_missing_billing_period_fails_with_a_clear_message(fresh_engine, fresh_url, tmp_path):
    result = _materialize(_resources(fresh_url, LocalReportStore(directory=str(tmp_path))))
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no billing_period row for 2026-10" in failure.step_failure_data.user_failure_data.description


def test_checks_list_unresolved_and_mismatched_invoices(fresh_engine, fresh_url, two_orgs, tmp_path):
    p = Platform(fresh_engine)
    p.received(two_orgs["period"], None, None, "USD", [("OM_FEE", "Fee", "5.00")], "ORPHAN-1")
    result = _materialize(_resources(fresh_url, LocalReportStore(directory=str(tmp_path))))
    assert result.success
    evaluations = {e.asset_check_key.name: e for e in result.get_asset_check_evaluations()}
    unresolved = evaluations["every_invoice_has_organization"]
    assert not unresolved.passed and unresolved.metadata["unresolved_invoices"].value == 1
    # the UI shows which month failed: every evaluation carries its partition
    assert {e.partition for e in evaluations.values()} == {PARTITION}
    assert "ORPHAN-1" in unresolved.metadata["invoices"].value


def test_tolerance_from_run_config_changes_statuses(fresh_engine, fresh_url, two_orgs, tmp_path):
    result = _materialize(_resources(fresh_url, LocalReportStore(directory=str(tmp_path))),
                          ops={"invoice_comparison": {"config": {"tolerance_absolute": "160.00"}}})
    assert result.success
    meta = result.asset_materializations_for_node("invoice_comparison")[0].metadata
    assert meta["status_counts"].value["matched"] == 2  # USD variance 160.00 is now within tolerance
    assert meta["tolerance_absolute"].value == "160.00"
    # totals per organization and currency, for people: 2 decimals, thousands separators, no nan;
    # Helios USD as in the JSON above (1250.50 expected, 1410.50 received, variance 160.00)
    totals = meta["totals_by_organization"].value
    assert f"| {two_orgs['helios']} | USD | 1,250.50 | 1,410.50 | 160.00 |" in totals
    assert "nan" not in totals.lower() and totals.startswith("| Organization | Currency | Expected |")


def test_slice_writes_to_s3(fresh_engine, fresh_url, two_orgs, s3_endpoint, s3_bucket):
    import boto3
    from dagster_aws.s3 import S3Resource

    store = S3ReportStore(s3=S3Resource(endpoint_url=s3_endpoint, region_name="us-east-1"), bucket=s3_bucket, prefix="prod")
    assert _materialize(_resources(fresh_url, store)).success
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    keys = sorted(o["Key"] for o in client.list_objects_v2(Bucket=s3_bucket)["Contents"])
    assert len(keys) == 10 and all(k.startswith("prod/reports/") for k in keys)
    rows = _rows(fresh_engine)
    body = client.get_object(Bucket=s3_bucket, Key=f"prod/{rows[0]['file_path']}")["Body"].read()
    import hashlib

    assert hashlib.sha256(body).hexdigest() == rows[0]["file_hash"]


def test_branding_comes_from_the_template_and_the_store(fresh_engine, fresh_url, two_orgs, tmp_path):
    """Logo read from the store and embedded as data:, brand colour, footer text escaped."""
    import base64

    png = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
    store = LocalReportStore(directory=str(tmp_path))
    store.store().put("branding/1/logo.png", png, "image/png")
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE report_template SET logo_path = 'branding/1/logo.png', "
                             "header_text = 'For <i>finance</i>' WHERE organization_id = :o"), {"o": two_orgs["helios"]})
    assert _materialize(_resources(fresh_url, store)).success
    html_row = next(r for r in _rows(fresh_engine) if r["organization_id"] == two_orgs["helios"] and r["fmt"] == "html")
    html = (tmp_path / html_row["file_path"]).read_text(encoding="utf-8")
    assert "data:image/png;base64," + base64.b64encode(png).decode() in html
    assert "#0B6E4F" in html
    assert "&lt;b&gt;Confidential&lt;/b&gt;" in html and "<b>Confidential</b>" not in html
    assert "For &lt;i&gt;finance&lt;/i&gt;" in html


def test_template_sections_switch_off_summary_charts_and_line_items(fresh_engine, fresh_url, two_orgs, tmp_path):
    with fresh_engine.begin() as conn:
        conn.execute(sa.text("UPDATE report_template SET include_line_items = false, include_charts = false, "
                             "include_summary = false WHERE organization_id = :o"), {"o": two_orgs["helios"]})
    assert _materialize(_resources(fresh_url, LocalReportStore(directory=str(tmp_path)))).success
    rows = _rows(fresh_engine)
    html = next((tmp_path / r["file_path"]).read_text(encoding="utf-8") for r in rows
                if r["organization_id"] == two_orgs["helios"] and r["fmt"] == "html")
    canary_html = next((tmp_path / r["file_path"]).read_text(encoding="utf-8") for r in rows
                       if r["organization_id"] == two_orgs["canary"] and r["fmt"] == "html")
    assert "Line detail" not in html and "<svg" not in html and "Invoices" in html
    assert "Line detail" in canary_html  # no template: everything on
    # the data formats keep every table whatever the template shows
    doc = json.loads(next((tmp_path / r["file_path"]).read_bytes() for r in rows
                          if r["organization_id"] == two_orgs["helios"] and r["fmt"] == "json"))
    assert len(doc["rows"][0]["lines"]) >= 1
