"""Bar charts as inline SVG strings (for the PDF and HTML templates).

One group per series (e.g. per currency), each with its own scale: bars of different series are
never compared or summed; series keep the order of the bars (builders give them in the order of
their cards). Negative values (credits) extend left (horizontal) or down (vertical) from a zero
axis, in their own colour and at least MIN_BAR_PX long, so a small credit stays visible.

Labels are never cut to look alike: a label wraps at word boundaries onto MAX_LABEL_LINES lines
measured with the body font's metrics; a longer one is shortened in the middle (its start and its
end stay), and labels that would still read the same get a key ([1], [2]) explained in a legend
under the bars. Every piece of text is XML-escaped; the only non-text inputs (colours) are validated.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from markupsafe import escape

from reporting_dagster.lib.render import font_metrics
from reporting_dagster.lib.render.document import Bar, Chart
from reporting_dagster.lib.render.values import display_money, one_line, safe_color, text, to_decimal, truncate

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
NEGATIVE_COLOR = "#C0392B"
AXIS_COLOR = "#6B7280"
TEXT_COLOR = "#1F2937"
MUTED_COLOR = "#6B7280"
LABEL_FONT = "DejaVu Sans"  # the first family of FONT: label widths are measured in its metrics
MIN_BAR_PX = 3.0  # a non-zero bar is never thinner than this (a small credit next to large fees)
MAX_LABEL_LINES = 2
MAX_LABEL_CHARS = 60  # a longer label is shortened in the middle before it is wrapped
LEGEND_CHARS = 160  # a legend entry shows this much of a label (start and end)
LINE_PX = 11.0  # the distance between two lines of a label


_VARIATION_SELECTORS = dict.fromkeys(range(0xFE00, 0xFE10))  # "☀️": WeasyPrint's SVG text draws U+FE0F as a ◌


def _esc(value: str) -> str:
    """Text for the SVG: XML-escaped, without variation selectors (the symbol before one stays)."""
    return str(escape(str(value).translate(_VARIATION_SELECTORS)))


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


def _char_px(ch: str, face: font_metrics.Face | None, size: float) -> float:
    advance = face.advances.get(ch) if face else None
    if advance is not None:
        return advance / face.units_per_em * size
    return size * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.62)  # a glyph from a fallback font


def text_px(value: str, size: float = 11.0) -> float:
    """The width of `value` in the chart's font at `size` px (fallback glyphs estimated)."""
    face = font_metrics.face(LABEL_FONT)
    return sum(_char_px(ch, face, size) for ch in value)


def shorten(value: str, limit: int) -> str:
    """`value` in at most `limit` characters: its start, "…", its end (names often differ at the end)."""
    if len(value) <= limit:
        return value
    keep = max(limit - 1, 1)
    head = value[: max((keep * 3 + 4) // 5, 1)]
    tail = value[len(value) - (keep - len(head)):] if keep > len(head) else ""
    return head.rstrip() + "…" + tail.lstrip()


def wrap(value: str, width_px: float, size: float = 11.0, max_lines: int = MAX_LABEL_LINES) -> list[str] | None:
    """`value` broken at spaces into lines of at most `width_px` (a word wider than a line is
    broken inside it); None when it needs more than `max_lines` lines."""
    lines: list[str] = []
    current = ""
    for word in value.split():
        candidate = f"{current} {word}" if current else word
        if text_px(candidate, size) <= width_px:
            current = candidate
            continue
        if current:
            lines.append(current)
        while text_px(word, size) > width_px and len(word) > 1:
            cut = 1
            while cut < len(word) and text_px(word[: cut + 1], size) <= width_px:
                cut += 1
            lines.append(word[:cut])
            word = word[cut:]
            if len(lines) > max_lines:
                return None
        current = word
        if len(lines) > max_lines:
            return None
    if current:
        lines.append(current)
    return lines if len(lines) <= max_lines else None


def fit_label(value: str, width_px: float, size: float = 11.0, max_lines: int = MAX_LABEL_LINES,
              limit: int = MAX_LABEL_CHARS) -> list[str]:
    """The lines a label is drawn in: whole when it fits `max_lines` lines, else shortened in the middle."""
    value = one_line(value) or "—"
    n = min(len(value), limit)
    while True:
        lines = wrap(shorten(value, n), width_px, size, max_lines)
        if lines is not None or n <= 2:
            return lines or [shorten(value, 2)]
        n -= max(1, n // 8)


def panel_labels(labels: list[str], width_px: float, size: float = 11.0,
                 max_lines: int = MAX_LABEL_LINES) -> tuple[list[list[str]], list[tuple[str, str]]]:
    """Every bar's label lines, and the legend: different labels that would be drawn alike get
    a key ("[1] …") and a legend entry ("[1]", the label's first LEGEND_CHARS characters)."""
    fitted = [fit_label(label, width_px, size, max_lines) for label in labels]
    shown: dict[str, set[str]] = {}
    for label, lines in zip(labels, fitted):
        shown.setdefault(" ".join(lines), set()).add(one_line(label))
    legend: list[tuple[str, str]] = []
    keys: dict[str, str] = {}
    for i, (label, lines) in enumerate(zip(labels, fitted)):
        full = one_line(label)
        if len(shown[" ".join(lines)]) < 2:
            continue
        if full not in keys:
            keys[full] = f"[{len(keys) + 1}]"
            legend.append((keys[full], shorten(full, LEGEND_CHARS)))
        fitted[i] = fit_label(f"{keys[full]} {full}", width_px, size, max_lines)
    return fitted, legend


def _legend(y: float, width: int, legend: list[tuple[str, str]]) -> tuple[list[str], float]:
    """Legend lines under a panel (each entry wrapped to the chart's width); the new y."""
    body = []
    for key, label in legend:
        for line in fit_label(f"{key} {label}", width, 10.0, 3, LEGEND_CHARS + 6):
            y += 13
            body.append(f'<text x="0" y="{_n(y)}" fill="{MUTED_COLOR}" font-size="10" class="chart-legend">'
                        f"{_esc(line)}</text>")
    return body, y


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
    body: list[str] = []
    y = 2.0
    for series, bars, hidden in groups:
        if show_heads:
            body.append(_head(y, series))
            y += head_h
        lo, span = _scale(bars)
        zero_x = area_x + (0.0 - lo) / span * area_w
        top = y
        labels, legend = panel_labels([text(bar.label) for bar in bars], label_w)
        for bar, lines in zip(bars, labels):
            v = float(bar.value)
            h = row_h + LINE_PX * (len(lines) - 1)
            w = max(abs(v) / span * area_w, MIN_BAR_PX if v else 0.0)
            x = zero_x - w if v < 0 else zero_x
            cy = y + h / 2
            fill = negative_color if v < 0 else color
            first = cy + 4 - LINE_PX * (len(lines) - 1) / 2
            body.append(f'<g class="bar-label"><title>{_esc(shorten(one_line(text(bar.label)), LEGEND_CHARS))}</title>' + "".join(
                f'<text x="{_n(label_w)}" y="{_n(first + LINE_PX * n)}" text-anchor="end" fill="{TEXT_COLOR}">'
                f"{_esc(line)}</text>" for n, line in enumerate(lines)) + "</g>")
            body.append(f'<rect x="{_n(x)}" y="{_n(cy - bar_h / 2)}" width="{_n(w)}" '
                        f'height="{_n(bar_h)}" fill="{fill}"/>')
            body.append(f'<text x="{_n(width)}" y="{_n(cy + 4)}" text-anchor="end" '
                        f'fill="{negative_color if v < 0 else TEXT_COLOR}">{_esc(display_money(bar.value))}</text>')
            y += h
        body.append(f'<line x1="{_n(zero_x)}" y1="{_n(top)}" x2="{_n(zero_x)}" y2="{_n(y)}" '
                    f'stroke="{AXIS_COLOR}" stroke-width="1"/>')
        if hidden:
            body.append(f'<text x="{_n(area_x)}" y="{_n(y + 13)}" fill="{MUTED_COLOR}" font-size="10">'
                        f"{_hidden_note(hidden, len(bars))}</text>")
            y += row_h
        lines_, y = _legend(y, width, legend)
        body.extend(lines_)
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
        labels, legend = panel_labels([text(bar.label) for bar in bars], slot - 4, 9.0)
        for i, (bar, lines) in enumerate(zip(bars, labels)):
            v = float(bar.value)
            h = max(abs(v) / span * plot_h, MIN_BAR_PX if v else 0.0)
            cx = slot * i + slot / 2
            ry = zero_y - h if v >= 0 else zero_y
            fill = negative_color if v < 0 else color
            body.append(f'<rect x="{_n(cx - bar_w / 2)}" y="{_n(ry)}" width="{_n(bar_w)}" '
                        f'height="{_n(h)}" fill="{fill}"/>')
            vy = ry - 3 if v >= 0 else ry + h + 11
            body.append(f'<text x="{_n(cx)}" y="{_n(vy)}" text-anchor="middle" font-size="9" '
                        f'fill="{negative_color if v < 0 else TEXT_COLOR}">{_esc(display_money(bar.value))}</text>')
            body.append(f'<g class="bar-label"><title>{_esc(shorten(one_line(text(bar.label)), LEGEND_CHARS))}</title>' + "".join(
                f'<text x="{_n(cx)}" y="{_n(top + plot_h + value_h + 12 + 10 * n)}" text-anchor="middle" '
                f'font-size="9" fill="{TEXT_COLOR}">{_esc(line)}</text>' for n, line in enumerate(lines)) + "</g>")
        body.append(f'<line x1="0" y1="{_n(zero_y)}" x2="{width}" y2="{_n(zero_y)}" stroke="{AXIS_COLOR}" '
                    f'stroke-width="1"/>')
        y = top + plot_h + value_h + label_h
        if hidden:
            body.append(f'<text x="0" y="{_n(y)}" fill="{MUTED_COLOR}" font-size="10">'
                        f"{_hidden_note(hidden, len(bars))}</text>")
            y += 14
        lines_, y = _legend(y, width, legend)
        body.extend(lines_)
        y += gap / 2
    return _svg(width, y, body, title)
