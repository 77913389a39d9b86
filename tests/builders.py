"""Hand-built platform data for tests: insert exactly the rows a test reasons about."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

D = Decimal


class Platform:
    """Inserts rows into a migrated database and returns their ids."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._types: dict[str, int] = {}
        self._currencies: dict[str, int] = {}

    def _insert(self, table: str, **values) -> int:
        cols = ", ".join(values)
        params = ", ".join(f":{k}" for k in values)
        with self.engine.begin() as conn:
            return int(conn.execute(sa.text(f"INSERT INTO {table} ({cols}) VALUES ({params}) RETURNING id"), values).scalar_one())

    def period(self, year: int, month: int) -> int:
        start = dt.date(year, month, 1)
        end = (dt.date(year + month // 12, month % 12 + 1, 1)) - dt.timedelta(days=1)
        return self._insert("billing_period", name=start.strftime("%B %Y"), start_date=start, end_date=end)

    def org(self, name: str, created_at: dt.datetime | None = None) -> int:
        """created_at defaults to now() (the column's default)."""
        if created_at is None:
            return self._insert("organization", name=name)
        return self._insert("organization", name=name, created_at=created_at)

    def currency(self, code: str) -> int:
        if code not in self._currencies:
            with self.engine.begin() as conn:
                self._currencies[code] = int(conn.execute(sa.text(
                    "INSERT INTO currency (name, code) VALUES (:c, :c) "
                    "ON CONFLICT (code) DO UPDATE SET code = EXCLUDED.code RETURNING id"), {"c": code}).scalar_one())
        return self._currencies[code]

    def line_type(self, code: str) -> int:
        if code not in self._types:
            self._types[code] = self._insert("invoice_line_item_type", name=code.title(), code=code)
        return self._types[code]

    def counterparty(self, name: str) -> int:
        return self._insert("counterparty", name=name)

    def project(self, org_id: int | None, name: str) -> int:
        return self._insert("project", organization_id=org_id, name=name)

    def contract(self, org_id: int | None, project_id: int | None, name: str, counterparty_id: int | None = None) -> int:
        return self._insert("contract", organization_id=org_id, project_id=project_id, name=name,
                            counterparty_id=counterparty_id)

    def expected(self, period_id: int, contract_id: int | None, project_id: int | None, currency: str,
                 lines: list[tuple], total: Decimal | None = "sum", counterparty_id: int | None = None) -> int:
        """lines: (type_code, description, amount). total='sum' → the lines' sum."""
        amount = sum((D(a) for _, _, a in lines), D(0)) if total == "sum" else total
        hid = self._insert("expected_invoice_header", billing_period_id=period_id, contract_id=contract_id,
                           project_id=project_id, currency_id=self.currency(currency), total_amount=amount,
                           counterparty_id=counterparty_id)
        for code, desc, value in lines:
            self._insert("expected_invoice_line_item", expected_invoice_header_id=hid,
                         invoice_line_item_type_id=self.line_type(code), description=desc,
                         line_total_amount=D(value))
        return hid

    def received(self, period_id: int, contract_id: int | None, project_id: int | None, currency: str,
                 lines: list[tuple], number: str, total: Decimal | None = "sum",
                 counterparty_id: int | None = None) -> int:
        amount = sum((D(a) for _, _, a in lines), D(0)) if total == "sum" else total
        hid = self._insert("received_invoice_header", billing_period_id=period_id, contract_id=contract_id,
                           project_id=project_id, currency_id=self.currency(currency), total_amount=amount,
                           invoice_number=number, counterparty_id=counterparty_id,
                           invoice_date=dt.date(2026, 11, 3), due_date=dt.date(2026, 12, 3), status="sent")
        for code, desc, value in lines:
            self._insert("received_invoice_line_item", received_invoice_header_id=hid,
                         invoice_line_item_type_id=self.line_type(code), description=desc,
                         line_total_amount=D(value))
        return hid

    def stored_comparison(self, expected_id: int | None, received_id: int | None, status: str,
                          final_amount=None, adjustment_amount=D(0), variance=None) -> int:
        return self._insert("invoice_comparison", expected_invoice_header_id=expected_id,
                            received_invoice_header_id=received_id, status=status, final_amount=final_amount,
                            adjustment_amount=adjustment_amount, variance_amount=variance)

    def template(self, org_id: int, report_type: str, **values) -> int:
        return self._insert("report_template", organization_id=org_id, report_type=report_type,
                            name=values.pop("name", f"{report_type} template"), **values)


def extract_reader(engine: Engine):
    """`read(name, **params)`: an extract's rows as the assets read them (`sql/extracts/<name>.sql`)."""
    from reporting_dagster.lib.infra import db
    from reporting_dagster.lib.infra.platform_schema import extract_sql

    return lambda name, **params: db.read_frame(engine, extract_sql(engine, name), params)


def compare_period(engine: Engine, period_id: int, tolerance=None):
    """The comparison of one billing period, from the real extracts (default tolerance)."""
    from reporting_dagster.lib.rules.comparison import Tolerance, compare

    read = extract_reader(engine)
    params = {"billing_period_id": period_id}
    return compare(read("expected_invoice_lines", **params), read("received_invoice_lines", **params),
                   read("stored_invoice_comparisons", **params),
                   Tolerance() if tolerance is None else tolerance)
