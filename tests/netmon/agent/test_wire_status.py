"""The agent status message (netmon.wire.AgentStatus): what the agent encodes, the office decodes to the same
record; the exact JSON of the contract; anything else a WireError."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from netmon import wire
from netmon.errors import WireError

STATUS = wire.AgentStatus(
    agent="kec-sumbang-1", at=1_764_547_260.0, online=True, last_seq=1234, backlog_depth=3,
    backlog_oldest_at=1_764_547_080.5,
    dropped=(wire.DroppedRange(1, 40, 1_764_000_000.0, 1_764_002_340.0, 40),))


def test_a_status_round_trips() -> None:
    assert wire.decode_status(wire.encode_status(STATUS)) == STATUS


def test_the_status_json_is_the_contracts() -> None:
    assert json.loads(wire.encode_status(STATUS)) == {
        "v": 1, "agent": "kec-sumbang-1", "at": 1_764_547_260.0, "online": True, "last_seq": 1234,
        "backlog": {"depth": 3, "oldest_at": 1_764_547_080.5},
        "dropped": [{"from_seq": 1, "to_seq": 40, "from_at": 1_764_000_000.0, "to_at": 1_764_002_340.0,
                     "count": 40}]}
    assert wire.status_topic("netmon", "kec-sumbang-1") == "netmon/agent/kec-sumbang-1/status"


def test_an_empty_backlog_has_no_oldest_time() -> None:
    empty = wire.AgentStatus("a", 1.0, False, 0, 0, None)
    assert wire.decode_status(wire.encode_status(empty)) == empty


@pytest.mark.parametrize("payload", [
    b"", b"[]", b'{"v": 2}', b'{"v": 1, "agent": "", "online": true}',
    b'{"v": 1, "agent": "a", "at": 1, "online": "yes", "last_seq": 1, "backlog": {"depth": 0, "oldest_at": null},'
    b' "dropped": []}',
    b'{"v": 1, "agent": "a", "at": 1, "online": true, "last_seq": -1, "backlog": {"depth": 0, "oldest_at": null},'
    b' "dropped": []}',
    b'{"v": 1, "agent": "a", "at": 1, "online": true, "last_seq": 1, "backlog": {"depth": 0}, "dropped": []}',
    b'{"v": 1, "agent": "a", "at": 1, "online": true, "last_seq": 1, "backlog": {"depth": 0, "oldest_at": null},'
    b' "dropped": [{"from_seq": 1}]}',
], ids=["empty", "list", "version", "no-agent", "online-text", "negative-seq", "no-oldest", "short-range"])
def test_anything_else_is_a_wire_error(payload: bytes) -> None:
    with pytest.raises(WireError):
        wire.decode_status(payload)


@given(st.binary(max_size=200))
def test_no_bytes_raise_anything_but_a_wire_error(payload: bytes) -> None:
    with contextlib.suppress(WireError):
        wire.decode_status(payload)
