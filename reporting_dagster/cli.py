"""`reporting-dagster`: schema migrations, demo data and the local demo."""

from __future__ import annotations

import argparse
import sys

from reporting_dagster.lib.infra import db, installation, migrate, settings


def _engine():
    return db.create_engine(settings.database_url())


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    url = settings.database_url()
    applied = migrate.upgrade(db.create_engine(url))
    target = db.safe_url_text(url)
    if applied:
        for m in applied:
            print(f"applied {m.version:04d}_{m.name}")
    else:
        print("schema is up to date")
    print(f"database: {target}")
    return 0


def cmd_db_status(args: argparse.Namespace) -> int:
    for m in migrate.pending(_engine()):
        print(f"pending {m.version:04d}_{m.name}")
    return 0


def cmd_db_new_token(args: argparse.Namespace) -> int:
    installation.new_token(_engine())
    print("new installation token set: report files written from now on get keys no other database uses")
    return 0


def cmd_db_first_period(args: argparse.Namespace) -> int:
    """The first billing period's month (YYYY-MM): the value for REPORTS_FIRST_BILLING_PERIOD."""
    import sqlalchemy as sa

    with db.create_engine(settings.database_url()).connect() as conn:
        first = conn.execute(sa.text("SELECT min(start_date) FROM billing_period")).scalar()
    if first is None:
        print("the database has no billing_period rows", file=sys.stderr)
        return 2
    print(f"{first:%Y-%m}")
    return 0


def cmd_db_url(args: argparse.Namespace) -> int:
    # libpq form: psql and REPORTING_DATABASE_URL both take it
    print(settings.database_url().set(drivername="postgresql").render_as_string(hide_password=False))
    return 0


def cmd_db_stop(args: argparse.Namespace) -> int:
    print("embedded PostgreSQL stopped" if db.stop_embedded() else "embedded PostgreSQL was not running")
    return 0


def cmd_demo_seed(args: argparse.Namespace) -> int:
    import time

    import sqlalchemy as sa

    from reporting_dagster.lib.operations.demo_seed import SeedOptions, seed

    engine = _engine()
    migrate.upgrade(engine)
    if args.if_empty:
        with engine.connect() as conn:
            if conn.execute(sa.text("SELECT EXISTS (SELECT 1 FROM organization)")).scalar_one():
                print("demo data already present; keeping it (use `demo seed --replace` to start over)")
                return 0
    started = time.perf_counter()
    counts = seed(engine, SeedOptions(orgs=args.orgs, months=args.months, scale=args.scale, seed=args.seed,
                                      replace=args.replace))
    print(f"seeded in {time.perf_counter() - started:.1f}s:")
    for table, n in counts.items():
        print(f"{table:32s} {n:>9,d}")
    return 0


def cmd_demo_run(args: argparse.Namespace) -> int:
    from reporting_dagster.demo import run_demo

    return run_demo(partition=args.partition)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="reporting-dagster", description=__doc__)
    groups = parser.add_subparsers(dest="group", required=True)

    dbp = groups.add_parser("db", help="the platform database").add_subparsers(dest="cmd", required=True)
    dbp.add_parser("upgrade", help="apply pending migrations (idempotent)").set_defaults(func=cmd_db_upgrade)
    dbp.add_parser("status", help="list pending migrations").set_defaults(func=cmd_db_status)
    dbp.add_parser("new-token", help="give this database its own store-key token (after restoring "
                   "another database's dump)").set_defaults(func=cmd_db_new_token)
    dbp.add_parser("url", help="print the database URL in use").set_defaults(func=cmd_db_url)
    dbp.add_parser("first-period", help="print the first billing period (YYYY-MM), the value for "
                   "REPORTS_FIRST_BILLING_PERIOD").set_defaults(func=cmd_db_first_period)
    dbp.add_parser("stop", help="stop the embedded server").set_defaults(func=cmd_db_stop)

    demo = groups.add_parser("demo", help="demo data and the local demo").add_subparsers(dest="cmd", required=True)
    seed = demo.add_parser("seed", help="fill the database with deterministic demo data")
    seed.add_argument("--orgs", type=int, default=3, help="organizations (at least 3)")
    seed.add_argument("--months", type=int, default=24, help="monthly billing periods ending last month")
    seed.add_argument("--scale", type=int, default=1, help="volume multiplier for benchmarks")
    seed.add_argument("--seed", type=int, default=42, help="random seed (same seed, same data)")
    seed.add_argument("--replace", action="store_true", help="wipe the demo tables first")
    seed.add_argument("--if-empty", action="store_true", help="do nothing when the database has data")
    seed.set_defaults(func=cmd_demo_seed)
    run = demo.add_parser("run", help="materialize the monthly pack and print where the files are")
    run.add_argument("--partition", help="YYYY-MM (default: the latest completed month)")
    run.set_defaults(func=cmd_demo_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, LookupError, migrate.MigrationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
