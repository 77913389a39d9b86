"""Rendering is bounded (issue 10 item 7): long cells are cut in PDF/HTML, every file renders in a
worker process under a wall-time and a size budget, and one organization's slow file fails alone.

Real PostgreSQL, the real renderers, real worker processes. Budgets are a few seconds so the tests
stay fast; the hostile input (a 256 KB project name without a space) took more than ten minutes
to lay out before the cut (32 KB alone: 107 s on this machine).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import signal
import time
from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.defs.exports.timesheet_report import timesheet_report
from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.defs.time import extracts, timesheet
from reporting_dagster.lib.documents.catalog import invoice_aging
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.render import html as html_render, workers
from reporting_dagster.lib.render.document import ReportDocument, TableData
from reporting_dagster.lib.requests.run import run_request
from tests.builders import extract_reader
from tests.request_builders import RequestPlatform

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
HUGE = "x" * 262_144  # 256 KB, no space anywhere
NOTE = "… (truncated; the full text is in the CSV/XLSX/JSON)"
XLSX_NOTE = "… (truncated: an XLSX cell holds at most 32,767 characters; the full text is in the CSV/JSON)"
OCTOBER = {"date_from": "2026-10-01", "date_to": "2026-10-31", "group_by": "project"}
NO_CUT = "100000000"  # REPORTS_RENDER_MAX_CELL_CHARS that cuts nothing: the slow layout comes back


def _squeezed(text: str) -> str:
    """Text with every space, line break and zero-width space removed (PDF lines wrap anywhere)."""
    return "".join(text.replace("\u200b", "").split())


def _pdf_text(data: bytes) -> str:
    return _squeezed("".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages))


def _month(engine) -> RequestPlatform:
    p = RequestPlatform(engine)
    p.period(2026, 10)
    return p


def _organization(p: RequestPlatform, org_name: str, project_name: str) -> int:
    """An organization with one project and one 90-minute billable entry on 2026-10-01."""
    org = p.org(org_name)
    project = p.project(org, project_name)
    member = p.member(org, "Bea Rossi", f"bea@{org}.example")
    p.entry(p.task(project), member, dt.date(2026, 10, 1), 90, True, ("100.00", "USD"))
    return org


def _one_project_month(engine, project_name: str, org_name: str = "Helios Energy") -> tuple[RequestPlatform, int]:
    p = _month(engine)
    return p, _organization(p, org_name, project_name)


def _run(p: RequestPlatform, report_id: int, store: LocalStore):
    return run_request(p.engine, store, extract_reader(p.engine), report_id, run_id=f"run-{report_id}", now=NOW)


# ---------------------------------------------------------------------------------------------
# the request path


def test_a_256_kb_unbroken_project_name_renders_within_the_budget_cut_with_a_note(fresh_engine, tmp_path,
                                                                                   monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_TIMEOUT_SECONDS", "5")
    p, org = _one_project_month(fresh_engine, HUGE)
    store = LocalStore(tmp_path)
    started = time.perf_counter()
    pdf = _run(p, p.request(org, "timesheet", "pdf", parameters=OCTOBER), store)
    assert pdf.outcome == "completed", pdf.message
    assert time.perf_counter() - started < 5 + 10  # the budget, plus building the document and storing it
    text = _pdf_text(store.get(pdf.stored.key))
    # the cell shows its first 2,000 characters, then says where the rest is (the PDF splits the cell
    # over pages; a few more x come from the chart's own cut label and from "text" in the note)
    assert _squeezed(NOTE) in text and 2000 < text.count("x") < 2100
    page = store.get(_run(p, p.request(org, "timesheet", "html", parameters=OCTOBER), store).stored.key).decode()
    assert "x" * 2000 + NOTE in page and "x" * 2001 not in page
    # the flat formats keep every character (XLSX up to its own cell limit, and says so)
    csv_out = _run(p, p.request(org, "timesheet", "csv", parameters=OCTOBER), store)
    assert HUGE in store.get(csv_out.stored.key).decode("utf-8")
    json_out = _run(p, p.request(org, "timesheet", "json", parameters=OCTOBER), store)
    assert [r["project_name"] for r in json.loads(store.get(json_out.stored.key))["rows"]] == [HUGE]
    xlsx_out = _run(p, p.request(org, "timesheet", "xlsx", parameters=OCTOBER), store)
    cells = [c.value for ws in load_workbook(io.BytesIO(store.get(xlsx_out.stored.key)))
             for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("xxx")]
    assert cells and all(c == "x" * (32767 - len(XLSX_NOTE)) + XLSX_NOTE and len(c) == 32767 for c in cells)


def test_50000_lines_in_a_cell_render_within_the_budget(fresh_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_TIMEOUT_SECONDS", "5")
    lines = "\n".join(f"line {i} of the project name" for i in range(50_000))  # 1.4 MB
    p, org = _one_project_month(fresh_engine, lines)
    store = LocalStore(tmp_path)
    outcome = _run(p, p.request(org, "timesheet", "pdf", parameters=OCTOBER), store)
    assert outcome.outcome == "completed", outcome.message
    text = _pdf_text(store.get(outcome.stored.key))
    assert _squeezed(NOTE) in text and "line70of" in text and "line72of" not in text
    # lines 0-9 take 10 × 27 characters (with their line breaks), lines 10-70 61 × 28: 1,978; the first
    # 22 characters of line 71 make the 2,000
    page = store.get(_run(p, p.request(org, "timesheet", "html", parameters=OCTOBER), store).stored.key).decode()
    assert "line 70 of the project name\nline 71 of the project" + NOTE in page


def test_an_over_budget_pdf_fails_with_a_message_that_says_what_to_do(fresh_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("REPORTS_RENDER_MAX_CELL_CHARS", NO_CUT)  # the uncut 256 KB run: minutes of layout
    p, org = _one_project_month(fresh_engine, HUGE, "Slow & Co")
    rid = p.request(org, "timesheet", "pdf", parameters=OCTOBER)
    started = time.perf_counter()
    outcome = _run(p, rid, LocalStore(tmp_path))
    assert time.perf_counter() - started < 2 + 10
    assert outcome.outcome == "failed"
    row = p.row("generated_report", rid)
    assert row["report_status"] == "failed" and row["file_path"] is None
    assert row["processing_error"] == (
        "RenderTimedOut: the Timesheet Report PDF for Slow & Co (October 2026) did not finish in 2 s "
        "(REPORTS_RENDER_TIMEOUT_SECONDS) and was stopped; narrow the request (a shorter period, fewer rows) "
        "or ask for CSV or XLSX, which render in a fraction of the time")
    assert p.audit(rid) == ["REPORT_FAILED"]
    assert not list(tmp_path.rglob("*.pdf"))


def test_an_output_over_the_size_budget_fails_cleanly_and_a_small_file_completes(fresh_engine, tmp_path,
                                                                                 monkeypatch):
    monkeypatch.setenv("REPORTS_MAX_FILE_BYTES", "2000")
    p, org = _one_project_month(fresh_engine, "North Farm")
    store = LocalStore(tmp_path)
    rid = p.request(org, "timesheet", "pdf", parameters=OCTOBER)
    outcome = _run(p, rid, store)
    assert outcome.outcome == "failed"
    error = p.row("generated_report", rid)["processing_error"]
    assert error.startswith("RenderTooLarge: the Timesheet Report PDF for Helios Energy (October 2026) came to ")
    assert error.endswith(" bytes, over the 2,000-byte limit (REPORTS_MAX_FILE_BYTES), and was not stored; "
                          "narrow the request (a shorter period, fewer rows) or ask for CSV, the most compact format")
    assert not list(tmp_path.rglob("*.pdf"))
    small = _run(p, p.request(org, "timesheet", "csv", parameters=OCTOBER), store)
    assert small.outcome == "completed" and small.stored.size <= 2000


# ---------------------------------------------------------------------------------------------
# the monthly pack


def _pack(fresh_url, store_dir):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(store_dir))}
    config = {"generated_at": "2026-11-01T06:00:00+00:00", "formats": ["pdf", "csv"]}
    with dg.instance_for_test() as instance:
        return dg.materialize([extracts.time_entries, timesheet.timesheet, timesheet_report], partition_key="2026-10",
                              resources=resources, instance=instance,
                              run_config={"ops": {"timesheet_report": {"config": config}}}, raise_on_error=False)


def _pack_rows(engine) -> dict[tuple[int, str], dict]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT organization_id, file_format::text AS fmt, report_status::text AS status, processing_error, "
            "file_path, processing_started_at, processing_completed_at, processing_time_ms "
            "FROM generated_report ORDER BY id")).mappings().all()
    return {(r["organization_id"], r["fmt"]): dict(r) for r in rows}


def test_one_organizations_over_budget_pdf_fails_alone_and_the_others_files_complete(fresh_engine, fresh_url,
                                                                                    tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_TIMEOUT_SECONDS", "3")
    monkeypatch.setenv("REPORTS_RENDER_MAX_CELL_CHARS", NO_CUT)
    p = _month(fresh_engine)
    slow = _organization(p, "Slow Org", HUGE)  # first: the others wait behind it
    fine = _organization(p, "Fine Org", "East Wind")
    started = time.perf_counter()
    result = _pack(fresh_url, tmp_path)
    elapsed = time.perf_counter() - started
    by_file = _pack_rows(fresh_engine)
    assert set(by_file) == {(slow, "pdf"), (slow, "csv"), (fine, "pdf"), (fine, "csv")}
    assert by_file[(slow, "pdf")]["status"] == "failed" and by_file[(slow, "pdf")]["file_path"] is None
    assert by_file[(slow, "pdf")]["processing_error"].startswith(
        "RenderTimedOut: the Timesheet Report PDF for Slow Org (October 2026) did not finish in 3 s")
    for key in ((slow, "csv"), (fine, "pdf"), (fine, "csv")):
        assert by_file[key]["status"] == "completed", by_file[key]
    fine_pdf = (tmp_path / by_file[(fine, "pdf")]["file_path"]).read_bytes()
    assert "EastWind" in _pdf_text(fine_pdf)
    assert HUGE in (tmp_path / by_file[(slow, "csv")]["file_path"]).read_text("utf-8")
    # the run reports the one failed file; Slow Org delayed Fine Org by about the 3 s budget, not minutes
    assert not result.success
    assert 3000 <= by_file[(slow, "pdf")]["processing_time_ms"] < 3000 + 5000
    assert elapsed < 3 + 40


def test_with_two_workers_an_organization_is_not_held_up_by_another_ones_slow_pdf(fresh_engine, fresh_url,
                                                                                  tmp_path, monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_TIMEOUT_SECONDS", "8")
    monkeypatch.setenv("REPORTS_RENDER_MAX_CELL_CHARS", NO_CUT)
    monkeypatch.setenv("REPORTS_RENDER_WORKERS", "2")
    workers.close_shared_pool()  # the next file starts this process's pool with two workers
    try:
        p = _month(fresh_engine)
        slow = _organization(p, "Slow Org", HUGE)
        fine = _organization(p, "Fine Org", "East Wind")
        _pack(fresh_url, tmp_path)
    finally:
        workers.close_shared_pool()
    by_file = _pack_rows(fresh_engine)
    assert by_file[(slow, "pdf")]["status"] == "failed" and by_file[(slow, "pdf")]["processing_time_ms"] >= 8000
    for key in ((slow, "csv"), (fine, "pdf"), (fine, "csv")):
        assert by_file[key]["status"] == "completed", by_file[key]
    # Fine Org's files were written while Slow Org's PDF was still being laid out
    slow_started = by_file[(slow, "pdf")]["processing_started_at"]
    assert by_file[(fine, "csv")]["processing_completed_at"] < slow_started + dt.timedelta(seconds=8)


# ---------------------------------------------------------------------------------------------
# the worker pool


def _aging_doc(note: str, org: str = "Org") -> ReportDocument:
    """An invoice_aging document with one invoice whose free-text note is `note`."""
    d = invoice_aging.DEFINITION
    row = {c.key: None for c in d.table("invoices").columns}
    row.update(invoice_number="INV-1", customer_name="Acme", currency="EUR", total_amount=Decimal("10.00"),
               open_amount=Decimal("10.00"), days_overdue=3, bucket_label="1-30", status="open", note=note)
    empty = [TableData(d.table(k), pd.DataFrame(columns=[c.key for c in d.table(k).columns]))
             for k in ("buckets", "customers")]
    return ReportDocument(d, 1, org, "2026-10", "October 2026", dt.date(2026, 10, 1), dt.date(2026, 10, 31),
                          NOW, {}, {}, [TableData(d.table("invoices"), pd.DataFrame([row])), *empty])


def _wait_running(job: workers.RenderJob) -> None:
    deadline = time.monotonic() + 60
    while job.worker_pid is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job.worker_pid is not None


def test_a_killed_worker_fails_only_its_file_and_a_fresh_worker_renders_the_next(monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_MAX_CELL_CHARS", NO_CUT)
    budget = workers.Budget(60, 10**9)
    with workers.RenderPool(1) as pool:
        slow = pool.submit(_aging_doc(HUGE, "Victim Org"), "pdf", budget)
        _wait_running(slow)
        os.kill(slow.worker_pid, signal.SIGKILL)
        with pytest.raises(workers.RenderWorkerLost) as lost:
            slow.result(timeout=30)
        assert str(lost.value).startswith(
            "the Invoice Aging Report PDF for Victim Org (October 2026) was not made: the renderer process ended "
            "while rendering it (killed by SIGKILL, e.g. by the out-of-memory killer)")
        nxt = pool.submit(_aging_doc("fine"), "pdf", budget)
        assert nxt.result(timeout=60).startswith(b"%PDF-") and nxt.worker_pid != slow.worker_pid
        # killed while idle: the next file is handed to a fresh worker, nothing fails
        idle = pool.worker_pids()
        os.kill(idle[0], signal.SIGKILL)
        again = pool.submit(_aging_doc("fine"), "csv", budget)
        assert b"fine" in again.result(timeout=60) and again.worker_pid not in (idle[0], slow.worker_pid)


def test_two_workers_render_side_by_side_and_a_slow_file_holds_only_its_own(monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_MAX_CELL_CHARS", NO_CUT)
    pool = workers.RenderPool(2)
    try:
        slow = pool.submit(_aging_doc(HUGE, "Slow Org"), "pdf", workers.Budget(30, 10**9))  # minutes uncut
        _wait_running(slow)
        quick = [pool.submit(_aging_doc(f"note {i}", "Fine Org"), fmt, workers.Budget(30, 10**9))
                 for i, fmt in enumerate(("pdf", "xlsx", "csv", "pdf"))]
        assert [job.result(timeout=30)[:2] for job in quick] == [b"%P", b"PK", b"\xef\xbb", b"%P"]  # the CSV's UTF-8 BOM
        assert not slow.done()  # the four files were made by the other worker while the slow one was laid out
        assert {job.worker_pid for job in quick} == set(pool.worker_pids()) - {slow.worker_pid}
    finally:
        pool.close(wait=False)  # kills the slow render rather than waiting for its budget
    with pytest.raises(workers.RenderWorkerLost):
        slow.result(timeout=30)


def test_files_one_after_another_stay_on_the_running_worker():
    """A request run renders its files one by one: a second worker would only cost its start."""
    with workers.RenderPool(3) as pool:
        pids = {pool.submit(_aging_doc(f"note {i}"), fmt, workers.Budget(60, 10**9)).result(timeout=60) and
                len(pool.worker_pids()) for i, fmt in enumerate(("csv", "json", "xlsx", "csv", "html"))}
        assert pids == {1} and len(pool.worker_pids()) == 1


def test_a_renderer_error_comes_back_as_itself():
    doc = _aging_doc("fine")
    doc.template = "../../etc/passwd"
    with workers.RenderPool(1) as pool, pytest.raises(ValueError, match="not a report template name"):
        pool.render(doc, "html", workers.Budget(30, 10**9))
    with workers.RenderPool(1) as pool, pytest.raises(ValueError, match="unknown report format"):
        pool.render(doc, "docx")


# ---------------------------------------------------------------------------------------------
# cutting and breaking text for the page


def test_free_text_is_cut_and_broken_codes_and_numbers_are_not(monkeypatch):
    monkeypatch.setenv("REPORTS_RENDER_MAX_CELL_CHARS", "100")
    doc = _aging_doc("n" * 150)
    doc.tables[0].rows.loc[0, "invoice_number"] = "INV-" + "7" * 45  # 49 characters, one token
    view = html_render.context(doc, html_render.TextLimits(100, breaks=True))["tables"][0]
    cells = {c.key: cell for c, cell in zip(view.columns, view.rows[0].cells)}
    # 100 n's cut, then broken every 8 characters: 12 runs of 8 and one of 4, zero-width spaces between
    assert cells["note"] == ("\u200b".join(["n" * 8] * 12 + ["n" * 4]) + NOTE, "text")
    assert cells["invoice_number"][1] == "ident" and cells["customer_name"][1] == "text"
    assert cells["open_amount"] == ("10.00", "num")
    page = html_render.render_text(doc)  # HTML: cut at REPORTS_RENDER_MAX_CELL_CHARS, no invisible breaks
    assert "n" * 100 + NOTE in page and "n" * 101 not in page and "\u200b" not in page


def test_layout_breaks_split_only_runs_longer_than_any_real_word():
    zw = "\u200b"
    assert html_render.layout_breaks("Photovoltaic maintenance INV-2026-000123") == "Photovoltaic maintenance INV-2026-000123"
    assert html_render.layout_breaks("a" * 40) == "a" * 40
    assert html_render.layout_breaks("b" * 41) == zw.join(["b" * 8] * 5 + ["b"])
    assert html_render.layout_breaks("ok " + "c" * 20 + "d" * 21) == "ok " + zw.join(
        ["c" * 8, "c" * 8, "c" * 4 + "d" * 4, "d" * 8, "d" * 8, "d"])
    # never between a letter and its combining accent
    accented = "e\u0301" * 30  # 60 code points, 30 letters as read
    broken = html_render.layout_breaks(accented)
    assert broken.replace(zw, "") == accented and all(piece.startswith("e") for piece in broken.split(zw))


def test_render_settings_refuse_nonsense_with_the_variable_name(monkeypatch):
    for name in ("REPORTS_RENDER_TIMEOUT_SECONDS", "REPORTS_MAX_FILE_BYTES", "REPORTS_RENDER_WORKERS",
                 "REPORTS_RENDER_MAX_CELL_CHARS"):
        monkeypatch.delenv(name, raising=False)
    assert (settings.render_timeout_seconds(), settings.max_file_bytes(), settings.render_workers(),
            settings.max_cell_chars()) == (300.0, 200 * 1024 * 1024, settings.default_render_workers(), 2000)
    for name, value in (("REPORTS_RENDER_TIMEOUT_SECONDS", "0"), ("REPORTS_RENDER_TIMEOUT_SECONDS", "nan"),
                        ("REPORTS_MAX_FILE_BYTES", "1e9"), ("REPORTS_RENDER_WORKERS", "0"),
                        ("REPORTS_RENDER_MAX_CELL_CHARS", "10")):
        monkeypatch.setenv(name, value)
        with pytest.raises(ValueError, match=name):
            (settings.render_timeout_seconds(), settings.max_file_bytes(), settings.render_workers(),
             settings.max_cell_chars())
        monkeypatch.delenv(name)
