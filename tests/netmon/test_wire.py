"""The agent wire format (netmon.wire): what an agent encodes, the office decodes to the same PollResult; anything
else is a WireError naming what is wrong, never another exception."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from netmon import wire
from netmon.errors import AuthenticationFailed, CollectorError, DeviceUnreachable, WireError
from netmon.model import DeviceIdentity, PollResult, Sample, SampleKind, Source

RESULT = PollResult(
    device="kim-kotayasa-router", source=Source.ROUTEROS, started_at=1_764_547_200.5, duration_s=0.25,
    samples=(Sample("netmon_device_uptime_seconds", 3600.0),
             Sample("netmon_interface_received_bytes_total", 1.5e9, (("interface", "ether1"),), SampleKind.COUNTER)),
    identity=DeviceIdentity("mikrotik", "MikroTik", "hAP ac2", "7.14", "HG20A1B2C3D"),
    fingerprints=frozenset({"a1b2", "c3d4"}), neighbours=("10.0.0.2",))


def test_a_result_round_trips_with_its_agent_and_sequence() -> None:
    agent, seq, result = wire.decode(wire.encode("kec-sumbang-1", 42, RESULT))
    assert (agent, seq) == ("kec-sumbang-1", 42)
    assert result == RESULT


@pytest.mark.parametrize("error", [DeviceUnreachable("no answer in 2.0 s"), AuthenticationFailed("login refused"),
                                   CollectorError("odd")])
def test_an_error_keeps_its_class_and_message(error: CollectorError) -> None:
    failed = PollResult("kim-x-ap", Source.SNMP, 1.0, 2.0, error=error, neighbours=None)
    _a, _s, result = wire.decode(wire.encode("a", 1, failed))
    assert type(result.error) is type(error) and str(result.error) == str(error)
    assert result.error is not None and result.error.reason == error.reason


def test_an_unknown_error_class_is_a_collector_error() -> None:
    body = json.loads(wire.encode("a", 1, PollResult("d", Source.SNMP, 1.0, 1.0, error=DeviceUnreachable("x"))))
    body["result"]["error"]["class"] = "SomethingNew"
    _a, _s, result = wire.decode(json.dumps(body).encode())
    assert type(result.error) is CollectorError


@pytest.mark.parametrize(("change", "words"), [
    (lambda b: b.update(v=2), "unsupported wire version 2"),
    (lambda b: b.update(seq=0), "seq a positive integer"),
    (lambda b: b.update(agent=""), "agent must be a non-empty string"),
    (lambda b: b["result"].pop("device"), "not an agent message: KeyError"),
    (lambda b: b["result"].update(source="telnet"), "not an agent message: ValueError"),
    (lambda b: b["result"]["samples"].append(["m", 1.0, [[1, "x"]], "gauge"]), "expected a string, got int"),
])
def test_a_malformed_message_is_a_wire_error_naming_what(change: object, words: str) -> None:
    body = json.loads(wire.encode("a", 1, RESULT))
    change(body)  # type: ignore[operator]
    with pytest.raises(WireError, match=words):
        wire.decode(json.dumps(body).encode())


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_random_bytes_are_a_wire_error_or_a_message(payload: bytes) -> None:
    with contextlib.suppress(WireError):
        wire.decode(payload)


@settings(derandomize=True, database=None, max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                                 max_size=4), max_leaves=12),
       st.sampled_from(["result", "samples", "error", "identity"]))
def test_random_json_in_any_field_is_a_wire_error_or_a_message(junk: object, where: str) -> None:
    body = json.loads(wire.encode("a", 1, RESULT))
    if where == "result":
        body["result"] = junk
    else:
        body["result"][where] = junk
    with contextlib.suppress(WireError):
        wire.decode(json.dumps(body).encode())
