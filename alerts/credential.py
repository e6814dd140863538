"""The `auth_failed` rule: a device refused our credential for one source (pure, no I/O).

A poll whose error is `AuthenticationFailed` (SNMPv3 unknown user or wrong key, a RouterOS API login refused)
makes the rule active for the subject `<device>/<source>` ("kim-ketenger-router/routeros"); the next poll of that
source that succeeds clears it. Any other failure (a timeout, garbage) says nothing about the credential: no
verdict, the alert stays as it is. A wrong SNMPv2c community cannot be told from a timeout (the agent stays
silent), so it raises `device_down`, not this.

The scheduler stops polling that source for a while after the failure (netmon.scheduler.AUTH_BACKOFF_S), so
the alert fires once and stays open until a poll after the fix succeeds. Severity warning, routed like every
device alert (by the device's owner); the incident kind is `metric`.
"""

from __future__ import annotations

from alerts.rules import AUTH_FAILED, Verdict
from netmon.errors import AuthenticationFailed
from netmon.model import PollResult


def credential_subject(device: str, source: str) -> str:
    return f"{device}/{source}"


def credential_verdicts(result: PollResult) -> dict[tuple[str, str], Verdict]:
    """The `auth_failed` verdict of one poll result: active on AuthenticationFailed, inactive on success,
    none otherwise."""
    key = (AUTH_FAILED, credential_subject(result.device, result.source.value))
    labels = (("device", result.device), ("source", result.source.value))
    if result.ok:
        return {key: Verdict(False, labels=labels)}
    if isinstance(result.error, AuthenticationFailed):
        return {key: Verdict(True, summary=str(result.error)[:300], labels=labels)}
    return {}
