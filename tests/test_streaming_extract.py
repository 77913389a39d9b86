"""Extracts read into one frame at the end (issue 11 item 5), on a real PostgreSQL.

The reference is pandas reading the whole result in one go (`pd.read_sql_query` without chunks):
`db.read_frame` must give the same columns, dtypes and values whatever its chunk size, NUMERIC as
exact Decimal objects, dates as dates, timestamps with a zone in UTC, and keep the columns of an
empty result.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.platform_schema import extract_sql
from reporting_dagster.lib.operations.demo_seed import SeedOptions, seed

D = Decimal
TODAY = dt.date(2026, 12, 1)

# five rows in a fixed order; NULLs in every kind of column, one column NULL throughout
TYPED = """
SELECT * FROM (VALUES
    (1, 10::bigint,   CAST('1.10' AS numeric(12,2)),   'alpha', true,  DATE '2026-10-01',
        TIMESTAMPTZ '2026-10-01 12:00:00+02', NULL::int, NULL::text, ARRAY[1, 2]),
    (2, NULL::bigint, CAST('-160.00' AS numeric(12,2)), NULL,    NULL,  DATE '2026-10-02',
        NULL::timestamptz,                    NULL::int, NULL::text, NULL::int[]),
    (3, 30::bigint,   NULL::numeric(12,2),              'gamma', false, NULL::date,
        TIMESTAMPTZ '2026-10-03 00:30:00+00', NULL::int, NULL::text, ARRAY[3]),
    (4, 40::bigint,   CAST('0.005' AS numeric(12,3)),  '=1+1',  true,  DATE '2026-10-04',
        TIMESTAMPTZ '2026-10-04 23:59:59.123456+00', NULL::int, NULL::text, ARRAY[]::int[]),
    (5, 50::bigint,   CAST('1234567.89' AS numeric(12,2)), 'Zürich', true, DATE '2026-10-05',
        TIMESTAMPTZ '2026-10-05 08:00:00-05', NULL::int, NULL::text, ARRAY[5])
) AS t(n, maybe_int, amount, label, flag, day, at, always_null, null_text, ids)
WHERE n >= :low
ORDER BY n
"""


def _whole(engine, sql, params):
    """The reference: the result read in one go by pandas (what read_frame did for one chunk)."""
    with engine.connect() as conn:
        return pd.read_sql_query(sa.text(sql), conn, params=params, coerce_float=False)


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 20_000])
def test_typed_columns_are_read_as_one_result_whatever_the_chunk_size(fresh_url, chunk_rows):
    # a session time zone that is not UTC: timestamps must still arrive in UTC
    engine = db.create_engine(fresh_url.update_query_dict({"options": "-c TimeZone=Asia/Tokyo"}))
    frame = db.read_frame(engine, TYPED, {"low": 1}, chunk_rows=chunk_rows)
    pd.testing.assert_frame_equal(frame, _whole(engine, TYPED, {"low": 1}), check_exact=True)
    engine.dispose()
    assert list(frame.columns) == ["n", "maybe_int", "amount", "label", "flag", "day", "at", "always_null",
                                   "null_text", "ids"]
    assert frame["n"].dtype == np.int64 and frame["n"].tolist() == [1, 2, 3, 4, 5]
    assert frame["maybe_int"].dtype == np.float64  # a NULL among integers: float64 with NaN, as pandas reads it
    assert frame["maybe_int"].isna().tolist() == [False, True, False, False, False]
    assert frame["amount"].dtype == object
    amounts = frame["amount"].tolist()
    assert amounts[0] == D("1.10") and str(amounts[0]) == "1.10" and isinstance(amounts[0], Decimal)
    assert str(amounts[1]) == "-160.00" and amounts[2] is None and str(amounts[3]) == "0.005"
    assert frame["flag"].dtype == object and frame["flag"].tolist() == [True, None, False, True, True]
    assert frame["day"].tolist()[:3] == [dt.date(2026, 10, 1), dt.date(2026, 10, 2), None]
    assert str(frame["at"].dtype) == "datetime64[us, UTC]"
    at = frame["at"].tolist()
    assert at[0] == pd.Timestamp("2026-10-01 10:00:00", tz="UTC")  # 12:00 at +02
    assert pd.isna(at[1])
    assert at[3] == pd.Timestamp("2026-10-04 23:59:59.123456", tz="UTC")
    assert at[4] == pd.Timestamp("2026-10-05 13:00:00", tz="UTC")  # 08:00 at -05
    assert frame["always_null"].dtype == object and frame["always_null"].tolist() == [None] * 5
    assert frame["label"].tolist()[3] == "=1+1" and frame["label"].isna().tolist()[1]
    assert frame["ids"].tolist()[0] == [1, 2] and frame["ids"].tolist()[1] is None


# NULLs that arrive only in a later chunk (a column typed int64/bool by its first chunks must
# still end float64/object), text NULL in the first chunk only, and the types the builder reads
# from the oid (name, bpchar, varchar, numeric, date) beside ones left to pandas' inference
LATE_NULLS = """
SELECT * FROM (VALUES
    (1, 7::int,     true,  NULL::text, 'abc'::bpchar(5), 'x'::name, 'v'::varchar, NULL::numeric, 1.5::float8,
        '6c7e2c52-3a5b-4cf1-9a53-8a1c0c4d9a10'::uuid, INTERVAL '2 hours', '{"a": 1}'::jsonb, NULL::date),
    (2, 8::int,     false, 'late',     NULL::bpchar(5),  'y'::name, NULL,         2.50::numeric, NULL::float8,
        NULL::uuid, NULL::interval, NULL::jsonb, DATE '2026-11-30'),
    (3, NULL::int,  NULL,  'text',     'de'::bpchar(5),  NULL::name, 'w',          NULL::numeric, 3.0::float8,
        NULL::uuid, INTERVAL '1 day', '[1, 2]'::jsonb, NULL::date)
) AS t(n, late_int, late_bool, first_null_text, fixed, pg_name, short, amount, ratio, ref, span, doc, day)
ORDER BY n
"""


@pytest.mark.parametrize("chunk_rows", [1, 2, 20_000])
def test_nulls_in_a_later_chunk_give_the_types_of_the_whole_result(fresh_engine, chunk_rows):
    frame = db.read_frame(fresh_engine, LATE_NULLS, chunk_rows=chunk_rows)
    pd.testing.assert_frame_equal(frame, _whole(fresh_engine, LATE_NULLS, {}), check_exact=True)
    assert frame["late_int"].dtype == np.float64 and frame["late_int"].tolist()[:2] == [7.0, 8.0]
    assert frame["late_bool"].dtype == object and frame["late_bool"].tolist() == [True, False, None]
    assert frame["first_null_text"].tolist()[1:] == ["late", "text"] and frame["first_null_text"].isna().tolist()[0]
    assert frame["fixed"].tolist()[0] == "abc  "  # bpchar keeps its padding, as PostgreSQL sends it
    assert frame["amount"].tolist() == [None, D("2.50"), None]
    assert frame["day"].tolist() == [None, dt.date(2026, 11, 30), None]
    assert frame["ratio"].dtype == np.float64  # left to inference: floats stay floats


def test_the_read_ahead_hands_on_every_item_in_order_and_raises_the_readers_error():
    def numbers():
        yield from range(50)
        raise LookupError("the fetch failed")

    got = []
    with pytest.raises(LookupError, match="the fetch failed"):
        with db._read_ahead(numbers(), depth=2) as ahead:  # noqa: SLF001 - the mechanism itself
            for item in ahead:
                got.append(item)
    assert got == list(range(50))


def test_leaving_the_read_ahead_early_stops_its_reader():
    import threading

    pulled = []

    def numbers():
        for n in range(10_000):
            pulled.append(n)
            yield n

    with db._read_ahead(numbers(), depth=2) as ahead:  # noqa: SLF001
        assert next(ahead) == 0
    # the reader is joined on leaving: it stopped at most a queue's depth (and one in hand) ahead
    assert not [t for t in threading.enumerate() if t.name == "extract-read-ahead"]
    assert len(pulled) <= 1 + 2 + 1


def test_integers_and_booleans_without_nulls_are_numpy_columns(fresh_engine):
    frame = db.read_frame(fresh_engine, "SELECT n, n % 2 = 0 AS even, n::smallint AS small FROM generate_series(1, 7) n",
                          chunk_rows=3)
    assert frame["n"].dtype == np.int64 and frame["n"].sum() == 28
    assert frame["even"].dtype == np.bool_ and frame["even"].sum() == 3
    assert frame["small"].dtype == np.int64


def test_an_empty_result_keeps_its_columns(fresh_engine):
    frame = db.read_frame(fresh_engine, TYPED, {"low": 99}, chunk_rows=2)
    assert frame.shape == (0, 10) and list(frame.columns)[:3] == ["n", "maybe_int", "amount"]
    assert set(frame.dtypes.astype(str)) == {"object"}
    chunks = list(db.read_frames(fresh_engine, TYPED, {"low": 99}, chunk_rows=2))
    assert len(chunks) == 1 and chunks[0].shape == (0, 10)


def test_read_frames_streams_chunks_of_the_asked_size(fresh_engine):
    chunks = list(db.read_frames(fresh_engine, TYPED, {"low": 1}, chunk_rows=2))
    assert [len(c) for c in chunks] == [2, 2, 1]
    assert [c["n"].tolist() for c in chunks] == [[1, 2], [3, 4], [5]]
    assert chunks[0]["amount"].tolist() == [D("1.10"), D("-160.00")]


def test_a_statement_error_is_raised_as_before(fresh_engine):
    with pytest.raises(Exception, match="Execution failed on sql") as failure:
        db.read_frame(fresh_engine, "SELECT 1 / 0 AS boom")
    assert isinstance(failure.value.__cause__, sa.exc.DataError)
    assert "division by zero" in str(failure.value)


@pytest.fixture(scope="module")
def demo_engine(server_url, template_database):
    """A small seeded demo (3 orgs, 2 months, scale 3), shared by the extract comparisons below."""
    name = "rd_test_streaming_extract"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template_database}"')
    engine = db.create_engine(server_url.set(database=name))
    seed(engine, SeedOptions(orgs=3, months=2, scale=3, today=TODAY))
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


EXTRACTS = [
    ("time_entries", {"date_from": dt.date(2026, 10, 1), "date_to": dt.date(2026, 11, 30)}),
    ("client_invoice_lines", {"billing_period_id": 2}),
    ("expected_invoice_lines", {"billing_period_id": 2}),
    ("received_invoice_lines", {"billing_period_id": 2}),
    ("stored_invoice_comparisons", {"billing_period_id": 2}),
    ("receivable_invoices", {"as_of_date": dt.date(2026, 11, 30)}),
    ("organizations", {"period_end": dt.date(2026, 11, 30)}),
    ("project_customers", {"date_from": dt.date(2026, 10, 1), "date_to": dt.date(2026, 11, 30)}),
    ("time_entries", {"date_from": dt.date(2020, 1, 1), "date_to": dt.date(2020, 1, 31)}),  # empty
]


@pytest.mark.parametrize(("name", "params"), EXTRACTS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(EXTRACTS)])
def test_every_extract_equals_the_whole_result_read_by_pandas(demo_engine, name, params):
    sql = extract_sql(demo_engine, name)
    expected = _whole(demo_engine, sql, params)
    frame = db.read_frame(demo_engine, sql, params, chunk_rows=97)
    if expected.empty:  # pandas types an empty result's columns as object too, and keeps them
        assert frame.empty and list(frame.columns) == list(expected.columns)
        assert set(frame.dtypes.astype(str)) == {"object"}
        return
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    for column in expected.columns:  # the very value types: Decimal stays Decimal, date stays date
        assert [type(v) for v in frame[column]] == [type(v) for v in expected[column]], column
    if name == "time_entries":
        assert len(frame) > 97 * 3  # more than a few chunks
        assert isinstance(frame["billing_rate_snapshot"].dropna().iloc[0], Decimal)
        assert isinstance(frame["entry_date"].iloc[0], dt.date)
