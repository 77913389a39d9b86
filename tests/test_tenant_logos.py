"""Logos only from the organization's own branding folder or the operator's shared one (issue 10
item 5): `report_template.logo_path` naming organization 2's logo, a traversal or any other trick
is refused in organization 1's files (pack and request paths; the PDF and HTML read back hold
no image and not organization 2's bytes), the file still renders and its summary names what to
fix; organization 1's own logo and a shared logo are embedded.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import struct
import zlib

import dagster as dg
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from reporting_dagster.defs.resources import LocalReportStore, PlatformDatabase
from reporting_dagster.lib.documents.reports import logos
from reporting_dagster.lib.infra import db
from reporting_dagster.lib.infra.platform_schema import extract_sql
from reporting_dagster.lib.infra.store import LocalStore
from reporting_dagster.lib.requests.run import run_request
from tests.request_builders import RequestPlatform
from tests.test_assets import PARTITION, slice_assets

NOW = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)


def _png(rgb: tuple[int, int, int], size: int = 3) -> bytes:
    """A valid size × size PNG of one colour (each organization's logo is recognisable)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes(rgb) * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


OWN_PNG, OTHER_PNG, SHARED_PNG = _png((10, 20, 30)), _png((200, 0, 99)), _png((1, 250, 1))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture
def world(fresh_engine, tmp_path):
    """Alpha and Beta with one comparison pair each in October 2026; Beta's logo, Alpha's own and a
    shared one in the store; Alpha's template names Beta's logo."""
    p = RequestPlatform(fresh_engine)
    period = p.period(2026, 10)
    alpha, beta = p.org("Alpha"), p.org("Beta")
    for org in (alpha, beta):
        proj = p.project(org, f"P{org}")
        contract = p.contract(org, proj, f"C{org}")
        p.expected(period, contract, proj, "EUR", [("OM_FEE", "Fee", "100.00")])
        p.received(period, contract, proj, "EUR", [("OM_FEE", "Fee", "100.00")], f"R-{org}")
    store = LocalStore(tmp_path / "store")
    store.put(f"branding/{alpha}/logo.png", OWN_PNG, "image/png")
    store.put(f"branding/{beta}/logo.png", OTHER_PNG, "image/png")
    store.put("branding/shared/logo.png", SHARED_PNG, "image/png")
    template = p.template(alpha, "invoice_comparison", logo_path=f"branding/{beta}/logo.png")
    p.template(beta, "invoice_comparison", logo_path=f"branding/{beta}/logo.png")
    return {"p": p, "alpha": alpha, "beta": beta, "store": store, "template": template}


def _set_logo(world, key: str) -> None:
    with world["p"].engine.begin() as conn:
        conn.execute(sa.text("UPDATE report_template SET logo_path = :k WHERE id = :id"),
                     {"k": key, "id": world["template"]})


def _request(world, fmt: str) -> tuple[bytes, dict]:
    p = world["p"]
    rid = p.request(world["alpha"], "invoice_comparison", fmt, parameters={"billing_period": PARTITION},
                    report_template_id=world["template"])
    read = lambda name, **params: db.read_frame(p.engine, extract_sql(p.engine, name), params)  # noqa: E731
    outcome = run_request(p.engine, world["store"], read, rid, run_id=f"run-{rid}", now=NOW)
    assert outcome.outcome == "completed", outcome.message
    return world["store"].get(outcome.stored.key), p.row("generated_report", rid)["summary_data"]


def _images(pdf: bytes) -> int:
    return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)


def _warning(summary: dict) -> str:
    found = [w for w in summary.get("check_warnings", []) if w.get("check") == "logo_from_own_branding"]
    assert len(found) == 1 and found[0]["severity"] == "WARN", summary
    return found[0]["message"]


def test_another_organizations_logo_is_refused_in_the_pack(world, fresh_url, tmp_path):
    resources = {"platform_db": PlatformDatabase(url=fresh_url.render_as_string(hide_password=False)),
                 "report_store": LocalReportStore(directory=str(world["store"].root))}
    with dg.instance_for_test() as instance:
        assert dg.materialize(slice_assets(), partition_key=PARTITION, resources=resources, instance=instance).success
    with world["p"].engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT organization_id, file_format::text AS fmt, file_path, summary_data "
                                    "FROM generated_report WHERE report_status = 'completed'")).mappings().all()
    files = {(r["organization_id"], r["fmt"]): world["store"].get(r["file_path"]) for r in rows}
    assert len(files) == 10
    for fmt in ("pdf", "html", "json", "csv", "xlsx"):
        assert _b64(OTHER_PNG).encode() not in files[(world["alpha"], fmt)]
        assert OTHER_PNG not in files[(world["alpha"], fmt)]
    assert _images(files[(world["alpha"], "pdf")]) == 0 and "data:image" not in files[(world["alpha"], "html")].decode()
    alpha_summary = next(r["summary_data"] for r in rows if r["organization_id"] == world["alpha"])
    assert f"branding/{world['alpha']}/" in _warning(alpha_summary)  # says where the logo must be
    # Beta's own template names Beta's own logo: embedded, no warning
    assert _b64(OTHER_PNG) in files[(world["beta"], "html")].decode() and _images(files[(world["beta"], "pdf")]) == 1
    beta_summary = next(r["summary_data"] for r in rows if r["organization_id"] == world["beta"])
    assert "check_warnings" not in beta_summary


def test_another_organizations_logo_is_refused_in_a_request(world):
    pdf, summary = _request(world, "pdf")
    assert _images(pdf) == 0 and _b64(OTHER_PNG).encode() not in pdf
    html, _ = _request(world, "html")
    assert _b64(OTHER_PNG) not in html.decode() and "data:image" not in html.decode()
    data, _ = _request(world, "json")
    message = _warning(json.loads(data)["summary"])
    assert f"report_template {world['template']}" in message and f"branding/{world['alpha']}/" in message
    assert _warning(summary) == message  # the row's summary_data records it too


def test_a_traversal_is_refused_and_the_report_still_renders(world):
    _set_logo(world, f"branding/{world['alpha']}/../{world['beta']}/logo.png")
    html, summary = _request(world, "html")
    assert "data:image" not in html.decode() and "'..'" in _warning(summary)
    assert "Invoice Comparison" in html.decode()


def test_own_and_shared_logos_are_embedded(world, monkeypatch):
    _set_logo(world, f"branding/{world['alpha']}/logo.png")
    pdf, summary = _request(world, "pdf")
    assert _images(pdf) == 1 and "check_warnings" not in summary
    html, _ = _request(world, "html")
    assert f"data:image/png;base64,{_b64(OWN_PNG)}" in html.decode()

    _set_logo(world, "branding/shared/logo.png")
    monkeypatch.delenv(logos.SHARED_PREFIX_ENV, raising=False)
    html, summary = _request(world, "html")  # no shared folder configured: refused
    assert "data:image" not in html.decode() and "branding/shared/logo.png" in _warning(summary)
    monkeypatch.setenv(logos.SHARED_PREFIX_ENV, "/branding/shared/")
    html, summary = _request(world, "html")
    assert f"data:image/png;base64,{_b64(SHARED_PNG)}" in html.decode() and "check_warnings" not in summary


@pytest.mark.parametrize("key", [
    "branding/2/logo.png",
    "branding/1/../2/logo.png",
    "branding/1/./logo.png",
    "branding//1/logo.png",
    "/branding/1/logo.png",
    "branding\\1\\logo.png",
    "branding/1\\..\\2/logo.png",
    "s3://bucket/branding/1/logo.png",
    "file:///branding/1/logo.png",
    "http://evil.example/branding/1/logo.png",
    "branding/1/%2e%2e/2/logo.png",
    "branding%2f1%2flogo.png",
    "branding/1/\uff0e\uff0e/2/logo.png",  # full-width dots
    "branding\uff0f1\uff0flogo.png",  # full-width solidus
    "branding/1/logo.png\x00.txt",
    "branding/10/logo.png",
    "branding/01/logo.png",
    "branding/1",
    "branding/1/",
    "branding/ 1/logo.png",
    "reports/1/2026/10/invoice_comparison-1.png",
    "",
])
def test_keys_outside_the_own_folder_are_refused(key, monkeypatch):
    monkeypatch.delenv(logos.SHARED_PREFIX_ENV, raising=False)
    with pytest.raises(logos.LogoRefused):
        logos.allowed_key(key, 1)


def test_keys_in_the_own_or_shared_folder_are_allowed(monkeypatch):
    monkeypatch.delenv(logos.SHARED_PREFIX_ENV, raising=False)
    assert logos.allowed_key("branding/1/logo.png", 1) == "branding/1/logo.png"
    assert logos.allowed_key("branding/1/2026/mark.svg", 1) == "branding/1/2026/mark.svg"
    with pytest.raises(logos.LogoRefused):
        logos.allowed_key("common/logo.png", 1)
    monkeypatch.setenv(logos.SHARED_PREFIX_ENV, "common")
    assert logos.allowed_key("common/logo.png", 1) == "common/logo.png"
    with pytest.raises(logos.LogoRefused):
        logos.allowed_key("common/../branding/2/logo.png", 1)
    with pytest.raises(logos.LogoRefused):
        logos.allowed_key("commonplace/logo.png", 1)  # a folder, not a string prefix


@pytest.mark.parametrize("setting", ["branding", "branding/2", "branding/2/x", "reports", "archive/1", "dagster-io",
                                     "a/../reports", "x:y"])
def test_a_shared_folder_that_covers_tenant_files_is_not_used(setting, monkeypatch):
    monkeypatch.setenv(logos.SHARED_PREFIX_ENV, setting)
    with pytest.raises(logos.LogoRefused):
        logos.shared_prefix()
    with pytest.raises(logos.LogoRefused):
        logos.allowed_key("branding/2/logo.png", 1)
