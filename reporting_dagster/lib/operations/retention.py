"""Retention (seed 000 §11): reports live 90 days in `reports/`, then 7 years in `archive/`.

The database drives it, not the bucket: a report is archived when its row's `expires_at` has
passed, so the platform's own expiry (which it may extend per report) is what counts.

Row states, kept consistent by this module:
- live: `file_path` set, `archived_at` NULL.
- archived: `archived_at` and `archived_path` set, `file_path` NULL. The platform's download
  hands out `file_path`; clearing it means it says "file not found" instead of giving a link to
  an object that is gone (or, in GLACIER, unreadable until restored). The original key is the
  archive key with `archive/` for `reports/`; size and hash stay on the row as history.
- purged (7 years after archiving): `archived_at` kept, `archived_path` NULL.

A file missing from the store leaves its row untouched and is reported on every run, since a
completed report without its file is something a person has to look at.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from reporting_dagster.lib.infra.paths import read_named_sql
from reporting_dagster.lib.operations.records import short_error
from reporting_dagster.lib.infra.store import Store

_SQL = read_named_sql("retention.sql")
ARCHIVE_YEARS = 7
# the file name is kept as it is: `{type}-{id}-{token}.{ext}` and the older `{type}-{id}.{ext}` alike
_REPORT_KEY = re.compile(r"^reports/(\d+)/(\d{4})/(\d{2})/([^/]+)$")


@dataclass
class ArchiveSummary:
    archived: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)  # completed rows whose file is not in the store
    failed: dict[int, str] = field(default_factory=dict)  # id → short error


@dataclass
class PurgeSummary:
    purged: list[int] = field(default_factory=list)  # rows whose archived object was deleted
    already_gone: list[int] = field(default_factory=list)  # object was no longer there (e.g. bucket rule)
    orphans_deleted: list[str] = field(default_factory=list)  # old archive/ objects no row points at
    failed: dict[int | str, str] = field(default_factory=dict)


def archive_key(organization_id: int, file_path: str, period_start: dt.date, report_id: int) -> str:
    """`reports/{org}/{YYYY}/{MM}/{name}` → `archive/{org}/{YYYY}/{MM}/{name}`, name unchanged
    (with the key token of current keys, or without it in keys written before it existed).

    A path of another shape (older platform rows) goes to `archive/{org}/{YYYY}/{id}-{name}`,
    YYYY from the billing period. A path naming another organization is refused.
    """
    match = _REPORT_KEY.match(file_path)
    if match:
        if int(match.group(1)) != int(organization_id):
            raise ValueError(f"file path belongs to organization {match.group(1)}, not {organization_id}")
        return f"archive/{int(organization_id)}/{match.group(2)}/{match.group(3)}/{match.group(4)}"
    name = file_path.rstrip("/").rsplit("/", 1)[-1]
    if not name or name in (".", ".."):
        raise ValueError("file path has no file name")
    return f"archive/{int(organization_id)}/{period_start:%Y}/{int(report_id)}-{name}"


def archive_expired(engine: Engine, store: Store, *, now: dt.datetime, batch: int = 500) -> ArchiveSummary:
    """Move every completed report past `expires_at` to the archive, one row at a time.

    `batch` is the page size of the query; the whole backlog is worked through in one call.
    Re-running after a crash finishes what was half done (Store.archive is idempotent).
    """
    _require_utc(now)
    summary = ArchiveSummary()
    for row in _pages(engine, "expired_reports", {"now": now}, batch):
        try:
            target = archive_key(row["organization_id"], row["file_path"], row["period_start"], row["id"])
            store.archive(row["file_path"], target)
        except FileNotFoundError:
            summary.missing.append(row["id"])
            continue
        except Exception as exc:  # noqa: BLE001 - one row's failure must not stop the others
            summary.failed[row["id"]] = short_error(exc)
            continue
        with engine.begin() as conn:
            conn.execute(sa.text(_SQL["mark_archived"]),
                         {"id": row["id"], "archived_at": now, "archived_path": target})
        summary.archived.append(row["id"])
    return summary


def _pages(engine: Engine, query: str, params: dict, batch: int) -> Iterator[Any]:
    """The rows of a keyset-paged query (`:after_id`, `:batch`), one page in memory at a time."""
    after_id = 0
    while True:
        with engine.connect() as conn:
            rows = conn.execute(sa.text(_SQL[query]), {**params, "after_id": after_id, "batch": batch}).mappings().all()
        if not rows:
            return
        for row in rows:
            after_id = row["id"]
            yield row


def retention_cutoff(now: dt.datetime, years: int = ARCHIVE_YEARS) -> dt.datetime:
    """`now` minus whole calendar years (29 February becomes 28 February)."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def purge_archive(engine: Engine, store: Store, *, now: dt.datetime, years: int = ARCHIVE_YEARS,
                  batch: int = 500) -> PurgeSummary:
    """Delete archived objects older than `years` (by the row's archived_at), then sweep orphans.

    Orphans are `archive/` objects no row points at (the row was deleted, or a crash came between
    the copy and the row update long ago); their own date decides, as the bucket rule would.
    """
    _require_utc(now)
    cutoff = retention_cutoff(now, years)
    summary = PurgeSummary()
    for row in _pages(engine, "purgeable_archives", {"cutoff": cutoff}, batch):
        try:
            deleted = store.delete(row["archived_path"])
        except Exception as exc:  # noqa: BLE001
            summary.failed[row["id"]] = short_error(exc)
            continue
        with engine.begin() as conn:
            conn.execute(sa.text(_SQL["mark_purged"]), {"id": row["id"], "archived_path": row["archived_path"]})
        (summary.purged if deleted else summary.already_gone).append(row["id"])
    _sweep_orphans(engine, store, cutoff, summary)
    return summary


def _sweep_orphans(engine: Engine, store: Store, cutoff: dt.datetime, summary: PurgeSummary) -> None:
    for key, modified in store.list_keys("archive/"):
        if modified > cutoff:
            continue
        with engine.connect() as conn:
            referenced = conn.execute(sa.text(_SQL["archive_path_referenced"]), {"archived_path": key}).scalar()
        if referenced:
            continue  # the row's archived_at decides (handled above)
        try:
            store.delete(key)
            summary.orphans_deleted.append(key)
        except Exception as exc:  # noqa: BLE001
            summary.failed[key] = short_error(exc)


def lifecycle_days(years: int = ARCHIVE_YEARS) -> int:
    """The most days `years` calendar years can span (365 each plus every possible 29 February).

    The bucket rule must never fire before the database job would purge: the job then finds the
    object itself and the row never points at an object the bucket already removed.
    """
    return 365 * years + (years + 3) // 4


INTERMEDIATES_FOLDER = "dagster-io"  # the IO manager's pickles (defs/resources.py)
INTERMEDIATE_DAYS = 35  # a month's extracts outlive its pack and a re-run of it in the next weeks


def s3_lifecycle_rules(prefix: str = "", *, years: int = ARCHIVE_YEARS) -> dict[str, Any]:
    """The bucket lifecycle configuration matching this policy, for the store's key prefix.

    - `archive/` objects expire after `lifecycle_days(years)`: a backstop for the daily job
      (and the only purge if the job stops running).
    - `dagster-io/` (the intermediates between steps) expire after INTERMEDIATE_DAYS: they hold
      every organization's extracts, which must not outlive the report policy; re-making an
      older month recomputes them.
    - unfinished multipart uploads under the prefix are aborted after 7 days.
    - `reports/` has no rule on purpose: the job moves reports when the row's expires_at says
      so. A bucket-side transition would put them in GLACIER where CopyObject can no longer read
      them, and an expiration would delete them if the job ran late; either breaks the archive.
    """
    base = prefix.strip("/")
    root = f"{base}/" if base else ""
    tag = base or "(bucket root)"
    return {"Rules": [
        {
            "ID": f"reporting-dagster archive expiry {tag}"[:255],
            "Status": "Enabled",
            "Filter": {"Prefix": f"{root}archive/"},
            "Expiration": {"Days": lifecycle_days(years)},
        },
        {
            "ID": f"reporting-dagster intermediates expiry {tag}"[:255],
            "Status": "Enabled",
            "Filter": {"Prefix": f"{root}{INTERMEDIATES_FOLDER}/"},
            "Expiration": {"Days": INTERMEDIATE_DAYS},
        },
        {
            "ID": f"reporting-dagster abort multipart {tag}"[:255],
            "Status": "Enabled",
            "Filter": {"Prefix": root},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        },
    ]}


def install_lifecycle_rules(client: Any, bucket: str, prefix: str = "", *, years: int = ARCHIVE_YEARS) -> list[str]:
    """Put this project's rules on the bucket, keeping every rule that is not ours.

    `put_bucket_lifecycle_configuration` replaces the whole configuration, so the existing one is
    read first; our rules are recognised by ID and replaced. Returns the IDs of the rules kept.
    """
    from botocore.exceptions import ClientError

    ours = s3_lifecycle_rules(prefix, years=years)["Rules"]
    try:
        existing = client.get_bucket_lifecycle_configuration(Bucket=bucket).get("Rules", [])
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        existing = []
    our_ids = {rule["ID"] for rule in ours}
    kept = [rule for rule in existing if rule.get("ID") not in our_ids]
    client.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": kept + ours})
    return [rule.get("ID", "") for rule in kept]


def _require_utc(now: dt.datetime) -> None:
    if now.tzinfo is None or now.utcoffset() != dt.timedelta(0):
        raise ValueError("now must be a timezone-aware UTC datetime")
