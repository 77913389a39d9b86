"""Where the project's files live: SQL, templates and the local `.reporting/` state folder."""

from __future__ import annotations

import os
import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[3]
SQL_DIR = PROJECT_ROOT / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
EXTRACTS_DIR = SQL_DIR / "extracts"
FRAGMENTS_DIR = SQL_DIR / "fragments"  # shared pieces the extracts `{% include %}`
TEMPLATES_DIR = PROJECT_ROOT / "templates"


def state_dir() -> Path:
    """The local state folder (embedded database, local store, demo instance)."""
    return Path(os.environ.get("REPORTING_STATE_DIR", PROJECT_ROOT / ".reporting")).resolve()


def read_sql(name: str) -> str:
    """The text of `sql/extracts/<name>.sql`."""
    return (EXTRACTS_DIR / f"{name}.sql").read_text(encoding="utf-8")


def read_named_sql(filename: str) -> dict[str, str]:
    """Statements of `sql/<filename>`, each introduced by a `-- name: <name>` line."""
    statements: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in (SQL_DIR / filename).read_text(encoding="utf-8").splitlines():
        if line.startswith("-- name:"):
            current = statements.setdefault(line.split(":", 1)[1].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines).strip() for name, lines in statements.items()}


_TABLE_REF = re.compile(r"\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)
_INCLUDE = re.compile(r"""\{%\s*include\s+["']([A-Za-z0-9_.-]+)["']\s*%\}""")
_CTE_NAME = re.compile(r"(?:\bWITH|,)\s*([A-Za-z_][A-Za-z0-9_]*)\s+AS\s*\(", re.IGNORECASE)


def tables_read(name: str) -> list[str]:
    """The tables `sql/extracts/<name>.sql` reads (after FROM / JOIN, comments and the query's
    own WITH names left out, included fragments read too), sorted."""
    sql = _INCLUDE.sub(lambda m: (FRAGMENTS_DIR / m.group(1)).read_text(encoding="utf-8"), read_sql(name))
    text = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    own = {m.group(1).lower() for m in _CTE_NAME.finditer(text)}
    return sorted({m.group(1).lower() for m in _TABLE_REF.finditer(text)} - own)
