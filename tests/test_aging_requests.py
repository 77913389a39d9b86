"""An aging request may age by invoice date (`age_by`, a catalogue parameter): validated like the
other parameters, and the stored file shows the invoice-date buckets. Real database, real store,
files read back; the days are worked out by hand beside each invoice.
"""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from reporting_dagster.lib.documents.catalog import get
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.requests.run import run_request
from tests.builders import extract_reader
from tests.request_builders import RequestPlatform

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
AS_OF = "2026-10-31"


@pytest.fixture
def world(fresh_engine):
    p = RequestPlatform(fresh_engine)
    period = p.period(2026, 10)
    org = p.org("Karoo Solar")
    proj = p.project(org, "Karoo One")
    client = p.counterparty("Eskom")
    contract = p.contract(org, proj, "PPA Eskom", client)
    # as-of 2026-10-31: issued 2026-07-15 → 16 (Jul) + 31 + 30 + 31 = 108 days since the invoice (90+);
    # due 2026-10-14 → 17 days overdue (1-30)
    p.client_invoice(period, contract, proj, "ZAR", [("ENERGY", "Energy", "1", "900.00", "900.00", None)],
                     "INV-OLD", counterparty_id=client, invoice_date=dt.date(2026, 7, 15), due_date=dt.date(2026, 10, 14))
    return {"p": p, "org": org}


def _run(world, tmp_path, parameters):
    p = world["p"]
    rid = p.request(world["org"], "invoice_aging", "csv", parameters=parameters)
    store = LocalStore(tmp_path)
    outcome = run_request(p.engine, store, extract_reader(p.engine), rid, run_id=f"run-{rid}", now=NOW)
    return outcome, store, p.row("generated_report", rid)


def _table(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8").split("\r\n", 5)[5], newline="")))


def test_age_by_is_a_documented_catalogue_parameter():
    age_by = {p.name: p for p in get("invoice_aging").parameters}["age_by"]
    assert (age_by.type, age_by.default, age_by.options) == ("enum", "due_date", ("due_date", "invoice_date"))
    assert age_by.as_json()["options"] == ["due_date", "invoice_date"]


def test_a_request_aged_by_invoice_date_buckets_by_the_invoice_date(world, tmp_path):
    outcome, store, _ = _run(world, tmp_path, {"as_of_date": AS_OF, "age_by": "invoice_date"})
    assert outcome.outcome == "completed", outcome.message
    table = _table(store.get(outcome.stored.key))
    row = dict(zip(table[0], table[1]))
    assert (row["Days Since Invoice"], row["Days Overdue"], row["Bucket"]) == ("108", "17", "90+ Days")


def test_a_request_ages_by_due_date_by_default(world, tmp_path):
    outcome, store, _ = _run(world, tmp_path, {"as_of_date": AS_OF})
    assert outcome.outcome == "completed", outcome.message
    table = _table(store.get(outcome.stored.key))
    row = dict(zip(table[0], table[1]))
    assert "Days Since Invoice" not in row and (row["Days Overdue"], row["Bucket"]) == ("17", "1-30 Days")


def test_an_unknown_basis_fails_the_request_with_what_to_fix(world, tmp_path):
    outcome, _, row = _run(world, tmp_path, {"as_of_date": AS_OF, "age_by": "posting_date"})
    assert outcome.outcome == "invalid" and row["report_status"] == "failed"
    assert "age_by must be one of due_date, invoice_date" in row["processing_error"]
