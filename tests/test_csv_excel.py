"""CSV for Excel and for machines (issue 12 item 5): a UTF-8 BOM by default and configurable off,
metadata lines that name the organization and the period in words, RFC 4180 otherwise.

Every check reads the bytes back: the BOM itself, the csv module's parse, the metadata lines.
"""

from __future__ import annotations

import csv
import io
from dataclasses import replace

import pytest

from reporting_dagster.lib import render
from reporting_dagster.lib.documents.reports.common import sections_from
from reporting_dagster.lib.infra import settings
from reporting_dagster.lib.operations.records import Template
from reporting_dagster.lib.render.document import CSV_BOM_CHECK, Sections
from tests.test_render_formats import COMMA_NAME, NEWLINE_NAME, UNICODE_NAME, make_document

BOM = b"\xef\xbb\xbf"


def _template(config) -> Template:
    return Template(id=1, name="t", file_format="csv", template_config=config, include_charts=True,
                    include_summary=True, include_line_items=True, logo_path=None, header_text=None,
                    footer_text=None, brand_color=None)


def _records(data: bytes) -> list[list[str]]:
    """The file as a spreadsheet import sees it: decoded with the BOM skipped, parsed by the csv module."""
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def test_bom_by_default_and_the_file_names_organization_and_period(monkeypatch):
    monkeypatch.delenv("REPORTS_CSV_BOM", raising=False)
    karoo = make_document(organization_name="Karoo Solar", period_key="2026-11", period_label="November 2026",
                          period_start=make_document().period_start.replace(month=11),
                          period_end=make_document().period_end.replace(month=11, day=30))
    data = render.render(karoo, "csv")
    assert data[:3] == BOM and data[3:5] == b"# " and data.count(BOM) == 1  # once, at the very start
    records = _records(data)
    assert records[1] == ["# Organization: Karoo Solar"]
    assert records[2] == ["# Period: November 2026 (2026-11-01 to 2026-11-30)"]
    assert records[0] == ["# Invoice Comparison Report"]  # the BOM is not part of the first field
    assert records[3][0].startswith("# Generated: ")


def test_bom_off_by_template_config_and_by_setting(monkeypatch):
    monkeypatch.delenv("REPORTS_CSV_BOM", raising=False)
    off = make_document(sections=sections_from(_template({"csv_bom": False})))
    data = render.render(off, "csv")
    assert data.startswith(b"# Invoice Comparison Report\r\n")
    # the deployment's setting, for templates that say nothing
    monkeypatch.setenv("REPORTS_CSV_BOM", "false")
    assert not render.render(make_document(), "csv").startswith(BOM)
    assert settings.csv_bom() is False
    # ... and a template's own true wins over it
    on = make_document(sections=sections_from(_template({"csv_bom": True})))
    assert render.render(on, "csv").startswith(BOM + b"# ")
    monkeypatch.setenv("REPORTS_CSV_BOM", "maybe")
    with pytest.raises(ValueError, match="REPORTS_CSV_BOM"):
        settings.check_environment()


def test_a_bad_csv_bom_setting_keeps_the_bom_and_is_a_warning(monkeypatch):
    monkeypatch.delenv("REPORTS_CSV_BOM", raising=False)
    sections = sections_from(_template({"csv_bom": "no"}))
    assert sections.csv_bom is None and "csv_bom must be true or false" in sections.csv_bom_warning
    doc = make_document(sections=sections)
    assert render.render(doc, "csv").startswith(BOM)
    assert [w["check"] for w in doc.summary["check_warnings"]] == [CSV_BOM_CHECK]
    assert sections_from(_template({})).csv_bom is None and sections_from(_template({})).csv_bom_warning is None


def test_rfc_4180_records_crlf_quoting_and_a_parse_back(monkeypatch):
    monkeypatch.delenv("REPORTS_CSV_BOM", raising=False)
    data = render.render(make_document(), "csv")
    text = data.decode("utf-8-sig")
    # every record ends with CRLF; the only bare LF is inside a quoted field (NEWLINE_NAME)
    assert text.endswith("\r\n") and text.replace("\r\n", "").count("\n") == NEWLINE_NAME.count("\n")
    assert "\"'+Solar, \"\"North\"\" Park\"" in text  # a comma and quotes: quoted, quotes doubled
    records = _records(data)
    header = records[5]
    body = records[6:]
    assert len(body) == 5 and all(len(r) == len(header) for r in body)  # one record per line, same width
    assert body[1][0] == "'" + COMMA_NAME and body[3][0] == NEWLINE_NAME and body[4][0] == UNICODE_NAME
    # no data: the note after the header, still parseable
    empty = replace(make_document(), no_data=True, tables=[replace(t, rows=t.rows.iloc[0:0]) for t in make_document().tables])
    assert _records(render.render(empty, "csv"))[5:] == [header, ["# No data for this period"]]


def test_json_and_csv_keep_the_codes():
    doc = make_document(sections=Sections(csv_bom=False))
    records = _records(render.render(doc, "csv"))
    header, body = records[5], records[6:]
    assert body[3][header.index("Status")] == "missing_received"  # the code, for machines
    assert body[3][header.index("Status (in words)")] == "Not received"  # the words, for a person in Excel
    assert b'"status": "missing_received"' in render.render(doc, "json")
