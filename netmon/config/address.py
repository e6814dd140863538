"""What a device `address` may be: an IPv4 or IPv6 address, or a syntactically valid host name (RFC 1123
labels). Checked when the config is read, so a typo fails `check-config` instead of timing out at poll time."""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", re.IGNORECASE)
_NUMERIC = re.compile(r"^[0-9.]+$")


def check_address(value: str) -> str:
    """`value` stripped, or ValueError saying why it is neither an IP address nor a host name."""
    text = value.strip()
    try:
        ipaddress.ip_address(text)
        return text
    except ValueError:
        pass
    if _NUMERIC.match(text):
        raise ValueError(f"{value!r} is not a valid IPv4 address (four numbers 0-255)")
    if ":" in text:
        raise ValueError(f"{value!r} is not a valid IPv6 address")
    name = text[:-1] if text.endswith(".") else text
    if not name or len(name) > 253 or not all(_LABEL.match(label) for label in name.split(".")):
        raise ValueError(f"{value!r} is neither an IP address nor a valid host name (letters, digits and "
                         "hyphens, in dot-separated labels of at most 63 characters)")
    return text
