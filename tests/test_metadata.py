"""Metadata for people (defs/metadata.py): tables per organization, 2-decimal amounts, no `nan`."""

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd

from reporting_dagster.defs import metadata


def test_cells_read_as_a_person_writes_them():
    assert metadata.cell(Decimal("141185290.175")) == "141,185,290.18"  # half-up at presentation
    assert metadata.cell(Decimal("-0.005")) == "-0.01"                   # half-up is away from zero
    assert metadata.cell(12.5) == "12.50" and metadata.cell(np.float64(0.125)) == "0.13"
    assert metadata.cell(np.int64(7)) == "7" and metadata.cell(1234567) == "1234567"  # ids stay ids
    for missing in (None, float("nan"), np.nan, pd.NaT, pd.NA, Decimal("NaN")):
        assert metadata.cell(missing) == "", missing
    assert metadata.cell(dt.date(2026, 11, 30)) == "2026-11-30"
    assert metadata.cell("Karoo | Sun\nLtd") == "Karoo \\| Sun Ltd"  # one line, the table unbroken
    assert metadata.cell(True) == "yes"


def test_a_check_table_has_no_nan_and_is_sorted_by_organization():
    frame = pd.DataFrame({
        "organization_id": [3, np.nan, 1],
        "invoice_number": ["K-1", "ORPHAN-1", None],
        "open_amount": [Decimal("10"), Decimal("2.345"), np.nan],
    })
    text = metadata.table(frame).value
    assert "nan" not in text.lower() and "None" not in text
    assert text.splitlines() == [
        "| organization_id | invoice_number | open_amount |",
        "| ---: | :--- | ---: |",
        "|  | ORPHAN-1 | 2.35 |",   # no organization first: it is what the check is about
        "| 1 |  |  |",               # ids that a NaN made float still read as whole numbers
        "| 3 | K-1 | 10.00 |",
    ]
    assert metadata.table(frame.iloc[0:0]).value == "none"
    assert metadata.table(pd.DataFrame({"a": range(60)}), limit=50).value.endswith("… and 10 more")


class _Result:
    """The shape every rule result has: organization_ids() and for_organization()."""

    def __init__(self, rows):
        self.rows = rows

    def organization_ids(self):
        return sorted({r["org"] for r in self.rows})

    def for_organization(self, org):
        return _Result([r for r in self.rows if r["org"] == org])


def _totals(result):
    out = {}
    for r in result.rows:
        t = out.setdefault(r["currency"], {"invoices": 0, "open_amount": Decimal("0")})
        t["invoices"] += 1
        t["open_amount"] += r["amount"]
    return out


def test_totals_are_per_organization_and_currency_never_summed_across():
    result = _Result([
        {"org": 1, "currency": "ZAR", "amount": Decimal("141185290.17")},
        {"org": 1, "currency": "ZAR", "amount": Decimal("0.005")},
        {"org": 1, "currency": "USD", "amount": Decimal("10")},
        {"org": 2, "currency": "ZAR", "amount": Decimal("17924031.77")},
    ])
    text = metadata.totals_by_organization(result, _totals, {"invoices": "Invoices", "open_amount": "Open"}).value
    # org 1 ZAR: 141,185,290.17 + 0.005 = 141,185,290.175 → half-up 141,185,290.18; org 2 apart
    assert text.splitlines() == [
        "| Organization | Currency | Invoices | Open |",
        "| ---: | :--- | ---: | ---: |",
        "| 1 | ZAR | 2 | 141,185,290.18 |",
        "| 1 | USD | 1 | 10.00 |",
        "| 2 | ZAR | 1 | 17,924,031.77 |",
    ]
    assert metadata.totals_by_organization(_Result([]), _totals, {"invoices": "Invoices"}).value == "no organizations"
