"""A database shaped like the production platform (SOURCE_SCHEMA.md Part A+), before this project
ever ran on it: `tests/sql/production_platform.sql`, plus the platform's triggers when
tests/platform_triggers.py provides them."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra.migrate import run_script

SQL = Path(__file__).parent / "sql" / "production_platform.sql"


def build_production_platform(engine: Engine, *, triggers: bool = True) -> None:
    with engine.begin() as conn:
        run_script(conn, SQL.read_text(encoding="utf-8"))
    if triggers:
        try:
            from tests import platform_triggers
        except ImportError:  # pragma: no cover - the triggers module arrives with the side-by-side work
            return
        platform_triggers.install_scheduled_report_trigger(engine)
        platform_triggers.install_generated_report_trigger(engine)
