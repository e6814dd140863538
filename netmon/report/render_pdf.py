"""HTML to PDF through WeasyPrint (the only module importing it). Fonts come from the system (fontconfig:
DejaVu Sans on Debian, package fonts-dejavu-core); WeasyPrint needs Pango (libpango-1.0-0, libpangoft2-1.0-0)."""

from __future__ import annotations

import logging
from pathlib import Path

import weasyprint

for _name in ("weasyprint", "fontTools"):  # layout chatter (unsupported CSS hints, font subsetting) is not ours
    logging.getLogger(_name).setLevel(logging.ERROR)


def write_pdf(html: str, path: Path) -> Path:
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
    return path
