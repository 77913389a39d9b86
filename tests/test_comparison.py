"""Comparison rules on hand-built invoices, read through the real extract queries.

Every expected number below is worked out by hand in the comment beside it.
"""

from decimal import Decimal as D

import pytest

from reporting_dagster.lib.infra import db
from reporting_dagster.lib.rules import checks
from reporting_dagster.lib.rules.comparison import Tolerance, totals_by_currency
from reporting_dagster.lib.infra.platform_schema import extract_sql
from tests.builders import Platform, compare_period


@pytest.fixture
def world(fresh_engine):
    p = Platform(fresh_engine)
    p.period_id = p.period(2026, 10)
    p.org_id = p.org("Helios")
    p.project_id = p.project(p.org_id, "Solar One")
    return p


def pair(p, name, exp_lines, rec_lines, **kw):
    c = p.contract(p.org_id, p.project_id, name)
    e = p.expected(p.period_id, c, p.project_id, kw.get("currency", "USD"), exp_lines) if exp_lines is not None else None
    r = p.received(p.period_id, c, p.project_id, kw.get("currency", "USD"), rec_lines, f"V-{name}") if rec_lines is not None else None
    return c, e, r


def by_contract(result, name):
    rows = result.invoices[result.invoices["contract_name"] == name]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_decimal_exact_variance_100_15_vs_100_10(world):
    pair(world, "C1", [("OM_FEE", "Fee", "100.15")], [("OM_FEE", "Fee", "100.10")])
    row = by_contract(compare_period(world.engine, world.period_id), "C1")
    assert row["variance"] == D("-0.05")  # 100.10 - 100.15, exact
    assert row["status"] == "underbilled"  # 0.05 > 0.01
    assert row["variance_percent"] == D("-0.05")  # -0.05 / 100.15 * 100 = -0.0499 → -0.05


@pytest.mark.parametrize("received, status", [
    ("200.01", "matched"),      # |0.01| <= 0.01, inclusive
    ("199.99", "matched"),      # |-0.01| <= 0.01
    ("200.02", "overbilled"),   # 0.02 > 0.01
    ("199.98", "underbilled"),  # -0.02
    ("200.00", "matched"),
])
def test_absolute_tolerance_is_inclusive(world, received, status):
    pair(world, "C1", [("OM_FEE", "Fee", "200.00")], [("OM_FEE", "Fee", received)])
    assert by_contract(compare_period(world.engine, world.period_id), "C1")["status"] == status


@pytest.mark.parametrize("received, status", [
    ("1010.00", "matched"),     # 10.00 <= 1% of 1000.00 = 10.00
    ("990.00", "matched"),
    ("1010.01", "overbilled"),  # 10.01 > 10.00
])
def test_percent_tolerance_is_inclusive(world, received, status):
    pair(world, "C1", [("OM_FEE", "Fee", "1000.00")], [("OM_FEE", "Fee", received)])
    result = compare_period(world.engine, world.period_id, Tolerance.parse("0", "1"))
    assert by_contract(result, "C1")["status"] == status
    assert result.parameters == {"tolerance_absolute": "0", "tolerance_percent": "1"}


def test_totals_are_per_currency_and_never_mixed(world):
    pair(world, "USD contract", [("OM_FEE", "Fee", "100.00")], [("OM_FEE", "Fee", "150.00")], currency="USD")
    pair(world, "EUR contract", [("OM_FEE", "Fee", "200.00")], [("OM_FEE", "Fee", "180.00")], currency="EUR")
    totals = totals_by_currency(compare_period(world.engine, world.period_id).invoices)
    assert set(totals) == {"USD", "EUR"}
    assert (totals["USD"]["expected"], totals["USD"]["received"], totals["USD"]["variance"]) == (D("100.00"), D("150.00"), D("50.00"))
    assert (totals["EUR"]["expected"], totals["EUR"]["received"], totals["EUR"]["variance"]) == (D("200.00"), D("180.00"), D("-20.00"))
    assert totals["EUR"]["variance_percent"] == D("-10.00")  # -20 / 200
    assert totals["USD"]["status_counts"]["overbilled"] == 1 and totals["EUR"]["status_counts"]["underbilled"] == 1


def test_several_received_invoices_are_pooled_against_one_expected(world):
    c = world.contract(world.org_id, world.project_id, "Split")
    world.expected(world.period_id, c, world.project_id, "USD", [("ENERGY", "Energy", "500.00"), ("OM_FEE", "Fee", "300.00")])
    world.received(world.period_id, c, world.project_id, "USD", [("ENERGY", "Energy 1-15", "250.00"), ("OM_FEE", "Fee", "300.00")], "V-1")
    world.received(world.period_id, c, world.project_id, "USD", [("ENERGY", "Energy 16-31", "250.00")], "V-2")
    result = compare_period(world.engine, world.period_id)
    row = by_contract(result, "Split")
    assert (row["expected_amount"], row["received_amount"], row["status"]) == (D("800.00"), D("800.00"), "matched")
    assert row["received_invoice_numbers"] == "V-1, V-2"
    lines = result.lines.set_index("line_type")
    assert lines.loc["ENERGY", "expected_amount"] == D("500.00") and lines.loc["ENERGY", "received_amount"] == D("500.00")
    assert set(result.lines["status"]) == {"matched"}


def test_one_sided_invoices(world):
    pair(world, "Only expected", [("OM_FEE", "Fee", "70.00")], None)
    pair(world, "Only received", None, [("OM_FEE", "Fee", "30.00")])
    result = compare_period(world.engine, world.period_id)
    exp_only = by_contract(result, "Only expected")
    rec_only = by_contract(result, "Only received")
    assert exp_only["status"] == "missing_received" and exp_only["received_amount"] is None and exp_only["variance"] is None
    assert rec_only["status"] == "missing_expected" and rec_only["expected_amount"] is None
    assert set(result.lines["status"]) == {"missing_received", "missing_expected"}


def test_line_present_on_one_side_only(world):
    pair(world, "C1", [("OM_FEE", "Fee", "100.00")], [("OM_FEE", "Fee", "100.00"), ("CALLOUT", "Emergency call-out", "50.00")])
    result = compare_period(world.engine, world.period_id)
    assert by_contract(result, "C1")["status"] == "overbilled"  # 150 vs 100
    lines = result.lines.set_index("line_type")
    assert lines.loc["OM_FEE", "status"] == "matched"
    assert lines.loc["CALLOUT", "status"] == "missing_expected"
    assert lines.loc["CALLOUT", "expected_amount"] is None and lines.loc["CALLOUT", "received_amount"] == D("50.00")


def test_repeating_type_matches_by_description(world):
    pair(world, "C1",
         [("OM_FEE", "Preventive maintenance", "100.00"), ("OM_FEE", "Corrective maintenance", "40.00")],
         [("OM_FEE", "Preventive  maintenance", "100.00"), ("OM_FEE", "corrective maintenance", "55.00")])
    lines = compare_period(world.engine, world.period_id).lines
    assert len(lines) == 2
    corrective = lines[lines["description"] == "Corrective maintenance"].iloc[0]
    assert corrective["variance"] == D("15.00") and corrective["status"] == "overbilled"
    assert corrective["variance_percent"] == D("37.50")  # 15 / 40 * 100
    assert lines[lines["description"] == "Preventive maintenance"].iloc[0]["status"] == "matched"


def test_variance_percent_empty_when_expected_is_zero(world):
    pair(world, "C1", [("OM_FEE", "Fee", "0.00")], [("OM_FEE", "Fee", "10.00")])
    row = by_contract(compare_period(world.engine, world.period_id), "C1")
    assert row["status"] == "overbilled" and row["variance"] == D("10.00") and row["variance_percent"] is None


def test_stored_comparison_is_carried_and_disagreement_flagged(world):
    _, e, r = pair(world, "Disputed", [("OM_FEE", "Fee", "100.00")], [("OM_FEE", "Fee", "150.00")])
    world.stored_comparison(e, r, "matched", final_amount=D("120.00"), adjustment_amount=D("-30.00"))
    _, e2, r2 = pair(world, "Unchecked", [("OM_FEE", "Fee", "100.00")], [("OM_FEE", "Fee", "150.00")])
    world.stored_comparison(e2, r2, "unchecked")
    result = compare_period(world.engine, world.period_id)
    disputed = by_contract(result, "Disputed")
    assert disputed["status"] == "overbilled" and disputed["stored_status"] == "matched"
    assert bool(disputed["status_disagrees"]) is True
    assert disputed["final_amount"] == D("120.00") and disputed["adjustment_amount"] == D("-30.00")
    unchecked = by_contract(result, "Unchecked")
    assert unchecked["stored_status"] == "unchecked" and bool(unchecked["status_disagrees"]) is False
    assert unchecked["final_amount"] is None


def test_stored_comparison_pairs_its_headers_over_contract_pairing(world):
    c = world.contract(world.org_id, world.project_id, "Two expected")
    e1 = world.expected(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "80.00")])
    e2 = world.expected(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "90.00")])
    r1 = world.received(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "90.00")], "V-9")
    world.stored_comparison(e2, r1, "matched")
    inv = compare_period(world.engine, world.period_id).invoices.set_index("expected_header_ids")
    assert inv.loc[str(e2), "status"] == "matched" and inv.loc[str(e2), "received_header_ids"] == str(r1)
    assert inv.loc[str(e1), "status"] == "missing_received"


def test_organization_resolved_through_contract_and_unresolved_listed(world):
    other = world.org("Other Org")
    c = world.contract(other, None, "No project")
    world.expected(world.period_id, c, None, "USD", [("OM_FEE", "Fee", "10.00")])
    orphan = world.received(world.period_id, None, None, "USD", [("OM_FEE", "Fee", "5.00")], "ORPHAN-1")
    result = compare_period(world.engine, world.period_id)
    assert by_contract(result, "No project")["organization_id"] == other
    unresolved = checks.unresolved_invoices(result.headers)
    assert unresolved["header_id"].tolist() == [orphan] and unresolved["invoice_number"].tolist() == ["ORPHAN-1"]
    assert result.organization_ids() == [other]  # the orphan reaches no organization's file


def test_header_total_differing_from_lines_is_reported(world):
    c = world.contract(world.org_id, world.project_id, "C1")
    world.expected(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "900.00")])
    bad = world.received(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "900.00")], "V-1", total=D("999.00"))
    result = compare_period(world.engine, world.period_id)
    mismatches = checks.line_total_mismatches(result.headers)
    assert mismatches["header_id"].tolist() == [bad]
    assert mismatches.iloc[0]["lines_total"] == D("900.00")
    assert by_contract(result, "C1")["received_amount"] == D("999.00")  # the billed header total


def test_duplicate_vendor_invoice_numbers_are_detected(world):
    vendor = world.counterparty("Vendor")
    c = world.contract(world.org_id, world.project_id, "C1", vendor)
    world.received(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "1.00")], "DUP-1", counterparty_id=vendor)
    world.received(world.period_id, c, world.project_id, "USD", [("OM_FEE", "Fee", "1.00")], "DUP-1", counterparty_id=vendor)
    result = compare_period(world.engine, world.period_id)
    assert len(checks.duplicate_vendor_invoices(result.headers)) == 2
    assert checks.headers_counted_twice(result.headers).empty


def test_extract_keeps_numeric_as_decimal(world):
    pair(world, "C1", [("OM_FEE", "Fee", "0.10")], [("OM_FEE", "Fee", "0.20")])
    frame = db.read_frame(world.engine, extract_sql(world.engine, "expected_invoice_lines"), {"billing_period_id": world.period_id}, chunk_rows=1)
    assert isinstance(frame.iloc[0]["line_total"], D) and frame.iloc[0]["line_total"] == D("0.10")


def test_extract_streams_in_chunks(world):
    c = world.contract(world.org_id, world.project_id, "Many lines")
    world.expected(world.period_id, c, world.project_id, "USD", [("OM_FEE", f"Fee {i}", "1.00") for i in range(7)])
    chunks = list(db.read_frames(world.engine, extract_sql(world.engine, "expected_invoice_lines"), {"billing_period_id": world.period_id}, chunk_rows=3))
    assert [len(c) for c in chunks] == [3, 3, 1]


def test_bad_tolerance_is_refused_clearly():
    with pytest.raises(ValueError, match="tolerance_absolute must be a decimal"):
        Tolerance.parse("one cent", "0")
    with pytest.raises(ValueError, match="negative"):
        Tolerance.parse("-1", "0")
