"""Charts as SVG text (pure, hand-written: no plotting library). Deterministic: the same figures give the same
bytes. Labels come formatted by the caller (`Language`), so the charts read in the report's language."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from xml.sax.saxutils import escape

FONT = "DejaVu Sans, sans-serif"
GOOD, FAIR, POOR, NONE, BAR = "#2e7d32", "#f9a825", "#c62828", "#bdbdbd", "#1565c0"


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" font-size="9">'
            f'<title>{escape(title)}</title>' + "".join(body) + "</svg>")


def _colour(ratio: float | None) -> str:
    if ratio is None:
        return NONE
    return GOOD if ratio >= 0.99 else FAIR if ratio >= 0.95 else POOR


def availability_bars(items: Sequence[tuple[str, float | None]], label: Callable[[float | None], str],
                      title: str, width: float = 960.0) -> str:
    """Horizontal bars from 0 to 100 %, one per (name, ratio); green from 99 %, amber from 95 %, red below,
    grey for no data. `label` formats the value shown at the bar's end."""
    row, left, right, top = 16.0, 170.0, 60.0, 22.0
    plot = width - left - right
    height = top + row * max(len(items), 1) + 22
    body = [f'<text x="0" y="12" font-size="11" font-weight="bold">{escape(title)}</text>']
    for tick in range(0, 101, 25):
        x = left + plot * tick / 100
        body.append(f'<line x1="{x:.1f}" y1="{top - 2:.1f}" x2="{x:.1f}" y2="{height - 18:.1f}" stroke="#e0e0e0"/>')
        body.append(f'<text x="{x:.1f}" y="{height - 6:.1f}" text-anchor="middle" fill="#616161">{tick}</text>')
    for i, (name, ratio) in enumerate(items):
        y = top + i * row
        bar = plot * max(0.0, min(1.0, ratio or 0.0))
        body.append(f'<text x="{left - 6:.1f}" y="{y + 11:.1f}" text-anchor="end">{escape(name)}</text>')
        body.append(f'<rect x="{left:.1f}" y="{y + 2:.1f}" width="{bar:.1f}" height="{row - 5:.1f}" '
                    f'fill="{_colour(ratio)}"/>')
        body.append(f'<text x="{left + bar + 4:.1f}" y="{y + 11:.1f}">{escape(label(ratio))}</text>')
    return _svg(width, height, body, title)


def day_bars(items: Sequence[tuple[str, float]], title: str, value_label: Callable[[float], str],
             width: float = 960.0, height: float = 170.0) -> str:
    """Vertical bars, one per day (label, value): the day's number under each bar, the highest value marked on
    the axis."""
    left, bottom, top = 48.0, 18.0, 22.0
    plot_w, plot_h = width - left - 8, height - top - bottom
    peak = max((v for _, v in items), default=0.0)
    body = [f'<text x="0" y="12" font-size="11" font-weight="bold">{escape(title)}</text>',
            f'<line x1="{left}" y1="{top + plot_h:.1f}" x2="{width - 8:.1f}" y2="{top + plot_h:.1f}" '
            'stroke="#616161"/>']
    if peak > 0:
        body.append(f'<text x="{left - 4:.1f}" y="{top + 4:.1f}" text-anchor="end" fill="#616161">'
                    f'{escape(value_label(peak))}</text>')
        body.append(f'<line x1="{left}" y1="{top:.1f}" x2="{width - 8:.1f}" y2="{top:.1f}" stroke="#e0e0e0"/>')
    body.append(f'<text x="{left - 4:.1f}" y="{top + plot_h:.1f}" text-anchor="end" fill="#616161">0</text>')
    step = plot_w / max(len(items), 1)
    for i, (name, value) in enumerate(items):
        h = plot_h * value / peak if peak > 0 else 0.0
        x = left + i * step
        body.append(f'<rect x="{x + step * 0.15:.1f}" y="{top + plot_h - h:.1f}" width="{step * 0.7:.1f}" '
                    f'height="{h:.1f}" fill="{BAR}"/>')
        body.append(f'<text x="{x + step / 2:.1f}" y="{height - 5:.1f}" text-anchor="middle" font-size="7">'
                    f'{escape(name)}</text>')
    return _svg(width, height, body, title)
