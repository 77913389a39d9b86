"""Charts that read: distinct labels, credits below (left of) the axis in their own colour, and
panels in the order of the cards. The SVG is parsed back as XML and its geometry checked."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from decimal import Decimal as D

import pytest
from pypdf import PdfReader

from reporting_dagster.lib import render
from reporting_dagster.lib.documents.reports import project_profitability as profitability_report
from reporting_dagster.lib.render import charts
from reporting_dagster.lib.render.document import Bar, Chart
from reporting_dagster.lib.rules.profitability import profitability
from tests.test_profitability import customers, entries  # noqa: F401 - fixtures
from tests.test_timesheet import OCT1, OCT31, context

SVG = "{http://www.w3.org/2000/svg}"
BRAND = "#1F4E79"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def labels(svg: str) -> list[str]:
    """Each bar's label as drawn: its lines joined by a space."""
    return [" ".join(t.text or "" for t in g.iter(f"{SVG}text"))
            for g in parse(svg).iter(f"{SVG}g") if g.get("class") == "bar-label"]


def legend(svg: str) -> list[str]:
    return [t.text or "" for t in parse(svg).iter(f"{SVG}text") if t.get("class") == "chart-legend"]


def rects(svg: str) -> list[dict[str, str]]:
    return [r.attrib for r in parse(svg).iter(f"{SVG}rect")]


def axis_x(svg: str) -> float:
    (line,) = [ln for ln in parse(svg).iter(f"{SVG}line")]
    assert line.get("x1") == line.get("x2")  # the vertical zero axis
    return float(line.get("x1"))


def one_panel(*bars: Bar, width: int = 620) -> str:
    ((_, svg),) = charts.series_svgs(Chart("t", bars), color=BRAND, width=width)
    return svg


LONG = "Power Purchase Agreement Karoo Solar Phase One with Eskom Holdings SOC Limited"


def test_long_names_that_differ_at_the_end_stay_apart_without_a_legend():
    a, b = f"{LONG} — North Block", f"{LONG} — South Block"  # same first 79 characters
    svg = one_panel(Bar(a, D("10")), Bar(b, D("20")))
    shown = labels(svg)
    assert len(shown) == 2 and shown[0] != shown[1]
    assert shown[0].endswith("North Block") and shown[1].endswith("South Block")  # the ends are kept
    assert all("…" in s for s in shown) and legend(svg) == []


def test_names_that_differ_in_the_middle_get_keys_and_a_legend():
    head, tail = "Operations and maintenance agreement for the", "wind farm, including all balance of plant"
    a, b = f"{head} Noord-Kaap {tail}", f"{head} Oos-Kaap {tail}"  # alike at both ends
    svg = one_panel(Bar(a, D("10")), Bar(b, D("20")))
    shown = labels(svg)
    assert shown[0].startswith("[1] ") and shown[1].startswith("[2] ") and shown[0] != shown[1]
    entries_ = " ".join(legend(svg))
    assert "[1]" in entries_ and "[2]" in entries_ and "Noord-Kaap" in entries_ and "Oos-Kaap" in entries_


def test_a_name_that_fits_two_lines_is_drawn_whole_on_two_lines():
    name = "Karoo Solar O&M agreement 2026"
    svg = one_panel(Bar(name, D("5")), width=400)  # label column 120 px; the name is 189 px: two lines
    (group,) = [g for g in parse(svg).iter(f"{SVG}g") if g.get("class") == "bar-label"]
    lines = [t.text for t in group.iter(f"{SVG}text")]
    assert len(lines) == 2 and " ".join(lines) == name and "…" not in name
    assert group.find(f"{SVG}title").text == name  # the full name as a tooltip


def test_a_huge_label_stays_bounded():
    svg = one_panel(Bar("x" * 256_000, D("1")), width=1000)
    assert len(svg) < 3000 and svg.count("x") < 2 * charts.MAX_LABEL_CHARS + charts.LEGEND_CHARS


def test_cjk_labels_are_measured_wide_and_stay_distinct():
    a, b = "東京電力パワーグリッド株式会社 太陽光発電所 第一期 長期契約", "東京電力パワーグリッド株式会社 太陽光発電所 第二期 長期契約"
    shown = labels(one_panel(Bar(a, D("1")), Bar(b, D("2"))))
    assert shown[0] != shown[1]


def test_a_credit_is_drawn_left_of_the_axis_in_its_own_colour_and_stays_visible():
    svg = one_panel(Bar("O&M fee", D("100000.00")), Bar("LD credit", D("-5.00")))
    fee, credit = rects(svg)
    zero = axis_x(svg)
    # the credit ends at the zero axis and extends to the left of it: negative extent
    assert float(credit["x"]) < zero and float(credit["x"]) + float(credit["width"]) == pytest.approx(zero, abs=0.1)
    assert float(fee["x"]) == pytest.approx(zero, abs=0.1)
    # 5 / 100,005 of the plot would be 0.02 px: drawn at least MIN_BAR_PX wide
    assert float(credit["width"]) >= charts.MIN_BAR_PX
    assert credit["fill"] == charts.NEGATIVE_COLOR != fee["fill"] == BRAND
    values = {t.text: t.get("fill") for t in parse(svg).iter(f"{SVG}text") if t.text and t.text[-3:-2] == "."}
    assert values["-5.00"] == charts.NEGATIVE_COLOR  # its value in the credit colour too


def test_vertical_bars_put_a_credit_below_the_axis():
    svg = charts.chart_svg(Chart("t", (Bar("fee", D("50")), Bar("credit", D("-20")))), orientation="vertical")
    fee, credit = rects(svg)
    (axis,) = list(parse(svg).iter(f"{SVG}line"))
    zero = float(axis.get("y1"))
    assert float(credit["y"]) == pytest.approx(zero, abs=0.1) and float(credit["height"]) > 0  # starts at, goes down
    assert float(fee["y"]) + float(fee["height"]) == pytest.approx(zero, abs=0.1)  # ends at the axis from above
    assert credit["fill"] == charts.NEGATIVE_COLOR


def test_a_credit_chart_reads_back_from_the_pdf():
    from tests.test_render_formats import make_document  # a comparison document with a chart

    doc = make_document()
    doc.charts = [Chart("Amount by line type", (Bar("Energy", D("1200.00"), "ZAR"), Bar("LD credit", D("-150.00"), "ZAR")))]
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(render.render(doc, "pdf"))).pages)
    assert "LD credit" in text and "-150.00" in text


def test_profitability_panels_follow_the_cards(entries, customers):  # noqa: F811 - fixtures
    result = profitability(entries, customers, OCT1, OCT31).for_organization(1)
    doc = profitability_report.build_document(result, context())
    cards = [c.title.split(" · ")[0] for c in doc.cards if " · " in c.title]
    series = list(dict.fromkeys(bar.series for bar in doc.charts[0].bars))
    assert series == cards == ["EUR", "USD", "ZAR"]  # the rows start with USD (Cross Farm); cards are sorted
    html = render.render(doc, "html").decode()
    assert html.index("<h3>EUR</h3>") < html.index("<h3>USD</h3>") < html.index("<h3>ZAR</h3>")


def test_an_emoji_variation_selector_is_not_drawn_as_a_dotted_circle():
    """The demo's "東京 Bay Floating PV ☀️": U+FE0F (emoji presentation) would be drawn as ◌ by
    WeasyPrint's SVG text; the chart keeps the sun and drops the selector, in labels and titles."""
    svg = charts.chart_svg(Chart("Variance", [Bar("東京 Bay Floating PV ☀\ufe0f, Block 7", D("250.00"), "USD")]))
    assert "\ufe0f" not in svg and "☀" in svg
