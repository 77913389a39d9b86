"""Delivery sends only the file the report's own lifecycle wrote, and only if it is unchanged.

A completed row names its file by `file_path`; an update of that column (or of the object in
the store) must not make delivery send another organization's file or altered bytes. So before
anything is sent:

- `file_path` must be a key this row writes (lib/infra/store.py `report_key`, used by the
  request path and the monthly pack alike): `reports/<its organization>/<YYYY>/<MM>/
  <its report_type>-<its id>-<its token>.<its format's extension>`, the token recomputed from
  this database's installation token, the row's id and created_at, and `-a<n>` before the
  extension for a later attempt on the row (set back to pending after it completed, or remade
  when its object was gone). Keys written before tokens existed (`<report_type>-<id>.<ext>`) are
  accepted: organization and id must still be the row's.
- the bytes read must have the row's `file_hash` (sha256) and `file_size_bytes`.

Otherwise every delivery of the report fails with "the stored file does not match the report's
record; regenerate the report" (not retried); a missing object fails as missing.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy.engine import Engine

from reporting_dagster.lib import render
from reporting_dagster.lib.delivery.attempts import DeliveryError
from reporting_dagster.lib.infra.installation import installation_token
from reporting_dagster.lib.infra.store import Store, key_token

MISMATCH = "the stored file does not match the report's record ({why}); regenerate the report"


def key_problem(engine: Engine, report: dict[str, Any]) -> str | None:
    """Why the row's file_path is not a key of this row, or None."""
    key = str(report["file_path"] or "")
    ext = render.EXTENSIONS.get(str(report["file_format"]))
    if ext is None:
        return f"unknown file format {report['file_format']!r}"
    report_id, org = int(report["id"]), int(report["organization_id"])
    token = installation_token(engine)
    tokens = {key_token(token, report_id)}
    if report.get("created_at") is not None:
        tokens.add(key_token(token, report_id, report["created_at"]))
    stem = rf"reports/{org}/\d{{4}}/\d{{2}}/{re.escape(str(report['report_type']))}-{report_id}"
    names = "|".join(re.escape(t) for t in sorted(tokens))
    # -a<n>: the object of a later attempt on the row; -c<µs>: the claim that wrote it
    # (lib/requests/run.py _store_key)
    if re.fullmatch(rf"{stem}(?:-(?:{names})(?:-a[1-9][0-9]{{0,8}})?(?:-c[0-9]{{1,20}})?)?\.{re.escape(ext)}", key):
        return None
    return "its file_path is not a key this report writes"


class ReportFile:
    """The report's bytes, read and checked once per delivery call (every recipient after the
    first gets the same answer, bytes or error, without reading again)."""

    def __init__(self, engine: Engine, store: Store, report: dict[str, Any]) -> None:
        self.engine, self.store, self.report = engine, store, report
        self._data: bytes | None = None
        self._error: BaseException | None = None

    def data(self) -> bytes:
        if self._error is not None:
            raise self._error
        if self._data is None:
            try:
                self._data = self._read()
            except BaseException as exc:
                self._error = exc
                raise
        return self._data

    def _read(self) -> bytes:
        report, key = self.report, str(self.report["file_path"])
        problem = key_problem(self.engine, report)
        if problem:
            raise DeliveryError(MISMATCH.format(why=problem))
        try:
            data = self.store.get(key)
        except Exception:
            if not _exists(self.store, key):
                raise DeliveryError(f"the report file {key} is missing from the store; regenerate the report") from None
            raise  # the store is there but failed: a passing fault, retried
        if not report.get("file_hash") or hashlib.sha256(data).hexdigest() != str(report["file_hash"]).lower():
            raise DeliveryError(MISMATCH.format(why="its sha256 is not the recorded file_hash"))
        if report.get("file_size_bytes") is not None and len(data) != int(report["file_size_bytes"]):
            raise DeliveryError(MISMATCH.format(why="its size is not the recorded file_size_bytes"))
        return data


def _exists(store: Store, key: str) -> bool:
    try:
        return store.exists(key)
    except Exception:  # noqa: BLE001 - cannot tell: treat the read failure as passing
        return True
