"""The environment this project reads (DESIGN.md "Configuration"), in one place."""

from __future__ import annotations

import os

from sqlalchemy.engine import URL

from reporting_dagster.lib import db


def database_url() -> URL:
    """`REPORTING_DATABASE_URL` when set, else the embedded server (started on demand)."""
    configured = os.environ.get("REPORTING_DATABASE_URL", "").strip()
    if configured:
        return db.normalize_url(configured)
    return db.embedded_url()
