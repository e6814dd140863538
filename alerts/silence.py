"""Silences: an operator mutes a rule, a subject or both until a time. A silenced alert opens no incident
(so no ticket and no message); if it is still firing when the silence ends, its incident opens then."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Silence:
    until: float  # unix time
    rule: str | None = None  # None: every rule
    subject: str | None = None  # None: every subject; a device id also covers its interfaces ("dev/ether1")
    created_by: str = ""
    comment: str = ""

    def matches(self, rule: str, subject: str, at: float) -> bool:
        if at >= self.until:
            return False
        if self.rule is not None and self.rule != rule:
            return False
        return self.subject is None or subject == self.subject or subject.startswith(self.subject + "/")


def silenced(silences: Iterable[Silence], rule: str, subject: str, at: float) -> bool:
    return any(s.matches(rule, subject, at) for s in silences)
