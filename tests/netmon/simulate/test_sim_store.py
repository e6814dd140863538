"""Pure tests of RecordStore (GET / GETNEXT semantics) and of the v2c BER codec pieces."""

from __future__ import annotations

import pytest

from netmon.simulate import snmprec
from netmon.simulate.store import Miss, RecordStore, Served

LINES = [
    "1.3.6.1.2.1.2.2.1.2.10|4|ether10",  # out of order on purpose: 10 sorts after 2 numerically
    "1.3.6.1.2.1.1.1.0|4|box",
    "1.3.6.1.2.1.1.3.0|67:uptime|initial=0",
    "1.3.6.1.2.1.2.2.1.2.2|4|ether2",
    "1.3.6.1.4.1.9.1.1.0|2|1",
]


@pytest.fixture
def store() -> RecordStore:
    return RecordStore(snmprec.parse(LINES), clock=lambda: 1005.0, boot=1000.0)


def test_records_are_ordered_numerically(store: RecordStore) -> None:
    oids = [r.oid_text for r in store.records]
    assert oids.index("1.3.6.1.2.1.2.2.1.2.2") < oids.index("1.3.6.1.2.1.2.2.1.2.10")


def test_get_serves_static_and_moving_values(store: RecordStore) -> None:
    found = store.get((1, 3, 6, 1, 2, 1, 1, 3, 0))
    assert isinstance(found, Served) and found.value == 500


@pytest.mark.parametrize(
    ("oid", "miss"),
    [
        ("1.3.6.1.2.1.1.99.0", Miss.NO_SUCH_OBJECT),
        ("1.3.6.1.2.1.1.1.1", Miss.NO_SUCH_INSTANCE),
        ("1.3.6.1.2.1.1.1", Miss.NO_SUCH_INSTANCE),
        ("1.3.6.1.2.1.2.2.1.2.3", Miss.NO_SUCH_INSTANCE),
        ("1.3.6.1.2.1.2.2.1.7.1", Miss.NO_SUCH_OBJECT),
        ("1.3.6.1.6.3.1.1.4.1.0", Miss.NO_SUCH_OBJECT),
    ],
    ids=["unknown-scalar", "wrong-instance", "object-without-instance", "missing-row", "missing-column",
         "other-subtree"],
)
def test_get_of_missing_oid(store: RecordStore, oid: str, miss: Miss) -> None:
    assert store.get(tuple(int(x) for x in oid.split("."))) is miss


def test_getnext_walks_in_order_and_ends(store: RecordStore) -> None:
    walked = []
    oid: tuple[int, ...] = (1,)
    while isinstance(found := store.next(oid), Served):
        walked.append(found.oid)
        oid = found.oid
    assert walked == [r.oid for r in store.records]
    assert store.next((1, 3, 6, 1, 4, 1, 9, 1, 1, 0)) is Miss.END_OF_MIB_VIEW
    assert store.next((2,)) is Miss.END_OF_MIB_VIEW


def test_getnext_from_between_records(store: RecordStore) -> None:
    found = store.next((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 3))
    assert isinstance(found, Served) and found.value == b"ether10"


def test_absent_rows_are_skipped_by_getnext() -> None:
    lines = ["1.3.6.1.4.1.1.1.1|2:row|peak=10,rank=11,seed=s,value=7", "1.3.6.1.4.1.1.1.2|2|8"]
    store = RecordStore(snmprec.parse(lines), clock=lambda: 0.0)
    found = store.next((1, 3, 6, 1, 4, 1, 1))
    assert isinstance(found, Served) and found.value == 8
    assert store.get((1, 3, 6, 1, 4, 1, 1, 1, 1)) is Miss.NO_SUCH_INSTANCE


def test_reboot_restarts_uptime(store: RecordStore) -> None:
    store.reboot(at=1004.0)
    found = store.get((1, 3, 6, 1, 2, 1, 1, 3, 0))
    assert isinstance(found, Served) and found.value == 100


def test_a_responder_that_reuses_varbinds_answers_each_request_and_moves_on_after_reuse_s() -> None:
    """benchmarks/daemon.py's devices: a request's varbinds made once per `reuse_s` of the store's clock, every
    reply still carrying its own request-id and community."""
    from collectors.snmp.message import decode_response, encode_request
    from netmon.simulate.v2c import V2cResponder

    now = [1005.0]
    clocked = RecordStore(snmprec.parse(LINES), clock=lambda: now[0], boot=1000.0)
    responder = V2cResponder(lambda _community: clocked, reuse_s=1.0)
    uptime, descr = (1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 1, 1, 0)

    def ask(request_id: int, community: bytes) -> list[object]:
        reply = responder.answer(encode_request(request_id, community, "get", [uptime, descr]))
        assert reply is not None and b"\x04" + bytes([len(community)]) + community in reply
        response = decode_response(reply)
        assert response.request_id == request_id
        return [value for _oid, value in response.varbinds]

    assert ask(7, b"a") == [500, b"box"]
    now[0] = 1005.5
    assert ask(8, b"other") == [500, b"box"]  # reused: the same varbinds half a second later
    now[0] = 1006.0
    assert ask(9, b"a") == [600, b"box"]  # made again
