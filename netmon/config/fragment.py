"""Writing an inventory fragment: the register entries `netmon assets import` found, as YAML that the main
config takes in with `include:` (see `assets.register` in the loader)."""

from __future__ import annotations

from collections.abc import Mapping

import yaml


def register_fragment(entries: Mapping[str, Mapping[str, str | int]], source: str) -> str:
    header = (f"# KIB B register entries imported by `netmon assets import` from {source}.\n"
              "# Include this file from the main config (include: [this file]). A field given here replaces the\n"
              "# same field of the device's own `asset:`; run the import again rather than editing by hand.\n")
    body = {"assets": {"register": {device: dict(fields) for device, fields in entries.items()}}}
    return header + yaml.safe_dump(body, allow_unicode=True, sort_keys=False, width=120, default_flow_style=False)
