"""Words for people, codes for machines (issue 12 item 3): the labels catalogue, and every report
type's HTML (and a PDF) without codes or internal database ids.

The documents here are built by hand, one per report type, from the catalogue's own columns:
every id column holds the tell-tale 98765, every coded column a code.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pandas as pd
import pytest
from pypdf import PdfReader

from reporting_dagster.lib import render
from reporting_dagster.lib.documents import catalog, labels
from reporting_dagster.lib.render.document import TableData
from tests.test_render_formats import make_document

D = Decimal
ID = 98765  # a database id: in CSV/XLSX/JSON, never on a page
CODES = {"status": "missing_expected", "stored_status": "unchecked", "line_type": "OM_FEE",
         "invoice_direction": "payable", "bucket_label": "1_30"}
WORDS = {"status": "Not expected", "stored_status": "Unchecked", "line_type": "O&amp;M Fee",
         "invoice_direction": "Payable", "bucket_label": "1-30 Days"}
TEMPLATES = {"invoice_to_client": "invoice_to_client.html", "invoice_expected": "invoice_expected.html",
             "invoice_received": "invoice_received.html", "invoice_comparison": "invoice_comparison.html",
             "invoice_aging": "invoice_aging.html", "timesheet": "timesheet.html",
             "project_profitability": "project_profitability.html"}
# the child tables and their parents, keyed as the report builders key them
CHILDREN = {"invoice_comparison": ("lines", "invoices", "pair_id"), "invoice_to_client": ("lines", "invoices", "header_id"),
            "invoice_expected": ("lines", "invoices", "header_id"), "invoice_received": ("lines", "invoices", "header_id")}


def test_the_catalogue_has_words_for_every_code_and_humanises_the_rest():
    assert labels.label(labels.LINE_TYPES, "OM_FEE") == "O&M Fee"
    assert labels.label(labels.LINE_TYPES, "ENERGY") == "Energy"
    assert labels.label(labels.STATUSES, "missing_expected") == "Not expected"
    assert labels.label(labels.STATUSES, "missing_received") == "Not received"
    assert labels.label(labels.AGING_BUCKETS, "90_plus") == "90+ Days"
    assert labels.label(labels.GROUP_BY, "all") == "Member, project and date"
    # unknown codes: humanised, never blank, never an error; words stay as they are
    assert labels.label(labels.LINE_TYPES, "WIND_BONUS") == "Wind bonus"
    assert labels.label(labels.STATUSES, "written_off") == "Written off"
    assert labels.cell_label("line_type", "O&M Fee") == "O&M Fee"
    assert labels.cell_label("status", "") == "" and labels.cell_label("status", None) is None
    assert labels.cell_label("customer_name", "acme_corp") == "acme_corp"  # not a coded column: untouched
    assert labels.is_internal_id("header_id") and labels.is_internal_id("pair_id") and not labels.is_internal_id("paid")


def test_parameters_in_words():
    definition = catalog.CATALOG["timesheet"]
    items = labels.parameter_items(definition, {"date_from": "2026-11-01", "date_to": "2026-11-30", "group_by": "all",
                                                "project_id": "12"}, [])
    assert items == [("From Date", "2026-11-01"), ("To Date", "2026-11-30"), ("Group By", "Member, project and date"),
                     ("Project", "the selected project")]
    rows = TableData(definition.table("by_project"), pd.DataFrame({"project_name": ["Karoo PV"]}))
    assert labels.parameter_items(definition, {"project_id": "12"}, [rows]) == [("Project", "Karoo PV")]
    comparison = labels.parameter_items(catalog.INVOICE_COMPARISON, {"billing_period": "2026-11", "direction": "receivable",
                                                                     "tolerance_percent": "0.5"})
    assert comparison == [("Billing period", "November 2026"), ("Invoice direction", "Receivable"),
                          ("Percent tolerance", "0.5%")]


def _value(column: catalog.Column):
    if labels.is_internal_id(column.key):
        return ID
    if column.key in CODES:
        return CODES[column.key]
    if column.type in ("currency", "decimal"):
        return D("12.50")
    if column.type == "integer":
        return 3
    if column.type == "date":
        return dt.date(2026, 11, 3)
    return f"{column.key} text"


def _document(definition: catalog.ReportDefinition):
    child = CHILDREN.get(definition.slug)
    tables = []
    for table in definition.tables:
        frame = pd.DataFrame([{c.key: _value(c) for c in table.columns}])
        frame["pair_id"] = ID
        frame["header_id"] = ID
        if child and table.key == child[1]:
            tables.append(TableData(table, frame, row_key=child[2]))
        elif child and table.key == child[0]:
            tables.append(TableData(table, frame, parent=child[1], group_key=child[2]))
        else:
            tables.append(TableData(table, frame))
    return make_document(definition=definition, tables=tables, template=TEMPLATES[definition.slug], cards=[], charts=[],
                         summary={}, parameters={"contract_id": str(ID), "billing_period": "2026-11"})


@pytest.mark.parametrize("report_type", sorted(catalog.CATALOG))
def test_every_report_types_page_shows_words_and_no_ids(report_type):
    definition = catalog.CATALOG[report_type]
    doc = _document(definition)
    page = render.render(doc, "html").decode("utf-8")
    assert str(ID) not in page  # no id column, no "#98765 ·" group title, no id parameter
    assert "Invoice ID" not in page and "Expected invoice ID" not in page
    coded = {c.key for t in definition.tables for c in t.columns if c.key in CODES}
    for key in coded:
        assert f">{CODES[key]}<" not in page, key  # no cell shows the code …
        assert WORDS[key] in page, key  # … every one shows the words
    assert "Contract:</span> contract_name text" in page or "Contract:</span> the selected contract" in page
    # the machine formats keep the ids (where the report has them) and the codes
    if report_type in CHILDREN:
        assert f'"{CHILDREN[report_type][2]}": {ID}'.encode() in render.render(doc, "json")
    if any(labels.is_internal_id(c.key) for c in definition.table(definition.csv_table).columns):
        assert str(ID).encode() in render.render(doc, "csv")
    for key in coded:
        assert f'"{key}": "{CODES[key]}"'.encode() in render.render(doc, "json")


def test_the_pdf_shows_words_and_no_ids():
    doc = _document(catalog.INVOICE_COMPARISON)
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(render.render(doc, "pdf"))).pages).split())
    assert str(ID) not in text and "missing_expected" not in text and "OM_FEE" not in text
    assert "Not expected" in text and "O&M Fee" in text
