"""Fault modes shared by the SNMP and RouterOS simulators (`netmon simulate ...`: `fault ID MODE`)."""

from __future__ import annotations

from enum import StrEnum


class Fault(StrEnum):
    """What a simulated device does wrong.

    - `normal`: answers as recorded / specified;
    - `silent`: never answers (SNMP: every request dropped; API: accepts the connection, reads, never answers);
    - `hang`: the same as `silent` (the API simulator's older name for it);
    - `garbage`: answers with random bytes (API: then closes the connection);
    - `drop`: a flaky link (SNMP: every second request gets no answer; API: logs in, then closes the
      connection halfway through the first reply).
    """

    NORMAL = "normal"
    SILENT = "silent"
    HANG = "hang"
    GARBAGE = "garbage"
    DROP = "drop"


FAULTS = tuple(f.value for f in Fault)


def parse_fault(text: str) -> Fault:
    """The fault named `text`; ValueError naming the modes otherwise."""
    try:
        return Fault(text)
    except ValueError:
        raise ValueError(f"unknown fault {text!r} (one of {', '.join(FAULTS)})") from None
