"""The house rule "each third-party library is imported by exactly one adapter module", checked on the code
(netmon/, collectors/, alerts/) with the ast: a second importer fails here, naming the modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("netmon", "collectors", "alerts")
ADAPTERS = {  # library -> its one adapter module
    "aiomqtt": "netmon/mqtt.py",
    "paho": "netmon/mqtt.py",
    "routeros_api": "collectors/routeros/client.py",
}


def importers(library: str) -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
                if any(n == library or n.startswith(library + ".") for n in names):
                    found.add(path.relative_to(REPO).as_posix())
    return found


@pytest.mark.parametrize("library", sorted(ADAPTERS))
def test_a_library_is_imported_by_its_one_adapter_only(library: str) -> None:
    assert importers(library) <= {ADAPTERS[library]}, f"{library} imported outside {ADAPTERS[library]}"


def test_aiomqtt_has_exactly_one_importer() -> None:
    assert importers("aiomqtt") == {"netmon/mqtt.py"}


def test_cryptography_is_imported_by_the_usm_adapter_and_the_simulator_only() -> None:
    """The poller's SNMPv3 security uses `cryptography` through collectors/snmp/crypto.py alone; the RouterOS
    simulator (a test and demo peer, like pysnmp's agent) makes its TLS certificate with it."""
    assert importers("cryptography") == {"collectors/snmp/crypto.py", "netmon/simulate/routeros/tls.py"}
