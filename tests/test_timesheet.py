"""Timesheet rules on hand-built entries; every expected number is worked out by hand beside it.

Fixture (organization 1, October 2026):
    id  member                      project           date        min  billable
    1   Bea Rossi (7)               North Farm (10)   2026-10-01  120  yes   ← first day: included
    2   Bea Rossi (7)               Alpha Wind (11)   2026-10-15   45  no
    3   (no name) field.desk@x.io (2) North Farm (10) 2026-10-31  100  yes   ← last day: included
    4   (no name) field.desk@x.io (2) North Farm (10) 2026-10-15   65  no
    5   Al Khan (3)                 Alpha Wind (11)   2026-10-15   20  yes
    6   Al Khan (3)                 North Farm (10)   2026-09-30  600  yes   ← day before: excluded
    7   Bea Rossi (7)               North Farm (10)   2026-11-01  600  yes   ← day after: excluded
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import pandas as pd
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from reporting_dagster.lib import render
from reporting_dagster.lib.infra.periods import BillingPeriod
from reporting_dagster.lib.render.document import Branding, Sections
from reporting_dagster.lib.documents.reports import timesheet as report
from reporting_dagster.lib.documents.reports.common import ReportContext
from reporting_dagster.lib.rules.timesheet import timesheet

OCT1, OCT31 = dt.date(2026, 10, 1), dt.date(2026, 10, 31)
FORMATS = ("pdf", "csv", "xlsx", "json", "html")


def entry(entry_id, member_id, member_name, project_id, project_name, day, minutes, billable=True,
          org=1, email=None, billing=None, cost=None):
    """One extract row; billing / cost: (rate, currency) or None."""
    return {
        "entry_id": entry_id, "organization_id": org, "member_organization_id": org, "member_id": member_id,
        "member_name": member_name, "member_email": email or f"member{member_id}@x.io", "task_id": 1,
        "task_name": "Task", "project_id": project_id, "project_name": project_name, "entry_date": day,
        "duration_minutes": minutes, "billable": billable,
        "billing_rate_snapshot": D(billing[0]) if billing else None, "billing_rate_currency": billing[1] if billing else None,
        "cost_rate_snapshot": D(cost[0]) if cost else None, "cost_rate_currency": cost[1] if cost else None,
    }


def frame(rows):
    return pd.DataFrame(rows) if rows else pd.DataFrame(columns=list(entry(0, 0, "", 0, "", OCT1, 1).keys()))


@pytest.fixture
def entries():
    return frame([
        entry(1, 7, "Bea Rossi", 10, "North Farm", OCT1, 120, True),
        entry(2, 7, "Bea Rossi", 11, "Alpha Wind", dt.date(2026, 10, 15), 45, False),
        entry(3, 2, None, 10, "North Farm", OCT31, 100, True, email="field.desk@x.io"),
        entry(4, 2, None, 10, "North Farm", dt.date(2026, 10, 15), 65, False, email="field.desk@x.io"),
        entry(5, 3, "Al Khan", 11, "Alpha Wind", dt.date(2026, 10, 15), 20, True),
        entry(6, 3, "Al Khan", 10, "North Farm", dt.date(2026, 9, 30), 600, True),
        entry(7, 7, "Bea Rossi", 10, "North Farm", dt.date(2026, 11, 1), 600, True),
    ])


def q(value):
    """Presentation: half-up to 2 dp (what every file shows)."""
    from reporting_dagster.lib.money import half_up

    return half_up(value)


def table(result, grouping, label):
    rows = result.tables[grouping]
    return [(r[label], q(r["total_hours"]), q(r["billable_hours"]), q(r["non_billable_hours"]), r["entry_count"])
            for _, r in rows.iterrows()]


def test_by_member_totals_email_fallback_and_tie_broken_by_name(entries):
    result = timesheet(entries, OCT1, OCT31, "member")
    assert table(result, "member", "member_name") == [
        # Bea 120+45 = 165 min = 2.75 h; billable 120 = 2.00; non-billable 45 = 0.75
        ("Bea Rossi", D("2.75"), D("2.00"), D("0.75"), 2),
        # no name → e-mail; 100+65 = 165 min = 2.75 h (tie with Bea: "bea" < "field" by name,
        # although its id 2 < 7); billable 100/60 = 1.666… → 1.67; non-billable 65/60 = 1.0833 → 1.08
        ("field.desk@x.io", D("2.75"), D("1.67"), D("1.08"), 2),
        # Al: 20 min = 0.333… → 0.33 (the 600 min on 09-30 is outside the month)
        ("Al Khan", D("0.33"), D("0.33"), D("0.00"), 1),
    ]
    assert set(result.tables) == {"member"}


def test_by_project_totals_ordered_by_hours_not_name(entries):
    result = timesheet(entries, OCT1, OCT31, "project")
    assert table(result, "project", "project_name") == [
        # North Farm: 120+100+65 = 285 min = 4.75 h; billable 220/60 = 3.666 → 3.67; non-billable 65 → 1.08
        ("North Farm", D("4.75"), D("3.67"), D("1.08"), 3),
        # Alpha Wind: 45+20 = 65 → 1.08; billable 20 → 0.33; non-billable 45 → 0.75 (after North: fewer hours)
        ("Alpha Wind", D("1.08"), D("0.33"), D("0.75"), 2),
    ]


def test_by_date_ascending_with_inclusive_boundaries(entries):
    result = timesheet(entries, OCT1, OCT31, "date")
    assert table(result, "date", "entry_date") == [
        (OCT1, D("2.00"), D("2.00"), D("0.00"), 1),                        # 120 min, first day included
        (dt.date(2026, 10, 15), D("2.17"), D("0.33"), D("1.83"), 3),       # 45+65+20 = 130 → 2.1666 → 2.17; nb 110 → 1.83
        (OCT31, D("1.67"), D("1.67"), D("0.00"), 1),                       # 100 min, last day included
    ]
    assert list(result.tables["date"]["weekday"]) == ["Thu", "Thu", "Sat"]  # 2026-10-01 is a Thursday


def test_summary_from_summed_minutes(entries):
    s = timesheet(entries, OCT1, OCT31, "all").summary()
    # 120+45+100+65+20 = 350 min = 5.8333 h → 5.83; billable 240 = 4.00; non-billable 110 → 1.83
    assert (q(s["total_hours"]), q(s["billable_hours"]), q(s["non_billable_hours"])) == (D("5.83"), D("4.00"), D("1.83"))
    assert s["entry_count"] == 5 and s["members"] == 3 and s["projects"] == 2 and s["days"] == 3
    assert s["billable_percent"] == D("68.57")  # 240/350 = 0.685714 → 68.57
    # rounding per group would drift: 2.75 + 2.75 + 0.33 = 5.83 here, but the non-billable
    # groups 0.75 + 1.08 + 0.00 = 1.83 and the exact 110/60 = 1.8333 → 1.83 agree only because
    # the total is derived from the summed minutes, never from rounded group hours.


def test_arbitrary_range_both_ends_inclusive(entries):
    # 2026-09-30 .. 2026-10-01: entry 6 (600, Al) and entry 1 (120, Bea); 10-02+ and 11-01 out
    result = timesheet(entries, dt.date(2026, 9, 30), dt.date(2026, 10, 1), "member")
    assert table(result, "member", "member_name") == [
        ("Al Khan", D("10.00"), D("10.00"), D("0.00"), 1),
        ("Bea Rossi", D("2.00"), D("2.00"), D("0.00"), 1),
    ]
    # one day, the last of the month: only entry 3
    result = timesheet(entries, OCT31, OCT31, "date")
    assert table(result, "date", "entry_date") == [(OCT31, D("1.67"), D("1.67"), D("0.00"), 1)]
    with pytest.raises(ValueError):
        timesheet(entries, OCT31, OCT1, "member")


def test_project_and_member_filters(entries):
    by_project = timesheet(entries, OCT1, OCT31, "member", project_id=11)
    assert table(by_project, "member", "member_name") == [
        ("Bea Rossi", D("0.75"), D("0.00"), D("0.75"), 1),  # entry 2: 45 min non-billable
        ("Al Khan", D("0.33"), D("0.33"), D("0.00"), 1),    # entry 5: 20 min
    ]
    by_member = timesheet(entries, OCT1, OCT31, "project", member_id=2)
    assert table(by_member, "project", "project_name") == [
        ("North Farm", D("2.75"), D("1.67"), D("1.08"), 2),  # entries 3, 4: 165 min
    ]
    both = timesheet(entries, OCT1, OCT31, "date", project_id=10, member_id=7)
    assert table(both, "date", "entry_date") == [(OCT1, D("2.00"), D("2.00"), D("0.00"), 1)]
    assert both.parameters == {"date_from": "2026-10-01", "date_to": "2026-10-31", "group_by": "date",
                               "project_id": "10", "member_id": "7"}


def test_project_tie_broken_by_name_case_insensitively():
    rows = frame([
        entry(1, 1, "Ann", 1, "Beta", OCT1, 30),
        entry(2, 1, "Ann", 2, "alpha", OCT1, 30),
        entry(3, 1, "Ann", 3, "Gamma", OCT1, 31),
    ])
    result = timesheet(rows, OCT1, OCT31, "project")
    # Gamma 31 min first (most hours); alpha and Beta tie at 30 min → "alpha" < "beta"
    assert list(result.tables["project"]["project_name"]) == ["Gamma", "alpha", "Beta"]


def test_blank_member_name_falls_back_to_email():
    rows = frame([entry(1, 5, "   ", 1, "P", OCT1, 60, email="ops@x.io")])
    assert list(timesheet(rows, OCT1, OCT31, "member").tables["member"]["member_name"]) == ["ops@x.io"]


def test_unknown_grouping_is_refused(entries):
    with pytest.raises(ValueError, match="group_by"):
        timesheet(entries, OCT1, OCT31, "week")


def test_organizations_are_split(entries):
    other = frame([entry(99, 50, "CANARY Person", 90, "CANARY project", OCT1, 999, org=2)])
    result = timesheet(pd.concat([entries, other], ignore_index=True), OCT1, OCT31, "all")
    assert result.organization_ids() == [1, 2]
    mine = result.for_organization(1)
    assert "CANARY Person" not in set(mine.tables["member"]["member_name"])
    assert q(mine.summary()["total_hours"]) == D("5.83")  # org 2's 999 minutes are not in org 1's


# ---------------------------------------------------------------------------------------------
# documents and files


def context(org_name="Helios Energy", org_id=1):
    period = BillingPeriod(7, "October 2026", OCT1, OCT31)
    return ReportContext(org_id, org_name, period, dt.datetime(2026, 11, 1, 6, 0, tzinfo=dt.timezone.utc),
                         Branding(footer_text="=SUM(A1)"), Sections())


def read_all(doc):
    """Render every format and read each back: (csv rows after the metadata, xlsx workbook, json, pdf text, html)."""
    files = {fmt: render.render(doc, fmt) for fmt in FORMATS}
    text = files["csv"].decode("utf-8-sig")  # the CSV starts with a UTF-8 BOM
    lines = text.split("\r\n")
    assert lines[0] == f"# {doc.definition.name}" and lines[3].startswith("# Generated: 2026-11-01T06:00:00")
    assert lines[4].startswith("# Parameters: ")
    csv_rows = list(csv.reader(io.StringIO("\r\n".join(lines[5:]))))
    workbook = load_workbook(io.BytesIO(files["xlsx"]))
    data = json.loads(files["json"])
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(files["pdf"])).pages)
    html = files["html"].decode("utf-8")
    return csv_rows, workbook, data, pdf_text, html


def test_monthly_document_all_formats(entries):
    result = timesheet(entries, OCT1, OCT31, "all").for_organization(1)
    doc = report.build_document(result, context())
    csv_rows, wb, data, pdf_text, html = read_all(doc)

    # CSV: the daily detail (member × project × date), labels from the catalogue
    assert csv_rows[0] == ["Team Member", "Date", "Day", "Project", "Total Hours", "Billable Hours",
                           "Non-Billable Hours", "Entries"]
    body = [r for r in csv_rows[1:] if r]
    assert body == [
        # by member name (Al, Bea, field.desk), then date, then project
        ["Al Khan", "2026-10-15", "Thu", "Alpha Wind", "0.33", "0.33", "0.00", "1"],          # 20 min
        ["Bea Rossi", "2026-10-01", "Thu", "North Farm", "2.00", "2.00", "0.00", "1"],        # 120 min
        ["Bea Rossi", "2026-10-15", "Thu", "Alpha Wind", "0.75", "0.00", "0.75", "1"],        # 45 min
        ["field.desk@x.io", "2026-10-15", "Thu", "North Farm", "1.08", "0.00", "1.08", "1"],  # 65 min
        ["field.desk@x.io", "2026-10-31", "Sat", "North Farm", "1.67", "1.67", "0.00", "1"],  # 100 min
    ]

    # XLSX: Summary + one sheet per grouping + the detail
    assert wb.sheetnames == ["Summary", "Hours by team member", "Hours by project", "Hours by date",
                             "Daily detail by member"]
    ws = wb["Hours by team member"]
    assert [c.value for c in ws[1]] == ["Team Member", "Total Hours", "Billable Hours", "Non-Billable Hours", "Entries"]
    assert [c.value for c in ws[2]] == ["Bea Rossi", 2.75, 2, 0.75, 2]
    assert [c.value for c in ws[3]] == ["field.desk@x.io", 2.75, 1.67, 1.08, 2]
    assert [c.value for c in ws[5]][:2] == ["Total", 5.83]  # totals row: 350 min
    assert ws["B2"].number_format == "#,##0.00"
    dates = wb["Hours by date"]
    assert dates["A2"].value.date() == OCT1 and dates["A4"].value.date() == OCT31

    # JSON: rows = members with their detail nested; the other groupings beside
    assert data["report_type"] == "timesheet"
    assert data["summary"]["total_hours"] == "5.83" and data["summary"]["entry_count"] == 5
    assert data["parameters"] == {"date_from": "2026-10-01", "date_to": "2026-10-31", "group_by": "all"}
    assert [r["member_name"] for r in data["rows"]] == ["Bea Rossi", "field.desk@x.io", "Al Khan"]
    assert [d["entry_date"] for d in data["rows"][0]["detail"]] == ["2026-10-01", "2026-10-15"]
    assert [r["project_name"] for r in data["tables"]["by_project"]] == ["North Farm", "Alpha Wind"]
    assert data["tables"]["by_date"][1] == {"entry_date": "2026-10-15", "weekday": "Thu", "total_hours": "2.17",
                                            "billable_hours": "0.33", "non_billable_hours": "1.83", "entry_count": 3}
    assert data["totals"]["by_member"][0]["total_hours"] == "5.83"

    # PDF and HTML: every section and the totals
    for text in (pdf_text, html):
        assert "Timesheet Report" in text and "October 2026" in text
        assert "Hours by team member" in text and "Hours by project" in text and "Hours by date" in text
        assert "field.desk@x.io" in text and "5.83" in text and "2.17" in text
    assert "=SUM(A1)" in html  # the footer is text, escaped by the template (nothing to escape here)


def test_single_grouping_request_document(entries):
    result = timesheet(entries, OCT1, dt.date(2026, 10, 15), "project", member_id=7).for_organization(1)
    doc = report.build_document(result, context())
    csv_rows, wb, data, pdf_text, html = read_all(doc)
    # Bea from 10-01 to 10-15: North Farm 120 min (10-01), Alpha Wind 45 min (10-15, non-billable)
    assert csv_rows[0] == ["Project", "Total Hours", "Billable Hours", "Non-Billable Hours", "Entries"]
    assert [r for r in csv_rows[1:] if r] == [["North Farm", "2.00", "2.00", "0.00", "1"],
                                              ["Alpha Wind", "0.75", "0.00", "0.75", "1"]]
    assert wb.sheetnames == ["Summary", "Hours by project"]
    assert data["parameters"]["member_id"] == "7" and data["parameters"]["group_by"] == "project"
    assert data["summary"]["total_hours"] == "2.75"  # 165 min
    assert "Hours by team member" not in html and "Hours by project" in pdf_text
    assert doc.record_count == 2


def test_empty_month_gives_valid_no_data_files():
    result = timesheet(frame([]), OCT1, OCT31, "all").for_organization(1)
    doc = report.build_document(result, context())
    csv_rows, wb, data, pdf_text, html = read_all(doc)
    assert csv_rows[0][0] == "Team Member" and csv_rows[1:] == [["# No data for this period"]]
    assert wb.sheetnames[0] == "Summary" and wb["Hours by date"].max_row == 1
    assert wb["Summary"]["A2"].value == "No data for this period"
    assert data["rows"] == [] and data["summary"]["total_hours"] == "0.00" and data["summary"]["entry_count"] == 0
    assert data["no_data"] is True
    assert "No data for this period" in html and "<table" not in html and "<svg" not in html
    assert "Timesheet Report" in pdf_text and "No data for this period" in pdf_text
    assert doc.record_count == 0


def test_detail_has_a_subtotal_per_member_in_pdf_and_html_only(entries):
    import re

    result = timesheet(entries, OCT1, OCT31, "all").for_organization(1)
    doc = report.build_document(result, context())
    csv_rows, wb, data, pdf_text, html = read_all(doc)
    detail = html[html.index("table-detail"):]
    subtotals = [re.findall(r"<td[^>]*>(.*?)</td>", cells)
                 for cells in re.findall(r'<tr class="subtotal">(.*?)</tr>', detail, re.S)]
    # date, day, project, total, billable, non-billable, entries; members in the by-member order
    assert subtotals == [
        ["", "", "Member subtotal", "2.75", "2.00", "0.75", "2"],  # Bea: 120 + 45 min; 120 billable, 45 not
        ["", "", "Member subtotal", "2.75", "1.67", "1.08", "2"],  # field.desk: 100 + 65; 100/60 = 1.67, 65/60 = 1.08
        ["", "", "Member subtotal", "0.33", "0.33", "0.00", "1"],  # Al: 20 min billable
    ]
    # each subtotal closes its member's group: after the member's lines, before the next heading
    groups = re.findall(r'<tbody class="group">(.*?)</tbody>', detail, re.S)
    assert [g.count('class="subtotal"') for g in groups] == [1, 1, 1]
    assert all(g.rstrip().endswith("</tr>") and g.rfind("subtotal") > g.rfind("2026-10") for g in groups)
    squeezed = " ".join(pdf_text.split())
    assert squeezed.count("Member subtotal") == 3 and "Member subtotal 2.75 1.67 1.08 2" in squeezed
    # totals unchanged: 350 min = 5.83 h under the detail as before, labelled where the page shows it
    assert data["totals"]["detail"][0]["total_hours"] == "5.83"
    assert "All members 5.83 4.00 1.83 5" in squeezed
    # the flat formats keep one row per detail line, no subtotal rows
    assert len([r for r in csv_rows[1:] if r]) == 5 and "Member subtotal" not in str(csv_rows)
    assert "Member subtotal" not in json.dumps(data)
    sheet = wb["Daily detail by member"]
    assert not any(c.value == "Member subtotal" for row in sheet.iter_rows() for c in row)
