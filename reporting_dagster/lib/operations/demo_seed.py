"""Deterministic demo data for the platform database (Parts A and B, one report template).

`seed(engine, SeedOptions(...))` fills an empty, migrated database with a realistic energy
asset-management platform: organizations with solar and wind projects, two contracts per
project, monthly meter aggregates, invoices to clients with payments, contractor invoices
(expected and received) covering every comparison outcome in every organization and month,
stored comparisons that sometimes disagree with the truth, and staff time entries with rate
snapshots.

Everything comes from `random.Random(options.seed)` and `options.today`: the same options give
the same rows, ids included (ids are assigned here, then the sequences are moved past them).
Money is `Decimal` quantized to 0.01. Rows are written with COPY in one transaction.

Contractor invoice scenarios (per organization and month, contracts 0–5 rotate through them):

1. exact match, with a type repeating within the invoice (two OM_FEE lines, both sides);
2. split billing: two received invoices against one expected, pooled total 0.01 off;
3. overbilled by an extra 'Emergency call-out' line present on the received side only
   (its stored comparison says 'matched': the stored status disagrees with the truth);
4. underbilled (the O&M fee billed at an old rate);
5. received invoice without an expected one, whose header total is not the sum of its lines;
6. expected invoice without a received one.

The latest month also has, for the first organization, a received invoice with neither project
nor contract (its organization cannot be resolved).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.engine import Engine

CENT = Decimal("0.01")
UTC = dt.timezone.utc

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")

# Tables in insertion (foreign key) order with the columns written.
COLUMNS: dict[str, tuple[str, ...]] = {
    "currency": ("id", "name", "code"),
    "invoice_line_item_type": ("id", "name", "code", "description"),
    "billing_period": ("id", "name", "start_date", "end_date", "created_at"),
    "organization": ("id", "name", "address", "country", "created_at"),
    "counterparty": ("id", "name", "email", "address", "country", "created_at"),
    "project": ("id", "organization_id", "name", "created_at"),
    "contract": ("id", "project_id", "organization_id", "counterparty_id", "name", "description",
                 "effective_date", "end_date", "created_at", "updated_at"),
    "customer_project": ("customer_id", "project_id"),
    "member": ("id", "organization_id", "name", "email", "created_at"),
    "task": ("id", "project_id", "name", "created_at"),
    "meter_aggregate": ("id", "billing_period_id", "organization_id", "total_production",
                        "total_consumption", "unit", "period_type", "period_start", "period_end",
                        "created_at"),
    "invoice_header": ("id", "project_id", "contract_id", "billing_period_id", "counterparty_id",
                       "currency_id", "invoice_number", "invoice_date", "due_date", "total_amount",
                       "status", "created_at"),
    "invoice_line_item": ("id", "invoice_header_id", "meter_aggregate_id", "invoice_line_item_type_id",
                          "description", "quantity", "line_unit_price", "line_total_amount", "created_at"),
    "invoice_payment": ("id", "invoice_header_id", "amount", "paid_date", "reference", "created_at"),
    "expected_invoice_header": ("id", "project_id", "contract_id", "billing_period_id", "counterparty_id",
                                "currency_id", "total_amount", "created_at"),
    "expected_invoice_line_item": ("id", "expected_invoice_header_id", "invoice_line_item_type_id",
                                   "description", "quantity", "line_unit_price", "line_total_amount",
                                   "created_at"),
    "received_invoice_header": ("id", "project_id", "contract_id", "billing_period_id", "counterparty_id",
                                "currency_id", "invoice_number", "invoice_date", "due_date",
                                "total_amount", "status", "created_at"),
    "received_invoice_line_item": ("id", "received_invoice_header_id", "invoice_line_item_type_id",
                                   "description", "quantity", "line_unit_price", "line_total_amount",
                                   "created_at"),
    "invoice_comparison": ("id", "expected_invoice_header_id", "received_invoice_header_id",
                           "variance_amount", "status", "final_amount", "adjustment_amount", "created_at"),
    "invoice_comparison_line_item": ("id", "invoice_comparison_id", "expected_invoice_line_item_id",
                                     "received_invoice_line_item_id", "variance_amount", "description",
                                     "created_at"),
    "time_entry": ("id", "task_id", "member_id", "date", "duration_minutes", "billable",
                   "billing_rate_snapshot", "billing_rate_currency", "cost_rate_snapshot",
                   "cost_rate_currency", "description", "created_at"),
    "report_template": ("id", "organization_id", "project_id", "name", "description", "report_type",
                        "file_format", "template_config", "include_charts", "include_summary",
                        "include_line_items", "default_contract_id", "logo_path", "header_text",
                        "footer_text", "brand_color", "is_active", "created_at", "updated_at"),
    "scheduled_report": ("id", "organization_id", "report_template_id", "name", "report_frequency",
                         "day_of_month", "time_of_day", "timezone", "recipients", "delivery_method",
                         "s3_destination", "is_active", "next_run_at", "created_at", "updated_at"),
}

PART_A_TABLES = (
    "organization", "currency", "counterparty", "project", "contract", "billing_period",
    "invoice_line_item_type", "meter_aggregate", "invoice_header", "invoice_line_item",
    "expected_invoice_header", "expected_invoice_line_item", "received_invoice_header",
    "received_invoice_line_item", "invoice_comparison", "invoice_comparison_line_item",
)
PART_B_TABLES = ("member", "task", "time_entry", "customer_project", "invoice_payment")
# Wiped by replace=True; their id sequences start again at 1.
RESTART_IDENTITY_TABLES = PART_A_TABLES + PART_B_TABLES + ("report_template", "scheduled_report")
# Wiped by replace=True but their sequences keep counting: their ids name files in the report store.
KEEP_IDENTITY_TABLES = ("generated_report", "report_delivery", "audit_event")
DEMO_TABLES = RESTART_IDENTITY_TABLES + KEEP_IDENTITY_TABLES

_LOCK_KEY = 7_405_112_020  # pg_advisory_xact_lock: one seeder at a time
EXISTS_MESSAGE = "the database already has data; pass --replace to wipe the demo tables and seed again"


class DemoDataExists(ValueError):
    """The database already holds platform data and replace was not asked for."""


@dataclass(frozen=True)
class SeedOptions:
    orgs: int = 3
    months: int = 24
    scale: int = 1
    seed: int = 42
    today: dt.date | None = None  # None: date.today(); the last billing period is the month before
    replace: bool = False

    def resolved_today(self) -> dt.date:
        return self.today if self.today is not None else dt.date.today()

    def validate(self) -> None:
        if self.orgs < 3:
            raise ValueError(f"the demo needs at least 3 organizations, got orgs={self.orgs}")
        if not 1 <= self.months <= 600:
            raise ValueError(f"months must be between 1 and 600, got {self.months}")
        if not 1 <= self.scale <= 1000:
            raise ValueError(f"scale must be between 1 and 1000, got {self.scale}")


# ---------------------------------------------------------------------------------------------
# calendar and money helpers


def add_months(first_of_month: dt.date, n: int) -> dt.date:
    y, m = divmod(first_of_month.month - 1 + n, 12)
    return dt.date(first_of_month.year + y, m + 1, 1)


def billing_months(today: dt.date, months: int) -> list[tuple[dt.date, dt.date]]:
    """`months` consecutive calendar months ending with the last completed month before today."""
    last = add_months(today.replace(day=1), -1)
    starts = [add_months(last, -k) for k in reversed(range(months))]
    return [(s, add_months(s, 1) - dt.timedelta(days=1)) for s in starts]


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(units: int, places: int) -> Decimal:
    """An exact Decimal from an integer count of 10**-places."""
    return Decimal(units).scaleb(-places)


def _ts(day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def _slug(text: str) -> str:
    ascii_ = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    out = "".join(ch if ch.isalnum() else "-" for ch in ascii_)
    return "-".join(part for part in out.split("-") if part)


_ROMAN = ("", " II", " III", " IV", " V", " VI", " VII", " VIII", " IX", " X")


def _unique(names: Sequence[str], n: int) -> list[str]:
    """The first n names, cycling with roman suffixes (' II', ' III', …) once the list runs out."""
    out = []
    for i in range(n):
        cycle, idx = divmod(i, len(names))
        suffix = _ROMAN[cycle] if cycle < len(_ROMAN) else f" {cycle + 1}"
        out.append(names[idx] + suffix)
    return out


# ---------------------------------------------------------------------------------------------
# hand-written names

CURRENCIES = (("US Dollar", "USD"), ("Euro", "EUR"), ("South African Rand", "ZAR"))
CURRENCY_ID = {code: i for i, (_, code) in enumerate(CURRENCIES, start=1)}
FX = {"USD": Decimal("1"), "EUR": Decimal("0.92"), "ZAR": Decimal("18.50")}  # per USD, for price levels

LINE_TYPES = (
    ("Energy", "ENERGY", "Metered energy delivered (kWh)"),
    ("Capacity", "CAPACITY", "Contracted or guaranteed capacity charge"),
    ("Liquidated Damages Credit", "LD_CREDIT", "Credit for availability or performance shortfall"),
    ("O&M Fee", "OM_FEE", "Operations and maintenance services"),
    ("Ancillary Services", "ANCILLARY", "Reactive power and other grid support services"),
    ("Spare Parts", "SPARE_PARTS", "Spare parts and consumables passed through at cost"),
)
T_ENERGY, T_CAPACITY, T_LD, T_OM, T_ANCILLARY, T_SPARES = range(1, 7)


@dataclass(frozen=True)
class _Profile:
    """Names for one kind of organization (its currencies follow the organization's position)."""

    currencies: tuple[str, ...]
    locations: tuple[str, ...]
    clients: tuple[str, ...]
    contractors: tuple[str, ...]
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    country: str


PROFILES = (
    _Profile(
        currencies=("USD",),
        locations=("Mesquite Flats", "Pecos Valley", "Amarillo Plains", "Red Rock Canyon", "Mojave North",
                   "Cedar Creek", "Prairie Sky", "Sweetwater", "Coyote Ridge", "Big Sandy", "Eagle Pass",
                   "Lone Pine", "Sagebrush Mesa", "Antelope Valley"),
        clients=("Lone Star Power Cooperative", '=HYPERLINK("http://x","y")', "Pacific Grid Utilities Inc.",
                 "Mesa Municipal Electric", "Great Plains Energy Trading LLC", "Sierra Data Centers, Inc.",
                 "Gulf Coast Chemicals Corp."),
        contractors=("SunServe O&M Services LLC", "Prairie Wind Technicians, Inc.", "Apex Field Services LLC",
                     "BlueSky Asset Maintenance"),
        first_names=("James", "Maria", "Robert", "Aisha", "David", "Jennifer", "Carlos", "Emily", "Michael",
                     "Priya", "Kevin", "Laura"),
        last_names=("Carter", "Gonzalez", "Nguyen", "Johnson", "Patel", "O'Brien", "Smith", "Rivera", "Kim",
                    "Walker"),
        country="United States",
    ),
    _Profile(
        currencies=("EUR",),
        locations=("Uckermark", "Nordfriesland", "Lausitz", "Dithmarschen", "Eifel", "Altmark", "Emsland",
                   "Vorpommern", "Hunsrück", "Fläming", "Prignitz", "Wesermarsch"),
        clients=("Stadtwerke Hamburg GmbH", 'Müller Energie, "Süd" GmbH', "Bayerische Energiehandel AG",
                 "Rheinland Aluminium GmbH", "Zürich Power Trading AG", "Nordsee Gas & Strom KG"),
        contractors=("Müller Wartung GmbH", "Windtech Service GmbH & Co. KG", "Elbe Solar Technik GmbH",
                     "Nordic Turbine Care A/S"),
        first_names=("Jürgen", "Anna", "Lukas", "Sophie", "Matthias", "Lena", "Björn", "Katrin", "Jonas",
                     "Zoë", "Felix", "Mia"),
        last_names=("Müller", "Schröder", "Fischer", "Weiß", "Becker", "Hoffmann", "Krüger", "Schäfer",
                    "Wagner", "Neumann"),
        country="Germany",
    ),
    _Profile(
        currencies=("ZAR", "USD"),
        locations=("Kathu", "De Aar", "Upington", "Prieska", "Loeriesfontein", "Jeffreys Bay", "Kenhardt",
                   "Droogfontein", "Touwsrivier", "Noupoort", "Copperton", "Aggeneys"),
        clients=("Cape Metro Electricity Department", "Highveld Aluminium Smelters (Pty) Ltd",
                 "Gauteng Data Parks (Pty) Ltd", 'Sasolburg Chemicals, "Site 2"', "Durban Port Authority",
                 "Atlantic Mining Co. Ltd"),
        contractors=("+27 Field Services (Pty) Ltd", "Karoo O&M Solutions (Pty) Ltd",
                     "São Paulo Serviços Técnicos, Ltda.", "Mzansi Wind Maintenance"),
        first_names=("Thabo", "Anika", "Sipho", "Naledi", "Pieter", "Zanele", "Johan", "Lerato", "Ayesha",
                     "Themba", "Chloé", "Kagiso"),
        last_names=("Nkosi", "van der Merwe", "Dlamini", "Botha", "Mokoena", "Naidoo", "Pretorius", "Khumalo",
                    "Jacobs", "Ndlovu"),
        country="South Africa",
    ),
)

ORG_NAMES = (
    ("Helios Energy Partners", "1200 Congress Avenue, Suite 400\nAustin, TX 78701", "United States"),
    ("Nordwind Renewables GmbH", "Große Elbstraße 145\n22767 Hamburg", "Germany"),
    ('Karoo Solar (Pty) Ltd, t/a "Karoo Sun"', "12 Long Street\nCape Town 8001", "South Africa"),
    ("Atacama Sol SpA", "Avenida Apoquindo 3000\nSantiago", "Chile"),
    ("Sakura Wind 東京 K.K.", "1-1 Marunouchi, Chiyoda-ku\n東京 100-0005", "Japan"),
    ("São Paulo Energia Renovável Ltda", "Av. Paulista, 1000\nSão Paulo", "Brazil"),
    ("Baltic Breeze AB", "Stora Nygatan 12\nMalmö", "Sweden"),
    ("Alpenstrom Zürich AG", "Bahnhofstrasse 10\n8001 Zürich", "Switzerland"),
)

HOSTILE_PROJECTS = (
    '+Solar, "North" Park',
    'Windpark Zürich-Nord\nBauabschnitt "B"',
    "東京 Bay Floating PV ☀️, Block 7",
    "@Ridge Wind",
    "=Sum Solar",
    "-Offshore São Paulo",
)
HOSTILE_TASKS = (
    "<script>alert(1)</script>",
    "=1+1 tariff check",
    'Inverter "B" replacement, phase 2',
    "@Zürich coordination",
    "-Reconciliation follow-up\nQ3",
)
SOLAR_TASKS = ("Site inspection", "Inverter maintenance", "Module cleaning", "Vegetation management",
               "Monthly performance report", "SCADA monitoring", "Grid code compliance", "Warranty claims")
WIND_TASKS = ("Turbine inspection", "Blade repair", "Gearbox oil analysis", "SCADA monitoring",
              "Monthly performance report", "Grid code compliance", "Crane logistics", "Warranty claims")
ENTRY_DESCRIPTIONS = (
    "Routine site inspection", "Inverter fault diagnosis", "Monthly performance report",
    "Call with grid operator", "Vegetation control planning", "SCADA alarm review", "Contract review",
    "Warranty claim preparation", "Module cleaning supervision", "Invoice reconciliation", "Safety audit",
    "Spare parts inventory", "Turbine blade inspection", "Meeting with landowner",
)
HOSTILE_ENTRY_DESCRIPTIONS = (
    "-2+3 adjustment",
    "@SUM(A1)",
    'Reviewed "draft" report, sent to client',
    "Call with vendor\nfollow-up on inverter 3",
    "Site visit, São Paulo office",
    "東京 vendor call 📞",
    '=HYPERLINK("http://x","y")',
    "<script>alert(1)</script>",
    "+1 day extension requested",
    "Zürich workshop — Müller",
)
# Contractor line descriptions replacing the plain ones on two contracts of every organization
# (contracts 1 and 4; the same text on both sides, so they never change a comparison outcome).
HOSTILE_CONTRACT_LINES = (
    (T_CAPACITY, "-2+3 adjustment"),
    (T_ENERGY, 'Auxiliary energy, "night"\nimport'),
    (T_ENERGY, "@SUM(A1)"),
    (T_CAPACITY, "<script>alert(1)</script>"),
)
VENDOR_NUMBER_STYLES = ("VND-{n}", "{yyyy}/{n:05d}", "INV#{n}", "MW-{yy}{mm}-{n:04d}")
# Seasonal production factors by calendar month (index 0 = January).
SOLAR_SEASON = tuple(Decimal(x) for x in ("0.78", "0.85", "0.97", "1.06", "1.15", "1.20",
                                          "1.22", "1.16", "1.04", "0.92", "0.80", "0.74"))
WIND_SEASON = tuple(Decimal(x) for x in ("1.28", "1.20", "1.12", "0.98", "0.86", "0.78",
                                         "0.74", "0.78", "0.90", "1.06", "1.18", "1.26"))

# Contractor invoice scenarios; contracts 0–5 of every organization rotate through BASE_SLOTS.
EXACT_REPEAT = "exact_repeated_type"
TOLERANCE_SPLIT = "tolerance_split_billing"
OVER_EXTRA_LINE = "overbilled_extra_line"
UNDER = "underbilled"
RECEIVED_ONLY_BAD_TOTAL = "received_only_bad_total"
EXPECTED_ONLY = "expected_only"
BASE_SLOTS = (EXACT_REPEAT, TOLERANCE_SPLIT, OVER_EXTRA_LINE, UNDER, RECEIVED_ONLY_BAD_TOTAL, EXPECTED_ONLY)
PLAIN = "plain_exact"
SPLIT_EXACT = "split_exact"
TOLERANCE = "tolerance"
OVER = "overbilled"


# ---------------------------------------------------------------------------------------------
# in-memory model


@dataclass
class _Org:
    id: int
    index: int
    name: str
    domain: str
    profile: _Profile
    created_at: dt.datetime
    clients: list[int] = field(default_factory=list)
    contractors: list["_Contractor"] = field(default_factory=list)
    projects: list["_Project"] = field(default_factory=list)
    contracts: list["_Contract"] = field(default_factory=list)
    members: list["_Member"] = field(default_factory=list)


@dataclass
class _Contractor:
    id: int
    style: str
    counter: int
    due_days: int


@dataclass
class _Project:
    id: int
    ordinal: int
    name: str
    solar: bool
    kw: int
    currency: str
    tasks: list[int] = field(default_factory=list)


@dataclass
class _Contract:
    id: int
    ordinal: int
    project: _Project
    phase: int
    client: int
    contractor: _Contractor
    currency: str
    capacity_mw: Decimal
    share: Decimal
    capacity_factor: Decimal
    tariff: Decimal  # per kWh, first year
    capacity_price: Decimal  # per MW-month, first year
    om_fee: Decimal  # per month, first year
    availability_rate: Decimal  # per MW-month
    aux_price: Decimal  # per kWh


@dataclass
class _Member:
    id: int
    ordinal: int
    usd_rate: int  # billing rate per hour, USD level, first year
    cost_pct: int
    currency: str | None  # fixed rate currency (consultants); None: the project's currency
    tasks: list[tuple[int, str]]  # (task id, project currency)


@dataclass
class _Pair:
    slot: str
    expected_id: int | None
    expected_total: Decimal | None
    expected_lines: list[tuple[int, int, str, Decimal]]  # (line id, type, description, total)
    received_ids: list[int]
    received_total: Decimal | None
    received_lines: list[tuple[int, int, str, Decimal]]
    received_at: dt.datetime | None


class _Builder:
    def __init__(self, options: SeedOptions) -> None:
        self.o = options
        self.rng = random.Random(options.seed)
        self.today = options.resolved_today()
        self.periods = billing_months(self.today, options.months)
        self.rows: dict[str, list[tuple[Any, ...]]] = {t: [] for t in COLUMNS}
        self.first_year = self.periods[0][0].year
        self.invoice_seq: dict[dt.date, int] = {}
        self.rate_cache: dict[tuple[int, str, int], tuple[Decimal, Decimal]] = {}

    def next_id(self, table: str) -> int:
        return len(self.rows[table]) + 1

    # -- reference data -----------------------------------------------------------------------

    def build(self) -> dict[str, list[tuple[Any, ...]]]:
        for i, (name, code) in enumerate(CURRENCIES, start=1):
            self.rows["currency"].append((i, name, code))
        for i, (name, code, desc) in enumerate(LINE_TYPES, start=1):
            self.rows["invoice_line_item_type"].append((i, name, code, desc))
        for i, (start, end) in enumerate(self.periods, start=1):
            name = f"{MONTH_NAMES[start.month - 1]} {start.year}"
            self.rows["billing_period"].append((i, name, start, end, _ts(start - dt.timedelta(days=3), 2)))
        orgs = [self._organization(k) for k in range(self.o.orgs)]
        for org in orgs:
            self._people_and_tasks(org)
        self._report_template(orgs[0])
        self._schedules(orgs)
        last = len(self.periods) - 1
        for m, (start, end) in enumerate(self.periods):
            pid = m + 1
            for org in orgs:
                pairs = []
                for contract in org.contracts:
                    self._client_invoice(org, contract, m, pid, start, end)
                    pairs.extend(self._contractor_invoices(org, contract, m, pid, start, end))
                if m == last and org.index == 0:
                    self._orphan_received(org, pid, end)
                self._stored_comparisons(pairs)
            for org in orgs:
                self._time_entries(org, start, end)
        return self.rows

    def _organization(self, k: int) -> _Org:
        rng = self.rng
        base_name, address, country = ORG_NAMES[k % len(ORG_NAMES)]
        name = base_name if k < len(ORG_NAMES) else f"{base_name} {k // len(ORG_NAMES) + 1}"
        profile = PROFILES[k % 3]
        first_start = self.periods[0][0]
        created = _ts(add_months(first_start, -rng.randint(26, 40)) + dt.timedelta(days=rng.randint(0, 27)),
                      rng.randint(8, 17), rng.randint(0, 59))
        org = _Org(k + 1, k, name, _slug(base_name.split(",")[0])[:24] + ".example", profile, created)
        self.rows["organization"].append((org.id, name, address, country, created))

        scale = self.o.scale
        n_projects = 3 * scale
        # counterparties: clients (paying for energy) and O&M contractors
        day = created.date()
        for cname in _unique(profile.clients, 2 + scale):
            cid = self.next_id("counterparty")
            email = None if rng.random() < 0.1 else f"accounts@{_slug(cname)[:28] or 'client'}.example"
            self.rows["counterparty"].append(
                (cid, cname, email, f"{rng.randint(1, 999)} Commerce Road\n{profile.country}",
                 profile.country, _ts(day + dt.timedelta(days=rng.randint(1, 60)), 10)))
            org.clients.append(cid)
        for j, cname in enumerate(_unique(profile.contractors, 1 + scale)):
            cid = self.next_id("counterparty")
            self.rows["counterparty"].append(
                (cid, cname, f"invoices@{_slug(cname)[:28] or 'vendor'}.example",
                 f"Unit {rng.randint(1, 40)}, Industrial Park\n{profile.country}", profile.country,
                 _ts(day + dt.timedelta(days=rng.randint(1, 60)), 11)))
            org.contractors.append(_Contractor(cid, VENDOR_NUMBER_STYLES[(k + j) % len(VENDOR_NUMBER_STYLES)],
                                               rng.randint(10_000, 90_000), rng.choice((30, 30, 45))))

        locations = list(profile.locations)
        rng.shuffle(locations)
        names = _unique(locations, n_projects)
        for p in range(n_projects):
            solar = rng.random() < 0.6
            if p == 1:
                pname = HOSTILE_PROJECTS[k % len(HOSTILE_PROJECTS)]
            else:
                kind = rng.choice(("Solar Park", "Solar PV")) if solar else rng.choice(("Wind Farm", "Wind Park"))
                pname = f"{names[p]} {kind}"
            kw = rng.randint(40, 240) * 500 if solar else rng.randint(60, 300) * 500
            currencies = profile.currencies
            project = _Project(self.next_id("project"), p, pname, solar, kw, currencies[p % len(currencies)])
            effective = add_months(first_start, -rng.randint(1, 36))
            self.rows["project"].append((project.id, org.id, pname, _ts(effective - dt.timedelta(days=90), 9)))
            org.projects.append(project)
            contractor = org.contractors[p % len(org.contractors)]
            share = _dec(rng.randint(50, 65), 2)
            for phase in (1, 2):
                # project 0 has a different client per phase (two customers); others one client
                client = org.clients[(p + (phase - 1 if p == 0 else 0)) % len(org.clients)]
                self._contract(org, project, phase, client, contractor, effective,
                               share if phase == 1 else 1 - share)
            for cid in dict.fromkeys(c.client for c in org.contracts[-2:]):
                self.rows["customer_project"].append((cid, project.id))
        return org

    def _contract(self, org: _Org, project: _Project, phase: int, client: int, contractor: _Contractor,
                  effective: dt.date, share: Decimal) -> None:
        rng = self.rng
        cur = project.currency
        fx = FX[cur]
        mw = _dec(project.kw, 3) * share
        cf = _dec(rng.randint(19, 26) if project.solar else rng.randint(30, 42), 2)
        usd_tariff = _dec(rng.randint(650, 950), 4)
        contract = _Contract(
            id=self.next_id("contract"), ordinal=len(org.contracts), project=project, phase=phase,
            client=client, contractor=contractor, currency=cur,
            capacity_mw=mw.quantize(Decimal("0.001")), share=share, capacity_factor=cf,
            tariff=(usd_tariff * fx).quantize(Decimal("0.0001")),
            capacity_price=_money(_dec(rng.randint(1500, 2400), 0) * fx),
            om_fee=(Decimal(rng.randint(900, 1400)) * mw * fx / 40).quantize(Decimal("1"), rounding=ROUND_HALF_UP) * 10
            + Decimal("0.00"),
            availability_rate=_money(_dec(rng.randint(35, 60), 0) * fx),
            aux_price=(usd_tariff * Decimal("1.3") * fx).quantize(Decimal("0.0001")),
        )
        roman = "I" if phase == 1 else "II"
        name = f"{project.name.split(chr(10))[0]} Phase {roman} Energy Services Agreement"
        desc = (f"Power purchase agreement (phase {roman}, {contract.capacity_mw} MW) "
                f"with O&M services subcontracted")
        end = dt.date(effective.year + rng.choice((15, 20, 25)), effective.month, 1) - dt.timedelta(days=1)
        created = _ts(effective - dt.timedelta(days=rng.randint(20, 60)), 14)
        self.rows["contract"].append((contract.id, project.id, org.id, client, name, desc, effective, end,
                                      created, created + dt.timedelta(days=rng.randint(0, 30))))
        org.contracts.append(contract)

    def _people_and_tasks(self, org: _Org) -> None:
        rng = self.rng
        profile = org.profile
        created = org.created_at
        for project in org.projects:
            pool = list(SOLAR_TASKS if project.solar else WIND_TASKS)
            names = rng.sample(pool, rng.choice((3, 4)))
            if project.ordinal == 0:
                names[-1] = HOSTILE_TASKS[org.index % len(HOSTILE_TASKS)]
            for tname in names:
                tid = self.next_id("task")
                self.rows["task"].append((tid, project.id, tname, _ts(created.date() + dt.timedelta(days=30), 9)))
                project.tasks.append(tid)
        dual = len(profile.currencies) > 1
        used: set[str] = set()
        for i in range(5 * self.o.scale):
            first, last = rng.choice(profile.first_names), rng.choice(profile.last_names)
            nameless = i == 2 or (org.index == 0 and i == 4)
            local = f"field.desk{i + 1}" if nameless else f"{_slug(first)}.{_slug(last).replace('-', '')}"
            email = f"{local}@{org.domain}"
            n = 2
            while email in used:
                email = f"{local}{n}@{org.domain}"
                n += 1
            used.add(email)
            consultant = dual and i % 5 == 1
            if consultant:  # foreign consultants bill in USD, on the first project only
                projects = [org.projects[0]]
            else:
                projects = rng.sample(org.projects, min(len(org.projects), rng.choice((2, 2, 3))))
            member = _Member(self.next_id("member"), i, rng.randint(24, 44) * 5, rng.randint(45, 60),
                             "USD" if consultant else None,
                             [(t, p.currency) for p in projects for t in p.tasks])
            self.rows["member"].append((member.id, org.id, None if nameless else f"{first} {last}", email,
                                        created + dt.timedelta(days=rng.randint(10, 200))))
            org.members.append(member)

    def _report_template(self, org: _Org) -> None:
        config = json.dumps({"sections": ["variance_breakdown", "line_item_matching", "highlight_discrepancies"]})
        created = org.created_at + dt.timedelta(days=45)
        self.rows["report_template"].append((
            1, org.id, None, "Invoice Comparison Report",
            "Expected versus received contractor invoices, with variances and line matching",
            "invoice_comparison", "pdf", config, True, True, True, None, None,
            "Prepared for the finance team", f"Confidential — <b>{org.name}</b>", "#0B6E4F", True,
            created, created))

    def _schedules(self, orgs: list[_Org]) -> None:
        """The first hour's schedules (README "A first hour"): a monthly and a quarterly one, due
        at the seed's day, so `make dev`'s sensors claim them on their first tick and the runs
        deliver: e-mail to the .eml outbox, and an S3-style copy into the local delivery folder
        (bucket `demo-deliveries`, REPORTS_S3_DELIVERY_LOCAL_DIR in the Makefile)."""
        due = _ts(self.today)  # midnight UTC of the seed's day: already due when the UI starts
        karoo, nordwind = orgs[2], orgs[1]
        templates = self.rows["report_template"]
        for org, report_type, fmt, name, description in (
                (karoo, "invoice_aging", "xlsx", "Receivables aging workbook",
                 "Open client invoices by age bucket, for the credit-control team"),
                (nordwind, "timesheet", "pdf", "Monthly timesheet",
                 "Hours by member, project and day, for the project managers")):
            created = org.created_at + dt.timedelta(days=60)
            templates.append((len(templates) + 1, org.id, None, name, description, report_type, fmt,
                              json.dumps({"sections": []}), True, True, True, None, None, None, None, None, True,
                              created, created))
        aging_template, timesheet_template = len(templates) - 1, len(templates)
        for sid, (org, template, name, frequency, day, time_of_day, zone, recipients, method, s3) in enumerate((
                (orgs[0], 1, "Monthly contractor invoice check", "monthly", 1, dt.time(6, 0), "America/Chicago",
                 [{"email": f"finance@{orgs[0].domain}", "name": "Finance team"}], "email", None),
                (karoo, aging_template, "Quarterly receivables aging", "quarterly", 5, dt.time(7, 0),
                 "Africa/Johannesburg", [{"email": f"credit.control@{karoo.domain}", "name": "Credit control"}],
                 "both", "s3://demo-deliveries/karoo-solar"),
                (nordwind, timesheet_template, "Monthly timesheet", "monthly", 2, dt.time(8, 0), "Europe/Berlin",
                 [{"email": f"projects@{nordwind.domain}", "name": "Project managers"}], "email", None),
        ), start=1):
            created = org.created_at + dt.timedelta(days=61)
            self.rows["scheduled_report"].append((
                sid, org.id, template, name, frequency, day, time_of_day, zone, json.dumps(recipients), method,
                s3, True, due, created, created))

    # -- invoices to clients ------------------------------------------------------------------

    def _escalated(self, value: Decimal, year: int, places: str) -> Decimal:
        years = max(0, year - self.first_year)
        return (value * Decimal("1.025") ** years).quantize(Decimal(places), rounding=ROUND_HALF_UP)

    def _client_invoice(self, org: _Org, c: _Contract, m: int, pid: int, start: dt.date, end: dt.date) -> None:
        rng = self.rng
        age = len(self.periods) - 1 - m
        hours = ((end - start).days + 1) * 24
        season = (SOLAR_SEASON if c.project.solar else WIND_SEASON)[start.month - 1]
        noise = _dec(rng.randint(850, 1100), 3)
        production = (c.capacity_mw * 1000 * hours * c.capacity_factor * season * noise).quantize(Decimal("0.001"))
        ma_id = self.next_id("meter_aggregate")
        self.rows["meter_aggregate"].append((
            ma_id, pid, org.id, production, (production * Decimal("0.004")).quantize(Decimal("0.001")),
            "kWh", "monthly", _ts(start), _ts(end + dt.timedelta(days=1)),
            _ts(end + dt.timedelta(days=1), 3, rng.randint(0, 59))))

        invoice_date = end + dt.timedelta(days=1)
        created = _ts(invoice_date, 6, rng.randint(0, 59))
        year = start.year
        lines: list[tuple[Any, ...]] = []
        tariff = self._escalated(c.tariff, year, "0.0001")
        lines.append((ma_id, T_ENERGY, f"Energy delivered — {MONTH_NAMES[start.month - 1]} {year}",
                      production, tariff, _money(production * tariff)))
        cap_price = self._escalated(c.capacity_price, year, "0.01")
        lines.append((None, T_CAPACITY, "Contracted capacity charge", c.capacity_mw, cap_price,
                      _money(c.capacity_mw * cap_price)))
        if rng.random() < 0.15:
            credit = -_money(Decimal(rng.randint(400, 4500)) * FX[c.currency])
            desc = "-2+3 adjustment" if rng.random() < 0.15 else "Availability shortfall — liquidated damages"
            lines.append((None, T_LD, desc, Decimal("1"), credit, credit))
        if rng.random() < 0.08:
            qty = _dec(rng.randint(100_000, 900_000), 3)
            price = (_dec(rng.randint(80, 160), 4) * FX[c.currency]).quantize(Decimal("0.0001"))
            lines.append((None, T_ANCILLARY, "Reactive power support (kvarh)", qty, price, _money(qty * price)))
        total = sum((line[-1] for line in lines), Decimal("0"))

        r = rng.random()
        if age == 0:
            status = "draft" if r < 0.25 else "verified" if r < 0.5 else "sent"
        elif age == 1:
            status = "sent" if r < 0.45 else "paid" if r < 0.85 else "disputed" if r < 0.95 else "verified"
        else:
            status = "paid" if r < 0.85 else "sent" if r < 0.93 else "disputed"
        due = None if rng.random() < 0.03 else invoice_date + dt.timedelta(days=30)
        seq = self.invoice_seq[start] = self.invoice_seq.get(start, 0) + 1
        hid = self.next_id("invoice_header")
        self.rows["invoice_header"].append((
            hid, c.project.id, c.id, pid, c.client, CURRENCY_ID[c.currency], f"INV-{start:%Y-%m}-{seq:04d}",
            invoice_date, due, total, status, created))
        for ma, type_id, desc, qty, price, line_total in lines:
            self.rows["invoice_line_item"].append((self.next_id("invoice_line_item"), hid, ma, type_id, desc,
                                                   qty, price, line_total, created))
        self._payments(hid, total, invoice_date, due, status)

    def _payments(self, hid: int, total: Decimal, invoice_date: dt.date, due: dt.date | None, status: str) -> None:
        rng = self.rng
        ref_due = due or invoice_date + dt.timedelta(days=30)
        payments: list[tuple[dt.date, Decimal]] = []
        r = rng.random()
        if status == "paid":
            if r < 0.04:
                return  # marked paid in the platform, no payment recorded
            if r < 0.24:
                first = _money(total * Decimal(rng.randint(30, 70)) / 100)
                d1 = invoice_date + dt.timedelta(days=rng.randint(7, 25))
                payments = [(d1, first), (d1 + dt.timedelta(days=rng.randint(10, 45)), total - first)]
            elif r < 0.44:
                payments = [(ref_due + dt.timedelta(days=rng.randint(3, 60)), total)]  # late
            else:
                payments = [(invoice_date + dt.timedelta(days=rng.randint(5, 29)), total)]
        elif status in ("sent", "disputed") and r < 0.25:
            payments = [(invoice_date + dt.timedelta(days=rng.randint(10, 40)),
                         _money(total * Decimal(rng.randint(20, 60)) / 100))]
        for paid, amount in payments:
            paid = max(invoice_date, min(paid, self.today))
            if amount <= 0:
                continue
            ref = f"{rng.choice(('EFT', 'SWIFT', 'ACH'))} {rng.randint(100_000, 999_999)}"
            self.rows["invoice_payment"].append((self.next_id("invoice_payment"), hid, amount, paid, ref,
                                                 _ts(paid, rng.randint(9, 17), rng.randint(0, 59))))

    # -- contractor invoices ------------------------------------------------------------------

    def _slot(self, c: _Contract, m: int) -> str:
        if c.ordinal < len(BASE_SLOTS):
            return BASE_SLOTS[(c.ordinal + m) % len(BASE_SLOTS)]
        r = self.rng.random()
        if r < 0.62:
            return PLAIN
        for limit, slot in ((0.70, SPLIT_EXACT), (0.78, TOLERANCE), (0.86, OVER), (0.93, UNDER),
                            (0.965, EXPECTED_ONLY)):
            if r < limit:
                return slot
        return RECEIVED_ONLY_BAD_TOTAL

    def _base_lines(self, org_index: int, c: _Contract, start: dt.date,
                    end: dt.date) -> list[tuple[int, str, Decimal, Decimal]]:
        """(type, description, quantity, unit price) of the contractor invoice the contract expects."""
        rng = self.rng
        year = start.year
        fee = self._escalated(c.om_fee, year, "0.01")
        hours = ((end - start).days + 1) * 24
        aux_kwh = (c.capacity_mw * hours * _dec(rng.randint(180, 420), 2)).quantize(Decimal("0.001"))
        descs = {T_ENERGY: "Auxiliary energy imported", T_CAPACITY: "Availability guarantee fee"}
        if c.ordinal in (1, 4):
            t, d = HOSTILE_CONTRACT_LINES[(org_index + (0 if c.ordinal == 1 else 2)) % len(HOSTILE_CONTRACT_LINES)]
            descs[t] = d
        return [
            (T_OM, "Monthly O&M fee", Decimal("1"), fee),
            (T_ENERGY, descs[T_ENERGY], aux_kwh, self._escalated(c.aux_price, year, "0.0001")),
            (T_CAPACITY, descs[T_CAPACITY], c.capacity_mw, c.availability_rate),
        ]

    def _contractor_invoices(self, org: _Org, c: _Contract, m: int, pid: int, start: dt.date,
                             end: dt.date) -> list[_Pair]:
        rng = self.rng
        fx = FX[c.currency]
        slot = self._slot(c, m)
        base = self._base_lines(org.index, c, start, end)
        expected: list[tuple[int, str, Decimal, Decimal]] | None = list(base)
        received: list[list[tuple[int, str, Decimal, Decimal]]] = [list(base)]
        header_offset = Decimal("0")
        fee = base[0][3]
        if slot == EXACT_REPEAT:
            preventive = _money(fee * Decimal("0.6"))
            split = [(T_OM, "Preventive maintenance", Decimal("1"), preventive),
                     (T_OM, "Corrective maintenance", Decimal("1"), fee - preventive)]
            expected = split + base[1:]
            received = [list(expected)]
        elif slot in (TOLERANCE_SPLIT, SPLIT_EXACT):
            delta = rng.choice((CENT, -CENT)) if slot == TOLERANCE_SPLIT else Decimal("0")
            received = [base[1:], [(T_OM, "Monthly O&M fee", Decimal("1"), fee + delta)]]
        elif slot == TOLERANCE:
            received = [[(T_OM, "Monthly O&M fee", Decimal("1"), fee + rng.choice((CENT, -CENT)))] + base[1:]]
        elif slot == OVER_EXTRA_LINE:
            received = [base + [(T_OM, "Emergency call-out", Decimal("1"), _money(Decimal("250") * fx))]]
        elif slot == OVER:
            hours = Decimal(rng.randint(4, 24))
            received = [base + [(T_OM, "Additional technician hours", hours, _money(Decimal("85") * fx))]]
        elif slot == UNDER:
            received = [[(T_OM, "Monthly O&M fee", Decimal("1"), fee - _money(Decimal("1250") * fx))] + base[1:]]
        elif slot == RECEIVED_ONLY_BAD_TOTAL:
            expected = None
            header_offset = _money(Decimal("100") * fx)
        elif slot == EXPECTED_ONLY:
            received = []
        elif slot == PLAIN and rng.random() < 0.15:
            spares = (T_SPARES, "Spare parts — fuses and filters", Decimal(rng.randint(2, 12)),
                      _money(Decimal(rng.randint(40, 400)) * fx))
            expected = base + [spares]
            received = [list(expected)]

        cur_id = CURRENCY_ID[c.currency]
        pair = _Pair(slot, None, None, [], [], None, [], None)
        if expected is not None:
            eid = self.next_id("expected_invoice_header")
            created = _ts(end + dt.timedelta(days=1), 2, rng.randint(0, 59))
            lines = [(t, d, q, p, _money(q * p)) for t, d, q, p in expected]
            total = sum((line[-1] for line in lines), Decimal("0"))
            self.rows["expected_invoice_header"].append(
                (eid, c.project.id, c.id, pid, c.contractor.id, cur_id, total, created))
            for t, d, q, p, lt in lines:
                lid = self.next_id("expected_invoice_line_item")
                self.rows["expected_invoice_line_item"].append((lid, eid, t, d, q, p, lt, created))
                pair.expected_lines.append((lid, t, d, lt))
            pair.expected_id, pair.expected_total = eid, total
        age = len(self.periods) - 1 - m
        latest_day = self.today
        for n, rec_lines in enumerate(received):
            invoice_date = min(end + dt.timedelta(days=1 + rng.randint(0, 6) + 3 * n), latest_day)
            received_day = min(invoice_date + dt.timedelta(days=rng.randint(0, 8)), latest_day)
            received_at = _ts(received_day, rng.randint(7, 17), rng.randint(0, 59))
            lines = [(t, d, q, p, _money(q * p)) for t, d, q, p in rec_lines]
            lines_total = sum((line[-1] for line in lines), Decimal("0"))
            disputable = slot in (OVER_EXTRA_LINE, OVER, UNDER)
            r = rng.random()
            if age == 0:
                status = "draft" if r < 0.4 else "verified"
            elif age == 1:
                status = "disputed" if disputable and r < 0.5 else "verified" if r < 0.5 else "paid"
            else:
                status = "disputed" if disputable and r < 0.3 else "paid"
            rid = self.next_id("received_invoice_header")
            self.rows["received_invoice_header"].append((
                rid, c.project.id, c.id, pid, c.contractor.id, cur_id, self._vendor_number(c.contractor, start),
                invoice_date, invoice_date + dt.timedelta(days=c.contractor.due_days), lines_total + header_offset,
                status, received_at))
            for t, d, q, p, lt in lines:
                lid = self.next_id("received_invoice_line_item")
                self.rows["received_invoice_line_item"].append((lid, rid, t, d, q, p, lt, received_at))
                pair.received_lines.append((lid, t, d, lt))
            pair.received_ids.append(rid)
            pair.received_total = (pair.received_total or Decimal("0")) + lines_total + header_offset
            pair.received_at = received_at
        return [pair]

    def _vendor_number(self, contractor: _Contractor, start: dt.date) -> str:
        contractor.counter += self.rng.randint(1, 7)
        return contractor.style.format(n=contractor.counter, yyyy=start.year, yy=f"{start.year % 100:02d}",
                                       mm=f"{start.month:02d}")

    def _orphan_received(self, org: _Org, pid: int, end: dt.date) -> None:
        """A received invoice with neither project nor contract: its organization is unknown."""
        rng = self.rng
        contractor = org.contractors[0]
        invoice_date = min(end + dt.timedelta(days=2), self.today)
        received_at = _ts(invoice_date, 15, rng.randint(0, 59))
        lines = [(T_OM, "Site security — unallocated", Decimal("1"), Decimal("3450.00")),
                 (T_SPARES, "Padlocks and fencing wire", Decimal("12"), Decimal("18.75"))]
        rid = self.next_id("received_invoice_header")
        total = sum((_money(q * p) for _, _, q, p in lines), Decimal("0"))
        self.rows["received_invoice_header"].append((
            rid, None, None, pid, contractor.id, CURRENCY_ID["USD"], self._vendor_number(contractor, end),
            invoice_date, invoice_date + dt.timedelta(days=30), total, "draft", received_at))
        for t, d, q, p in lines:
            self.rows["received_invoice_line_item"].append(
                (self.next_id("received_invoice_line_item"), rid, t, d, q, p, _money(q * p), received_at))

    def _stored_comparisons(self, pairs: list[_Pair]) -> None:
        """The platform's own comparisons for about a third of the pairs; some disagree with the truth."""
        rng = self.rng
        for pair in pairs:
            if pair.expected_id is None or len(pair.received_ids) != 1:
                continue
            assert pair.expected_total is not None and pair.received_total is not None
            variance = pair.received_total - pair.expected_total
            truth = "matched" if abs(variance) <= CENT else "overbilled" if variance > 0 else "underbilled"
            if pair.slot == OVER_EXTRA_LINE:
                status = "matched"  # stale platform verdict: disagrees with the data
            elif rng.random() < 0.4:
                status = "unchecked" if rng.random() < 0.3 else truth
            else:
                continue
            final: Decimal | None = None
            if status != "unchecked" and rng.random() < 0.7:
                final = pair.expected_total if status == "overbilled" else pair.received_total
            adjustment = final - pair.received_total if final is not None else Decimal("0.00")
            assert pair.received_at is not None
            created = pair.received_at + dt.timedelta(hours=rng.randint(1, 72))
            cmp_id = self.next_id("invoice_comparison")
            self.rows["invoice_comparison"].append((cmp_id, pair.expected_id, pair.received_ids[0], variance,
                                                    status, final, adjustment, created))
            if rng.random() < 0.5:
                self._comparison_lines(cmp_id, pair, created)

    def _comparison_lines(self, cmp_id: int, pair: _Pair, created: dt.datetime) -> None:
        remaining = list(pair.received_lines)
        for lid, t, d, total in pair.expected_lines:
            match = next((r for r in remaining if r[1] == t and r[2] == d), None)
            if match is not None:
                remaining.remove(match)
            variance = (match[3] if match else Decimal("0")) - total
            self.rows["invoice_comparison_line_item"].append(
                (self.next_id("invoice_comparison_line_item"), cmp_id, lid, match[0] if match else None,
                 variance, d, created))
        for lid, _t, d, total in remaining:
            self.rows["invoice_comparison_line_item"].append(
                (self.next_id("invoice_comparison_line_item"), cmp_id, None, lid, total, d, created))

    # -- time ---------------------------------------------------------------------------------

    def _rates(self, member: _Member, currency: str, year: int) -> tuple[Decimal, Decimal]:
        key = (member.id, currency, year)
        rates = self.rate_cache.get(key)
        if rates is None:
            raise_ = Decimal("1.04") ** max(0, year - self.first_year)
            step = Decimal("50") if currency == "ZAR" else Decimal("5")
            billing = ((Decimal(member.usd_rate) * FX[currency] * raise_) / step).quantize(
                Decimal("1"), rounding=ROUND_HALF_UP) * step
            billing = billing.quantize(CENT)
            cost = _money(billing * member.cost_pct / 100)
            rates = self.rate_cache[key] = (billing, cost)
        return rates

    def _time_entries(self, org: _Org, start: dt.date, end: dt.date) -> None:
        rng = self.rng
        weekdays = [start + dt.timedelta(days=i) for i in range((end - start).days + 1)
                    if (start + dt.timedelta(days=i)).weekday() < 5]
        rows = self.rows["time_entry"]
        year = start.year
        for member in org.members:
            n = rng.randint(15, 20)
            days = sorted(rng.choice(weekdays) for _ in range(n))
            for k, day in enumerate(days):
                task, project_currency = rng.choice(member.tasks)
                currency = member.currency or project_currency
                minutes = 15 * int(rng.triangular(2, 32, 16))
                r = rng.random()
                billable = r < 0.85
                billing, cost = self._rates(member, currency, year)
                b_rate: Decimal | None = billing
                b_cur: str | None = currency
                c_rate: Decimal | None = cost
                c_cur: str | None = currency
                if not billable:
                    b_rate = b_cur = None  # internal work: no revenue, still a cost
                s = rng.random()
                if s < 0.025:
                    b_rate = b_cur = c_rate = c_cur = None  # logged before rates were configured
                elif s < 0.04 and billable:
                    c_rate = c_cur = None
                d = rng.random()
                if k == 0 and member.ordinal == 0:
                    desc: str | None = HOSTILE_ENTRY_DESCRIPTIONS[(start.month + org.index) %
                                                                   len(HOSTILE_ENTRY_DESCRIPTIONS)]
                elif d < 0.02:
                    desc = rng.choice(HOSTILE_ENTRY_DESCRIPTIONS)
                elif d < 0.12:
                    desc = None
                else:
                    desc = rng.choice(ENTRY_DESCRIPTIONS)
                rows.append((len(rows) + 1, task, member.id, day, minutes, billable, b_rate, b_cur, c_rate, c_cur,
                             desc, _ts(day, 16 + rng.randint(0, 3), rng.randint(0, 59))))


# ---------------------------------------------------------------------------------------------
# writing


def build_rows(options: SeedOptions) -> dict[str, list[tuple[Any, ...]]]:
    """All demo rows, per table in insertion order (pure: no database)."""
    options.validate()
    return _Builder(options).build()


def _has_data(cur: Any) -> bool:
    # organization is what counts; the other demo tables are checked too, since explicit ids
    # would collide with their rows
    tables = ("organization",) + tuple(t for t in COLUMNS if t != "organization")
    checks = " OR ".join(f"EXISTS (SELECT 1 FROM {t})" for t in tables)
    cur.execute(f"SELECT {checks}")
    return bool(cur.fetchone()[0])


def seed(engine: Engine, options: SeedOptions) -> dict[str, int]:
    """Fill the (migrated) database with demo data; rows written per table.

    Refuses (DemoDataExists) when the database already has platform data, unless
    options.replace: then the demo tables are truncated first (CASCADE). Part A/B tables,
    report_template and scheduled_report start their ids again at 1; generated_report,
    report_delivery and audit_event keep their sequences (their ids name stored files).
    One transaction: all or nothing.
    """
    rows = build_rows(options)
    with engine.begin() as conn:
        cur = conn.connection.cursor()
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        if options.replace:
            # One TRUNCATE without RESTART IDENTITY (CASCADE would otherwise also reset the
            # sequences of generated_report & co.); the restarted sequences are set below.
            cur.execute(f"TRUNCATE {', '.join(DEMO_TABLES)} CASCADE")
        elif _has_data(cur):
            raise DemoDataExists(EXISTS_MESSAGE)
        for table, table_rows in rows.items():
            if not table_rows:
                continue
            cols = ", ".join(COLUMNS[table])
            with cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in table_rows:
                    copy.write_row(row)
        for table in RESTART_IDENTITY_TABLES:
            if "id" not in COLUMNS.get(table, ("id",)):
                continue
            n = len(rows.get(table, ()))
            if n == 0 and not options.replace:
                continue  # not ours: leave the sequence of an untouched table alone
            cur.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)",
                        (table, max(n, 1), n > 0))
        cur.close()
    return {table: len(table_rows) for table, table_rows in rows.items()}
