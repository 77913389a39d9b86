"""Platform rows for the invoice listing tests: client invoices with meters, contractor invoices
with quantities, unit prices, dates, statuses and received timestamps."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.builders import Platform

D = Decimal
TYPE_NAMES = {"ENERGY": "Energy", "CAPACITY": "Capacity", "LD_CREDIT": "Liquidated damages credit",
              "OM_FEE": "O&M fee", "SPARES": "Spare parts"}


class ListingPlatform(Platform):
    def line_type(self, code: str) -> int:
        if code not in self._types:
            self._types[code] = self._insert("invoice_line_item_type", name=TYPE_NAMES.get(code, code.title()),
                                             code=code)
        return self._types[code]

    def meter(self, period_id: int, org_id: int | None, production: str, unit: str = "kWh") -> int:
        return self._insert("meter_aggregate", billing_period_id=period_id, organization_id=org_id,
                            total_production=D(production), unit=unit, period_type="monthly")

    def client_invoice(self, period_id: int, contract_id: int | None, project_id: int | None, currency: str,
                       lines: list[tuple], number: str, total: str | None = "sum", status: str = "sent",
                       counterparty_id: int | None = None, invoice_date=dt.date(2026, 11, 1),
                       due_date=dt.date(2026, 12, 1)) -> int:
        """lines: (type_code, description, quantity, unit_price, line_total, meter_id or None)."""
        amount = sum((D(line[4]) for line in lines), D(0)) if total == "sum" else (None if total is None else D(total))
        hid = self._insert("invoice_header", billing_period_id=period_id, contract_id=contract_id,
                           project_id=project_id, currency_id=self.currency(currency), total_amount=amount,
                           invoice_number=number, counterparty_id=counterparty_id, invoice_date=invoice_date,
                           due_date=due_date, status=status)
        for code, desc, qty, price, line_total, meter_id in lines:
            self._insert("invoice_line_item", invoice_header_id=hid, meter_aggregate_id=meter_id,
                         invoice_line_item_type_id=self.line_type(code), description=desc,
                         quantity=D(qty), line_unit_price=D(price), line_total_amount=D(line_total))
        return hid

    def expected_lines(self, period_id: int, contract_id: int | None, project_id: int | None, currency: str,
                       lines: list[tuple], total: str | None = "sum", counterparty_id: int | None = None) -> int:
        """lines: (type_code, description, quantity, unit_price, line_total)."""
        amount = sum((D(line[4]) for line in lines), D(0)) if total == "sum" else (None if total is None else D(total))
        hid = self._insert("expected_invoice_header", billing_period_id=period_id, contract_id=contract_id,
                           project_id=project_id, currency_id=self.currency(currency), total_amount=amount,
                           counterparty_id=counterparty_id)
        for code, desc, qty, price, line_total in lines:
            self._insert("expected_invoice_line_item", expected_invoice_header_id=hid,
                         invoice_line_item_type_id=self.line_type(code), description=desc,
                         quantity=D(qty), line_unit_price=D(price), line_total_amount=D(line_total))
        return hid

    def received_lines(self, period_id: int, contract_id: int | None, project_id: int | None, currency: str,
                       lines: list[tuple], number: str, total: str | None = "sum", status: str = "sent",
                       counterparty_id: int | None = None, invoice_date=dt.date(2026, 11, 3),
                       due_date=dt.date(2026, 12, 3), created_at: str = "2026-11-04T10:00:00+00:00") -> int:
        amount = sum((D(line[4]) for line in lines), D(0)) if total == "sum" else (None if total is None else D(total))
        hid = self._insert("received_invoice_header", billing_period_id=period_id, contract_id=contract_id,
                           project_id=project_id, currency_id=self.currency(currency), total_amount=amount,
                           invoice_number=number, counterparty_id=counterparty_id, invoice_date=invoice_date,
                           due_date=due_date, status=status, created_at=dt.datetime.fromisoformat(created_at))
        for code, desc, qty, price, line_total in lines:
            self._insert("received_invoice_line_item", received_invoice_header_id=hid,
                         invoice_line_item_type_id=self.line_type(code), description=desc,
                         quantity=D(qty), line_unit_price=D(price), line_total_amount=D(line_total))
        return hid


def helios_month(engine, canary: str = "CANARY-5519") -> dict:
    """Helios (USD and EUR client invoices, contractor invoices), a canary organization and an orphan.

    Client invoices of October 2026 (hand-computed):
      INV-001 USD, Eskom, PPA North, sent:
        ENERGY  metered 123456.789 kWh; 123456.789 × 0.0825 = 10185.1850925 → 10185.19
        CAPACITY 5 × 1200.00 = 6000.00
        LD_CREDIT 1 × −160.00 = −160.00
        total 10185.19 + 6000.00 − 160.00 = 16025.19 (header = lines)
      INV-002 EUR, Stadtwerke, PPA South, draft:
        ENERGY  metered 50000.000 kWh; 50000 × 0.0700 = 3500.00; header says 3600.00 → mismatch +100.00
      ORPHAN-1 USD: no project, no contract → no organization, in no file
    Expected (USD, O&M North): OM_FEE 1 × 1000.00; ENERGY 2500.5 × 0.1000 = 250.05 → 1250.05
    Received V-100 (USD, O&M North, FixIt O&M), disputed, invoice 2026-11-03, due 2026-12-03,
      created 2026-11-04 23:30 at UTC−5 = 2026-11-05 04:30 UTC → received 2026-11-05:
        OM_FEE 1 × 1000.00; OM_FEE 12 × 85.00 = 1020.00; LD_CREDIT 1 × −160.00 → 1860.00
    Received R-EUR-7 (EUR, O&M South): OM_FEE 1 × 400.00 → 400.00
    """
    p = ListingPlatform(engine)
    period = p.period(2026, 10)
    helios = p.org("Helios Solar")
    proj = p.project(helios, "Solar North")
    eskom = p.counterparty("Eskom")
    stadt = p.counterparty("Stadtwerke")
    fixit = p.counterparty("FixIt O&M")
    ppa_n = p.contract(helios, proj, "PPA North", eskom)
    ppa_s = p.contract(helios, proj, "PPA South", stadt)
    om_n = p.contract(helios, proj, "O&M North", fixit)
    om_s = p.contract(helios, proj, "O&M South", fixit)
    m1 = p.meter(period, helios, "123456.789")
    m2 = p.meter(period, helios, "50000.000")
    inv1 = p.client_invoice(period, ppa_n, proj, "USD", [
        ("ENERGY", "Energy delivered October 2026", "123456.789", "0.0825", "10185.19", m1),
        ("CAPACITY", "Contracted capacity", "5", "1200.00", "6000.00", None),
        ("LD_CREDIT", "Availability shortfall", "1", "-160.00", "-160.00", None),
    ], "INV-001", counterparty_id=eskom)
    inv2 = p.client_invoice(period, ppa_s, proj, "EUR", [
        ("ENERGY", "Energie Oktober", "50000.000", "0.0700", "3500.00", m2),
    ], "INV-002", total="3600.00", status="draft", counterparty_id=stadt)
    orphan = p.client_invoice(period, None, None, "USD", [("CAPACITY", "Unallocated", "1", "5.00", "5.00", None)],
                              "ORPHAN-1")
    exp = p.expected_lines(period, om_n, proj, "USD", [
        ("OM_FEE", "Monthly O&M fee", "1", "1000.00", "1000.00"),
        ("ENERGY", "Auxiliary energy", "2500.5", "0.1000", "250.05"),
    ], counterparty_id=fixit)
    rec = p.received_lines(period, om_n, proj, "USD", [
        ("OM_FEE", "Monthly O&M fee", "1", "1000.00", "1000.00"),
        ("OM_FEE", "Technician hours", "12", "85.00", "1020.00"),
        ("LD_CREDIT", "Availability shortfall", "1", "-160.00", "-160.00"),
    ], "V-100", status="disputed", counterparty_id=fixit, created_at="2026-11-04T23:30:00-05:00")
    rec_eur = p.received_lines(period, om_s, proj, "EUR", [("OM_FEE", "Monthly O&M fee", "1", "400.00", "400.00")],
                               "R-EUR-7", counterparty_id=fixit)

    other = p.org(f"{canary} Org")
    oproj = p.project(other, f"{canary} project")
    oc = p.contract(other, oproj, f"{canary} contract")
    om = p.meter(period, other, "987654.321")
    p.client_invoice(period, oc, oproj, "USD", [("ENERGY", canary, "987654.321", "0.0100", "9876.54", om)],
                     f"{canary}-INV")
    p.expected_lines(period, oc, oproj, "USD", [("OM_FEE", canary, "1", "9876.54", "9876.54")])
    p.received_lines(period, oc, oproj, "USD", [("OM_FEE", canary, "1", "9876.54", "9876.54")], f"{canary}-V")
    return {"period": period, "helios": helios, "canary": other, "project": proj, "ppa_north": ppa_n,
            "inv1": inv1, "inv2": inv2, "orphan": orphan, "expected": exp, "received": rec, "received_eur": rec_eur,
            "meter1": m1}
