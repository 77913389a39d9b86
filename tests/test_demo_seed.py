"""The demo seeder: shape, determinism, refusal/replace, and every comparison outcome.

The outcome checks read the raw tables with SQL and decide each outcome here, independently of
the seeder's own scenario code (organization of an invoice = its project's, else its contract's).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine

from reporting_dagster.lib.infra import db
from reporting_dagster.lib.operations import demo_seed
from reporting_dagster.lib.operations.demo_seed import DemoDataExists, SeedOptions, seed

TODAY = dt.date(2026, 11, 22)
OPTIONS = SeedOptions(today=TODAY)  # 3 orgs, 24 months, scale 1, seed 42
CENT = Decimal("0.01")

SEEDED_TABLES = [
    "currency", "invoice_line_item_type", "billing_period", "organization", "counterparty", "project",
    "contract", "customer_project", "member", "task", "meter_aggregate", "invoice_header",
    "invoice_line_item", "invoice_payment", "expected_invoice_header", "expected_invoice_line_item",
    "received_invoice_header", "received_invoice_line_item", "invoice_comparison",
    "invoice_comparison_line_item", "time_entry", "report_template", "scheduled_report",
]


# ---------------------------------------------------------------------------------------------
# fixtures and helpers


@pytest.fixture(scope="module")
def seeded(server_url: URL, template_database: str) -> Iterator[tuple[Engine, dict[str, int]]]:
    """One database seeded with OPTIONS, shared by the read-only tests of this module."""
    name = f"rd_seed_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    engine = db.create_engine(server_url.set(database=name))
    counts = seed(engine, OPTIONS)
    yield engine, counts
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def _rows(engine: Engine, sql: str, **params) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def _scalar(engine: Engine, sql: str, **params):
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def _dump(engine: Engine) -> dict[str, str]:
    """An md5 of every seeded table's rows in text form, in id order."""
    out = {}
    with engine.connect() as conn:
        for table in SEEDED_TABLES:
            order = "customer_id, project_id" if table == "customer_project" else "id"
            out[table] = conn.execute(sa.text(
                f"SELECT md5(coalesce(string_agg(t::text, E'\\n' ORDER BY {order}), '')) FROM {table} t"
            )).scalar_one()
    return out


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _contractor_invoices(engine: Engine):
    """Headers of both sides with organization, and their lines."""
    headers = []
    lines: dict[tuple[str, int], list[tuple]] = defaultdict(list)
    for side, table, line_table, fk in (
        ("E", "expected_invoice_header", "expected_invoice_line_item", "expected_invoice_header_id"),
        ("R", "received_invoice_header", "received_invoice_line_item", "received_invoice_header_id"),
    ):
        for hid, period, org, contract, currency, total in _rows(engine, f"""
                SELECT h.id, h.billing_period_id, COALESCE(p.organization_id, c.organization_id),
                       h.contract_id, h.currency_id, h.total_amount
                FROM {table} h
                LEFT JOIN project p ON p.id = h.project_id
                LEFT JOIN contract c ON c.id = h.contract_id"""):
            headers.append((side, hid, period, org, contract, currency, total))
        for hid, code, desc, qty, price, total in _rows(engine, f"""
                SELECT l.{fk}, t.code, l.description, l.quantity, l.line_unit_price, l.line_total_amount
                FROM {line_table} l JOIN invoice_line_item_type t ON t.id = l.invoice_line_item_type_id"""):
            lines[(side, hid)].append((code, desc, qty, price, total))
    return headers, lines


def _pairs(headers):
    """Contract pairs: (period, org, contract, currency) → {'E': [...], 'R': [...]}."""
    pairs: dict[tuple, dict[str, list]] = defaultdict(lambda: {"E": [], "R": []})
    for side, hid, period, org, contract, currency, total in headers:
        if org is not None and contract is not None:
            pairs[(period, org, contract, currency)][side].append((hid, total))
    return pairs


def _repeats_with_different_descriptions(lines: list[tuple]) -> bool:
    by_type: dict[str, set[str]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for code, desc, *_ in lines:
        by_type[code].add(_norm(desc))
        counts[code] += 1
    return any(counts[c] > 1 and len(by_type[c]) > 1 for c in counts)


def _outcomes(engine: Engine) -> dict[tuple[int, int], set[int]]:
    """(billing period, organization) → the outcome numbers 1–10 found in the raw tables."""
    headers, lines = _contractor_invoices(engine)
    found: dict[tuple[int, int], set[int]] = defaultdict(set)
    for side, hid, period, org, _contract, _currency, total in headers:
        if side == "R" and org is not None and total != sum(line[4] for line in lines[("R", hid)]):
            found[(period, org)].add(8)
    for (period, org, _contract, _currency), sides in _pairs(headers).items():
        exp, rec = sides["E"], sides["R"]
        out = found[(period, org)]
        if exp and not rec:
            out.add(6)
            continue
        if rec and not exp:
            out.add(5)
            continue
        diff = sum(t for _, t in rec) - sum(t for _, t in exp)
        exp_lines = [line for hid, _ in exp for line in lines[("E", hid)]]
        rec_lines = [line for hid, _ in rec for line in lines[("R", hid)]]
        if len(exp) == 1 and len(rec) == 1 and diff == 0 and sorted(exp_lines, key=repr) == sorted(rec_lines, key=repr):
            out.add(1)
        if abs(diff) == CENT:
            out.add(2)
        if diff >= 1:
            out.add(3)
        if diff <= -1:
            out.add(4)
        if {(c, _norm(d)) for c, d, *_ in exp_lines} ^ {(c, _norm(d)) for c, d, *_ in rec_lines}:
            out.add(7)
        if len(exp) == 1 and len(rec) >= 2:
            out.add(9)
        if any(_repeats_with_different_descriptions(lines[("E", h)]) for h, _ in exp) and any(
                _repeats_with_different_descriptions(lines[("R", h)]) for h, _ in rec):
            out.add(10)
    return found


def _assert_every_outcome_everywhere(engine: Engine) -> None:
    found = _outcomes(engine)
    periods = [p for (p,) in _rows(engine, "SELECT id FROM billing_period ORDER BY id")]
    orgs = [o for (o,) in _rows(engine, "SELECT id FROM organization ORDER BY id")]
    missing = {(p, o): sorted(set(range(1, 11)) - found.get((p, o), set()))
               for p in periods for o in orgs}
    assert {k: v for k, v in missing.items() if v} == {}


# ---------------------------------------------------------------------------------------------
# shape


def test_counts_and_shape(seeded):
    engine, counts = seeded
    for table, n in counts.items():
        assert _scalar(engine, f"SELECT count(*) FROM {table}") == n, table
    assert counts["organization"] == 3
    periods = _rows(engine, "SELECT name, start_date, end_date FROM billing_period ORDER BY start_date")
    assert len(periods) == 24
    assert periods[0] == ("November 2024", dt.date(2024, 11, 1), dt.date(2024, 11, 30))
    assert periods[-1] == ("October 2026", dt.date(2026, 10, 1), dt.date(2026, 10, 31))
    for (_, _, prev_end), (_, start, _) in zip(periods, periods[1:]):
        assert start == prev_end + dt.timedelta(days=1)
    assert {c for (c,) in _rows(engine, "SELECT code FROM currency")} == {"USD", "EUR", "ZAR"}
    assert {"ENERGY", "CAPACITY", "LD_CREDIT", "OM_FEE"} <= {
        c for (c,) in _rows(engine, "SELECT code FROM invoice_line_item_type")}

    per_org = dict(_rows(engine, """
        SELECT p.organization_id, array_agg(DISTINCT cur.code ORDER BY cur.code)
        FROM invoice_header h JOIN project p ON p.id = h.project_id JOIN currency cur ON cur.id = h.currency_id
        GROUP BY 1"""))
    assert per_org == {1: ["USD"], 2: ["EUR"], 3: ["USD", "ZAR"]}
    assert _rows(engine, "SELECT organization_id, count(*) FROM project GROUP BY 1 ORDER BY 1") == [
        (1, 3), (2, 3), (3, 3)]
    assert _scalar(engine, "SELECT count(*) FROM (SELECT project_id FROM contract GROUP BY 1 HAVING count(*) <> 2) x") == 0
    assert _rows(engine, "SELECT organization_id, count(*) FROM member GROUP BY 1 ORDER BY 1") == [
        (1, 5), (2, 5), (3, 5)]
    # one invoice to the client per contract and month, its total the sum of its lines
    assert _scalar(engine, "SELECT count(*) FROM invoice_header") == 18 * 24
    assert _scalar(engine, "SELECT count(DISTINCT (contract_id, billing_period_id)) FROM invoice_header") == 18 * 24
    assert _scalar(engine, """
        SELECT count(*) FROM invoice_header h
        WHERE h.total_amount <> (SELECT sum(line_total_amount) FROM invoice_line_item l WHERE l.invoice_header_id = h.id)
        """) == 0
    # the ENERGY line bills the meter aggregate's production
    assert _scalar(engine, """
        SELECT count(*) FROM invoice_line_item l JOIN invoice_line_item_type t ON t.id = l.invoice_line_item_type_id
        LEFT JOIN meter_aggregate m ON m.id = l.meter_aggregate_id
        WHERE t.code = 'ENERGY' AND (m.id IS NULL OR m.total_production <> l.quantity)""") == 0
    assert _scalar(engine, "SELECT count(*) FROM invoice_line_item WHERE line_total_amount < 0 AND line_unit_price < 0") > 0
    numbers = [n for (n,) in _rows(engine, "SELECT invoice_number FROM invoice_header")]
    assert all(re.fullmatch(r"INV-\d{4}-\d{2}-\d{4}", n) for n in numbers)
    assert "INV-2026-10-0001" in numbers
    assert _scalar(engine, """SELECT count(*) FROM invoice_header h JOIN billing_period b ON b.id = h.billing_period_id
        WHERE h.invoice_date <> b.end_date + 1 OR h.due_date <> h.invoice_date + 30""") == 0
    assert _scalar(engine, "SELECT count(*) FROM invoice_header WHERE due_date IS NULL") > 0
    statuses = {s for (s,) in _rows(engine, "SELECT DISTINCT status::text FROM invoice_header")}
    assert statuses == {"draft", "verified", "sent", "disputed", "paid"}
    # one project per organization works for two customers
    assert _rows(engine, """
        SELECT p.organization_id, count(*) FROM (SELECT project_id FROM customer_project GROUP BY 1
        HAVING count(*) = 2) x JOIN project p ON p.id = x.project_id GROUP BY 1 ORDER BY 1""") == [(1, 1), (2, 1), (3, 1)]
    # money is exact to the cent
    assert _scalar(engine, "SELECT count(*) FROM invoice_header WHERE total_amount <> round(total_amount, 2)") == 0
    assert _scalar(engine, "SELECT count(*) FROM received_invoice_header WHERE total_amount <> round(total_amount, 2)") == 0


def test_report_template_for_the_first_organization(seeded):
    engine, _ = seeded
    rows = _rows(engine, """SELECT organization_id, project_id, name, report_type::text, brand_color, header_text,
        footer_text, template_config FROM report_template WHERE id = 1""")
    assert len(rows) == 1
    org, project, name, rtype, color, header, footer, config = rows[0]
    assert (org, project, name, rtype, color) == (1, None, "Invoice Comparison Report", "invoice_comparison", "#0B6E4F")
    assert header == "Prepared for the finance team"
    assert footer.startswith("Confidential — ") and "<b>" in footer and "Helios Energy Partners" in footer
    assert config == {"sections": ["variance_breakdown", "line_item_matching", "highlight_discrepancies"]}


def test_the_first_hour_has_due_monthly_and_quarterly_schedules(seeded):
    """`make dev` shows schedules, ticks and deliveries without SQL: three due schedules, each on a
    template of its own organization, e-mail to the outbox and one S3-style copy."""
    engine, counts = seeded
    assert counts["scheduled_report"] == 3 and counts["report_template"] == 3
    rows = _rows(engine, """SELECT s.organization_id, t.organization_id, t.report_type::text, t.file_format::text,
        s.report_frequency::text, s.day_of_month, s.timezone, s.delivery_method::text, s.s3_destination,
        s.recipients, s.next_run_at, s.is_active FROM scheduled_report s
        JOIN report_template t ON t.id = s.report_template_id ORDER BY s.id""")
    assert [(r[0], r[2], r[3], r[4], r[7], r[8]) for r in rows] == [
        (1, "invoice_comparison", "pdf", "monthly", "email", None),
        (3, "invoice_aging", "xlsx", "quarterly", "both", "s3://demo-deliveries/karoo-solar"),
        (2, "timesheet", "pdf", "monthly", "email", None),
    ]
    assert all(r[0] == r[1] and r[11] for r in rows)  # a template of the schedule's own organization
    # due at the seed day's midnight UTC: the first sensor tick after `make dev` starts claims them
    assert {r[10] for r in rows} == {dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)}
    assert [len(r[9]) for r in rows] == [1, 1, 1] and all("@" in r[9][0]["email"] for r in rows)


def test_the_seeded_schedules_queue_their_reports_on_the_first_tick(fresh_engine):
    from reporting_dagster.lib.requests.queue import evaluate_schedules

    seed(fresh_engine, SeedOptions(months=4, today=TODAY))  # July to October 2026
    now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
    outcomes = evaluate_schedules(fresh_engine, now=now)
    assert sorted(o.action for o in outcomes) == ["claimed", "claimed", "claimed"]
    rows = _rows(fresh_engine, """SELECT g.report_type::text, g.report_status::text, b.start_date, g.parameters
        FROM generated_report g LEFT JOIN billing_period b ON b.id = g.billing_period_id ORDER BY g.id""")
    # 2026-11-22: the latest completed month is October; the latest completed quarter July–September
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("invoice_comparison", "pending", dt.date(2026, 10, 1)),
        ("invoice_aging", "pending", dt.date(2026, 9, 1)),
        ("timesheet", "pending", dt.date(2026, 10, 1)),
    ]
    assert evaluate_schedules(fresh_engine, now=now) == []  # next_run_at moved past now: no second report


# ---------------------------------------------------------------------------------------------
# contractor invoices


def test_every_comparison_outcome_in_every_org_and_month(seeded):
    engine, _ = seeded
    _assert_every_outcome_everywhere(engine)


def test_pair_sides_agree_and_received_headers_are_complete(seeded):
    engine, _ = seeded
    assert _scalar(engine, """
        SELECT count(*) FROM expected_invoice_header e JOIN received_invoice_header r
          ON r.contract_id = e.contract_id AND r.billing_period_id = e.billing_period_id
        WHERE (r.project_id, r.counterparty_id, r.currency_id) IS DISTINCT FROM
              (e.project_id, e.counterparty_id, e.currency_id)""") == 0
    # contractors are not the clients
    assert _scalar(engine, """SELECT count(*) FROM received_invoice_header r
        WHERE r.counterparty_id IN (SELECT counterparty_id FROM invoice_header)""") == 0
    assert _scalar(engine, """
        SELECT count(*) FROM received_invoice_header r JOIN billing_period b ON b.id = r.billing_period_id
        WHERE r.invoice_number IS NULL OR r.invoice_date IS NULL OR r.due_date IS NULL
           OR (r.created_at AT TIME ZONE 'UTC')::date <= b.end_date OR (r.created_at AT TIME ZONE 'UTC')::date > :today
           OR (r.created_at AT TIME ZONE 'UTC')::date > b.end_date + 31""", today=TODAY) == 0


def test_orphan_received_invoice_only_in_the_latest_month(seeded):
    engine, _ = seeded
    rows = _rows(engine, """
        SELECT b.start_date, r.counterparty_id, r.total_amount,
               (SELECT count(*) FROM received_invoice_line_item l WHERE l.received_invoice_header_id = r.id)
        FROM received_invoice_header r JOIN billing_period b ON b.id = r.billing_period_id
        WHERE r.project_id IS NULL AND r.contract_id IS NULL""")
    assert len(rows) == 1
    start, counterparty, total, n_lines = rows[0]
    assert start == dt.date(2026, 10, 1) and n_lines > 0 and total > 0
    # a contractor of organization 1
    assert _scalar(engine, """SELECT count(*) FROM received_invoice_header r JOIN project p ON p.id = r.project_id
        WHERE p.organization_id = 1 AND r.counterparty_id = :cp""", cp=counterparty) > 0


def test_stored_comparisons_cover_a_third_and_sometimes_disagree(seeded):
    engine, _ = seeded
    headers, _ = _contractor_invoices(engine)
    pair_of = {}
    for key, sides in _pairs(headers).items():
        for side in ("E", "R"):
            for hid, _ in sides[side]:
                pair_of[(side, hid)] = (key, sides)
    stored = _rows(engine, """SELECT expected_invoice_header_id, received_invoice_header_id, variance_amount,
        status::text, final_amount, adjustment_amount FROM invoice_comparison""")
    disagree: dict[tuple[int, int], int] = defaultdict(int)
    for e_id, r_id, variance, status, final, adjustment in stored:
        (period, org, *_), sides = pair_of[("E", e_id)]
        assert pair_of[("R", r_id)][0][:2] == (period, org)
        diff = sum(t for _, t in sides["R"]) - sum(t for _, t in sides["E"])
        truth = "matched" if abs(diff) <= CENT else "overbilled" if diff > 0 else "underbilled"
        if status != "unchecked" and status != truth:
            disagree[(period, org)] += 1
        assert variance == diff
        if final is not None:
            received = sum(t for _, t in sides["R"])
            assert adjustment == final - received
    n_pairs = sum(1 for sides in _pairs(headers).values() if sides["E"] and sides["R"])
    assert 0.2 <= len(stored) / n_pairs <= 0.5
    assert len(disagree) == 3 * 24  # every org-month has a stored status that disagrees with the truth
    assert {s for *_, s, _, _ in stored} >= {"unchecked", "matched", "underbilled"}
    assert _scalar(engine, "SELECT count(*) FROM invoice_comparison WHERE final_amount IS NULL") > 0
    assert _scalar(engine, "SELECT count(*) FROM invoice_comparison_line_item") > 0


# ---------------------------------------------------------------------------------------------
# strings, time entries, payments


def test_hostile_strings_present(seeded):
    engine, _ = seeded
    texts = [t for (t,) in _rows(engine, """
        SELECT name FROM organization UNION ALL SELECT address FROM organization
        UNION ALL SELECT name FROM project UNION ALL SELECT name FROM counterparty
        UNION ALL SELECT name FROM contract UNION ALL SELECT name FROM task
        UNION ALL SELECT name FROM member UNION ALL SELECT description FROM time_entry
        UNION ALL SELECT description FROM invoice_line_item
        UNION ALL SELECT description FROM expected_invoice_line_item
        UNION ALL SELECT description FROM received_invoice_line_item""") if t is not None]
    orgs = [n for (n,) in _rows(engine, "SELECT name FROM organization")]
    assert any("," in n and '"' in n for n in orgs)
    assert '=HYPERLINK("http://x","y")' in {n for (n,) in _rows(engine, "SELECT name FROM counterparty")}
    assert '+Solar, "North" Park' in {n for (n,) in _rows(engine, "SELECT name FROM project")}
    for prefix in ("=", "+", "-", "@"):
        assert any(t.startswith(prefix) for t in texts), prefix
    for needle in ("\n", '"', ",", "<script>alert(1)</script>", "Müller", "São Paulo", "Zürich", "東京",
                   "-2+3 adjustment", "@SUM(A1)"):
        assert any(needle in t for t in texts), needle
    # the latest month of every organization has hostile text in its time entries and contractor lines
    for org in (1, 2, 3):
        descs = [d for (d,) in _rows(engine, """
            SELECT te.description FROM time_entry te JOIN member m ON m.id = te.member_id
            WHERE m.organization_id = :org AND te.date >= '2026-10-01' AND te.description IS NOT NULL""", org=org)]
        assert any(d[0] in "=+-@" or any(ch in d for ch in '"\n<,') or not d.isascii() for d in descs)
        lines = [d for (d,) in _rows(engine, """
            SELECT l.description FROM received_invoice_line_item l
            JOIN received_invoice_header r ON r.id = l.received_invoice_header_id
            JOIN project p ON p.id = r.project_id
            WHERE p.organization_id = :org AND r.billing_period_id = 24""", org=org)]
        assert any(d[0] in "=+-@" or any(ch in d for ch in '"\n<') for d in lines)
    # most data looks normal
    hostile = [t for t in texts if t[:1] in "=+-@" or "<" in t or "\n" in t or '"' in t]
    assert len(hostile) < 0.08 * len(texts)


def test_time_entries(seeded):
    engine, _ = seeded
    assert _scalar(engine, """SELECT count(*) FROM time_entry
        WHERE (billing_rate_snapshot IS NULL) <> (billing_rate_currency IS NULL)
           OR (cost_rate_snapshot IS NULL) <> (cost_rate_currency IS NULL)""") == 0
    assert _scalar(engine, """SELECT count(*) FROM time_entry
        WHERE duration_minutes < 30 OR duration_minutes > 480 OR duration_minutes % 15 <> 0
           OR extract(isodow FROM date) > 5
           OR NOT EXISTS (SELECT 1 FROM billing_period b WHERE time_entry.date BETWEEN b.start_date AND b.end_date)
        """) == 0
    assert _scalar(engine, "SELECT count(*) FROM time_entry WHERE NOT billable AND cost_rate_snapshot IS NOT NULL") > 0
    assert _scalar(engine, "SELECT count(*) FROM time_entry WHERE billing_rate_snapshot IS NULL AND cost_rate_snapshot IS NULL") > 0
    billable_share = _scalar(engine, "SELECT avg(billable::int) FROM time_entry")
    assert 0.75 < billable_share < 0.95
    # 15–20 entries per member and month
    assert _rows(engine, """SELECT min(n), max(n) FROM (SELECT member_id, date_trunc('month', date), count(*) AS n
        FROM time_entry GROUP BY 1, 2) x""") == [(15, 20)]
    two_currency = _rows(engine, """
        SELECT p.organization_id, t.project_id FROM time_entry te JOIN task t ON t.id = te.task_id
        JOIN project p ON p.id = t.project_id WHERE te.billing_rate_currency IS NOT NULL
        GROUP BY 1, 2 HAVING count(DISTINCT te.billing_rate_currency) = 2""")
    assert two_currency and {org for org, _ in two_currency} == {3}
    assert _scalar(engine, "SELECT count(*) FROM member WHERE name IS NULL") >= 1
    assert _scalar(engine, "SELECT count(*) FROM member WHERE email IS NULL OR email NOT LIKE '%@%'") == 0
    assert _rows(engine, "SELECT min(n), max(n) FROM (SELECT project_id, count(*) n FROM task GROUP BY 1) x") == [(3, 4)]


def test_payments(seeded):
    engine, _ = seeded
    assert _scalar(engine, "SELECT count(*) FROM invoice_payment WHERE paid_date > :today", today=TODAY) == 0
    assert _scalar(engine, """SELECT count(*) FROM invoice_payment p JOIN invoice_header h ON h.id = p.invoice_header_id
        WHERE p.paid_date < h.invoice_date""") == 0
    per_invoice = _rows(engine, """
        SELECT h.status::text, h.total_amount, h.due_date, count(p.id), coalesce(sum(p.amount), 0), max(p.paid_date)
        FROM invoice_header h LEFT JOIN invoice_payment p ON p.invoice_header_id = h.id GROUP BY h.id""")
    paid = [r for r in per_invoice if r[0] == "paid"]
    assert any(n == 0 for _, _, _, n, _, _ in paid)  # paid in the platform, no payment recorded
    assert any(n == 2 and amount == total for _, total, _, n, amount, _ in paid)  # two instalments
    assert any(n >= 1 and due is not None and last > due for _, _, due, n, _, last in paid)  # late
    assert all(amount == total for _, total, _, n, amount, _ in paid if n)
    sent = [r for r in per_invoice if r[0] == "sent"]
    assert any(n == 0 for *_, n, _, _ in sent)  # unpaid
    assert any(n == 1 and 0 < amount < total for _, total, _, n, amount, _ in sent)  # partly paid
    assert all(amount <= total for _, total, _, _, amount, _ in per_invoice)
    assert all(n == 0 for status, *_, n, _, _ in per_invoice if status in ("draft", "verified"))


# ---------------------------------------------------------------------------------------------
# determinism, refusal, replace, scale


def test_same_options_give_identical_tables(seeded, fresh_engine):
    engine, counts = seeded
    assert seed(fresh_engine, OPTIONS) == counts
    assert _dump(fresh_engine) == _dump(engine)
    # sequences continue after the explicit ids
    with fresh_engine.begin() as conn:
        new_id = conn.execute(sa.text("INSERT INTO organization (name) VALUES ('Later Org') RETURNING id")).scalar_one()
    assert new_id == 4


def test_refuses_existing_data_and_replace_keeps_report_ids(seeded, fresh_engine):
    engine, _ = seeded
    seed(fresh_engine, SeedOptions(today=TODAY, seed=7))
    with pytest.raises(DemoDataExists, match="already has data; pass --replace"):
        seed(fresh_engine, OPTIONS)
    assert issubclass(DemoDataExists, ValueError)
    with fresh_engine.begin() as conn:
        old_report = conn.execute(sa.text("""INSERT INTO generated_report (organization_id, generation_source,
            report_type, name, file_format) VALUES (1, 'on_demand', 'timesheet', 'x', 'csv') RETURNING id""")).scalar_one()
        old_audit = conn.execute(sa.text("""INSERT INTO audit_event (organization_id, event_type, entity_type)
            VALUES (1, 'REPORT_GENERATED', 'REPORT') RETURNING id""")).scalar_one()
        conn.execute(sa.text("""INSERT INTO report_delivery (generated_report_id, channel, recipient)
            VALUES (:r, 'email', 'a@example.com')"""), {"r": old_report})
    seed(fresh_engine, SeedOptions(today=TODAY, replace=True))
    # the same data as a seed into an empty database, ids included
    assert _dump(fresh_engine) == _dump(engine)
    for table in ("generated_report", "report_delivery", "audit_event"):
        assert _scalar(fresh_engine, f"SELECT count(*) FROM {table}") == 0
    with fresh_engine.begin() as conn:
        new_report = conn.execute(sa.text("""INSERT INTO generated_report (organization_id, generation_source,
            report_type, name, file_format) VALUES (1, 'on_demand', 'timesheet', 'y', 'csv') RETURNING id""")).scalar_one()
        new_audit = conn.execute(sa.text("""INSERT INTO audit_event (organization_id, event_type, entity_type)
            VALUES (1, 'REPORT_GENERATED', 'REPORT') RETURNING id""")).scalar_one()
    assert new_report > old_report and new_audit > old_audit


COLUMN_INDEX_BRAND_COLOR = demo_seed.COLUMNS["report_template"].index("brand_color")


def test_a_failing_seed_leaves_nothing_behind(fresh_engine, monkeypatch):
    real = demo_seed.build_rows

    def broken(options):
        rows = real(options)
        template = list(rows["report_template"][0])
        template[COLUMN_INDEX_BRAND_COLOR] = "green"  # violates the CHECK, after every other table
        rows["report_template"] = [tuple(template)]
        return rows

    monkeypatch.setattr(demo_seed, "build_rows", broken)
    with pytest.raises(psycopg.errors.CheckViolation):
        seed(fresh_engine, OPTIONS)
    for table in ("organization", "time_entry", "invoice_header"):
        assert _scalar(fresh_engine, f"SELECT count(*) FROM {table}") == 0


def test_scale_multiplies_rows_and_keeps_the_shape(fresh_engine):
    counts = seed(fresh_engine, SeedOptions(orgs=4, months=3, scale=2, seed=3, today=dt.date(2026, 3, 1)))
    assert counts["organization"] == 4 and counts["billing_period"] == 3
    assert _rows(fresh_engine, "SELECT organization_id, count(*) FROM project GROUP BY 1 ORDER BY 1") == [
        (o, 6) for o in (1, 2, 3, 4)]
    assert _rows(fresh_engine, "SELECT organization_id, count(*) FROM member GROUP BY 1 ORDER BY 1") == [
        (o, 10) for o in (1, 2, 3, 4)]
    assert _rows(fresh_engine, "SELECT max(end_date) FROM billing_period") == [(dt.date(2026, 2, 28),)]
    assert _rows(fresh_engine, """SELECT DISTINCT cur.code FROM invoice_header h JOIN project p ON p.id = h.project_id
        JOIN currency cur ON cur.id = h.currency_id WHERE p.organization_id = 4""") == [("USD",)]
    _assert_every_outcome_everywhere(fresh_engine)


def test_options_are_checked():
    with pytest.raises(ValueError, match="at least 3 organizations"):
        seed(None, SeedOptions(orgs=2))  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        seed(None, SeedOptions(months=0))  # type: ignore[arg-type]
    assert SeedOptions().replace is False and SeedOptions().today is None
