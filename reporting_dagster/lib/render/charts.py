"""Bar charts as inline SVG strings (for the PDF and HTML templates).

One group per series (e.g. per currency), each with its own scale: bars of different series are
never compared or summed. Negative values extend left (horizontal) or down (vertical) from a zero
axis. Every piece of text is XML-escaped; the only non-text inputs (colours) are validated.
"""

from __future__ import annotations

from decimal import Decimal

from markupsafe import escape

from reporting_dagster.lib.render.document import Bar, Chart
from reporting_dagster.lib.render.values import display_money, safe_color, text, to_decimal, truncate

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
NEGATIVE_COLOR = "#C0392B"
AXIS_COLOR = "#6B7280"
TEXT_COLOR = "#1F2937"
MUTED_COLOR = "#6B7280"


def _esc(value: str) -> str:
    return str(escape(value))


def _n(x: float) -> str:
    """Coordinates with one decimal, no trailing zeros (stable text for reproducible files)."""
    s = f"{x:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _groups(chart: Chart, max_bars: int) -> list[tuple[str, list[Bar], int]]:
    """(series, bars to draw, bars left out) in first-appearance order of the series."""
    by_series: dict[str, list[Bar]] = {}
    for bar in chart.bars:
        value = to_decimal(bar.value)
        if value is None or not value.is_finite():
            continue
        if value is not bar.value:
            bar = Bar(bar.label, value, bar.series)
        by_series.setdefault(bar.series or "", []).append(bar)
    out = []
    for series, bars in by_series.items():
        hidden = 0
        if len(bars) > max_bars:
            keep = sorted(range(len(bars)), key=lambda i: (-abs(Decimal(bars[i].value)), i))[:max_bars]
            hidden = len(bars) - max_bars
            bars = [bars[i] for i in sorted(keep)]
        out.append((series, bars, hidden))
    return out


def _scale(bars: list[Bar]) -> tuple[float, float]:
    values = [float(b.value) for b in bars]
    lo, hi = min(0.0, *values), max(0.0, *values)
    return lo, (hi - lo) or 1.0


def chart_svg(
    chart: Chart,
    *,
    color: str = "#1F4E79",
    negative_color: str = NEGATIVE_COLOR,
    orientation: str = "horizontal",
    width: int = 1000,
    max_bars: int = 12,
) -> str:
    """The whole chart as one `<svg>` element, a heading per series (empty string: no bars)."""
    groups = _groups(chart, max_bars)
    if not groups:
        return ""
    draw = _vertical if orientation == "vertical" else _horizontal
    heads = len(groups) > 1 or any(series for series, _, _ in groups)
    return draw(chart.title, groups, safe_color(color), safe_color(negative_color, NEGATIVE_COLOR), width, heads)


def series_svgs(
    chart: Chart,
    *,
    color: str = "#1F4E79",
    negative_color: str = NEGATIVE_COLOR,
    orientation: str = "horizontal",
    width: int = 1000,
    max_bars: int = 12,
) -> list[tuple[str, str]]:
    """One `(series, <svg>)` panel per series, each with its own scale and no heading (the page
    places the series name), so that panels can sit side by side and break across pages."""
    draw = _vertical if orientation == "vertical" else _horizontal
    color, negative_color = safe_color(color), safe_color(negative_color, NEGATIVE_COLOR)
    return [
        (series, draw(f"{chart.title} {series}".strip(), [(series, bars, hidden)], color, negative_color, width, False))
        for series, bars, hidden in _groups(chart, max_bars)
    ]


def _svg(width: int, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" width="{width}" '
        f'height="{_n(height)}" viewBox="0 0 {width} {_n(height)}" font-family="{FONT}" font-size="11">'
        f"<title>{_esc(title)}</title>" + "".join(body) + "</svg>"
    )


def _head(y: float, series: str) -> str:
    return (f'<text x="0" y="{_n(y + 14)}" font-weight="bold" fill="{TEXT_COLOR}">'
            f"{_esc(truncate(text(series) or 'Other', 40))}</text>")


def _hidden_note(hidden: int, shown: int) -> str:
    return _esc(f"Showing the {shown} largest of {shown + hidden} by size")


def _horizontal(title: str, groups, color: str, negative_color: str, width: int, show_heads: bool) -> str:
    row_h, bar_h, head_h = 17.0, 11.0, 22.0
    label_w, value_w, gap = round(width * 0.3), 100.0, 10.0
    area_x = label_w + gap
    area_w = width - label_w - value_w - 2 * gap
    label_chars = max(int(label_w / 6.6), 8)
    body: list[str] = []
    y = 2.0
    for series, bars, hidden in groups:
        if show_heads:
            body.append(_head(y, series))
            y += head_h
        lo, span = _scale(bars)
        zero_x = area_x + (0.0 - lo) / span * area_w
        top = y
        for bar in bars:
            v = float(bar.value)
            x = area_x + (min(v, 0.0) - lo) / span * area_w
            w = abs(v) / span * area_w
            cy = y + row_h / 2
            fill = negative_color if v < 0 else color
            body.append(f'<text x="{_n(label_w)}" y="{_n(cy + 4)}" text-anchor="end" fill="{TEXT_COLOR}">'
                        f"{_esc(truncate(text(bar.label), label_chars))}</text>")
            body.append(f'<rect x="{_n(x)}" y="{_n(cy - bar_h / 2)}" width="{_n(max(w, 0.8 if v else 0))}" '
                        f'height="{_n(bar_h)}" fill="{fill}"/>')
            body.append(f'<text x="{_n(width)}" y="{_n(cy + 4)}" text-anchor="end" fill="{TEXT_COLOR}">'
                        f"{_esc(display_money(bar.value))}</text>")
            y += row_h
        body.append(f'<line x1="{_n(zero_x)}" y1="{_n(top)}" x2="{_n(zero_x)}" y2="{_n(y)}" '
                    f'stroke="{AXIS_COLOR}" stroke-width="1"/>')
        if hidden:
            body.append(f'<text x="{_n(area_x)}" y="{_n(y + 13)}" fill="{MUTED_COLOR}" font-size="10">'
                        f"{_hidden_note(hidden, len(bars))}</text>")
            y += row_h
        y += 6
    return _svg(width, y, body, title)


def _vertical(title: str, groups, color: str, negative_color: str, width: int, show_heads: bool) -> str:
    plot_h, label_h, value_h, head_h, gap = 160.0, 30.0, 14.0, 22.0, 24.0
    body: list[str] = []
    y = 4.0
    for series, bars, hidden in groups:
        if show_heads:
            body.append(_head(y, series))
            y += head_h
        lo, span = _scale(bars)
        top = y + value_h
        zero_y = top + (span + lo) / span * plot_h  # hi = span + lo
        slot = width / max(len(bars), 1)
        bar_w = max(min(slot * 0.6, 60.0), 2.0)
        chars = max(int(slot / 6.5), 3)
        for i, bar in enumerate(bars):
            v = float(bar.value)
            h = abs(v) / span * plot_h
            cx = slot * i + slot / 2
            ry = zero_y - h if v >= 0 else zero_y
            fill = negative_color if v < 0 else color
            body.append(f'<rect x="{_n(cx - bar_w / 2)}" y="{_n(ry)}" width="{_n(bar_w)}" '
                        f'height="{_n(max(h, 0.8 if v else 0))}" fill="{fill}"/>')
            vy = ry - 3 if v >= 0 else ry + h + 11
            body.append(f'<text x="{_n(cx)}" y="{_n(vy)}" text-anchor="middle" font-size="9" fill="{TEXT_COLOR}">'
                        f"{_esc(display_money(bar.value))}</text>")
            body.append(f'<text x="{_n(cx)}" y="{_n(top + plot_h + value_h + 12)}" text-anchor="middle" '
                        f'font-size="9" fill="{TEXT_COLOR}">{_esc(truncate(text(bar.label), chars))}</text>')
        body.append(f'<line x1="0" y1="{_n(zero_y)}" x2="{width}" y2="{_n(zero_y)}" stroke="{AXIS_COLOR}" '
                    f'stroke-width="1"/>')
        y = top + plot_h + value_h + label_h
        if hidden:
            body.append(f'<text x="0" y="{_n(y)}" fill="{MUTED_COLOR}" font-size="10">'
                        f"{_hidden_note(hidden, len(bars))}</text>")
            y += 14
        y += gap / 2
    return _svg(width, y, body, title)
