"""Rendezvous sharing of devices between live nodes: one owner each, minimal movement, balance, determinism."""

from __future__ import annotations

import collections

import pytest

from netmon.cluster.rendezvous import owner, share, weight

NODES = ("office-a", "office-b", "office-c")
DEVICES = [f"kim-{n:04d}-ap" for n in range(3000)]


def test_every_device_is_polled_by_exactly_one_live_node() -> None:
    shares = {node: share(DEVICES, NODES, node) for node in NODES}
    assert sum(len(s) for s in shares.values()) == len(DEVICES)
    assert set().union(*shares.values()) == set(DEVICES)
    for device in DEVICES[:200]:
        assert device in shares[owner(device, NODES)]


def test_three_nodes_share_three_thousand_devices_within_ten_percent_of_even() -> None:
    counts = collections.Counter(owner(d, NODES) for d in DEVICES)
    assert set(counts) == set(NODES)
    assert all(900 <= n <= 1100 for n in counts.values()), counts


@pytest.mark.parametrize("dead", NODES)
def test_when_a_node_dies_only_its_devices_move(dead: str) -> None:
    before = {d: owner(d, NODES) for d in DEVICES}
    survivors = [n for n in NODES if n != dead]
    after = {d: owner(d, survivors) for d in DEVICES}
    moved = {d for d in DEVICES if before[d] != after[d]}
    assert moved == {d for d in DEVICES if before[d] == dead}
    assert collections.Counter(after[d] for d in moved).keys() == set(survivors)  # spread over both survivors


def test_a_node_that_joins_takes_devices_only_from_the_others_and_about_its_part() -> None:
    before = {d: owner(d, NODES) for d in DEVICES}
    after = {d: owner(d, (*NODES, "office-d")) for d in DEVICES}
    moved = [d for d in DEVICES if before[d] != after[d]]
    assert {after[d] for d in moved} == {"office-d"}
    assert 600 <= len(moved) <= 900  # about a quarter


def test_the_answer_depends_only_on_the_ids_not_their_order_or_the_process() -> None:
    assert share(DEVICES, NODES, "office-b") == share(DEVICES, tuple(reversed(NODES)), "office-b")
    assert owner("kim-0001-ap", ["office-a", "office-b", "office-a"]) == owner("kim-0001-ap", NODES[:2])
    # pinned: BLAKE2b, not Python's per-process salted hash(), and the same in every release: two nodes of
    # different versions during a rolling upgrade must agree on who polls what
    assert weight("office-a", "kim-0001-ap") == PINNED_WEIGHT
    assert [owner(d, NODES) for d in DEVICES[:6]] == ["office-a", "office-a", "office-c", "office-c", "office-a",
                                                     "office-c"]


PINNED_WEIGHT = 7818829513771280134


def test_a_node_asking_counts_itself_live_and_nobody_owns_without_nodes() -> None:
    assert share(DEVICES[:10], [], "office-a") == frozenset(DEVICES[:10])
    with pytest.raises(ValueError, match="no live node"):
        owner("kim-0001-ap", [])


def test_ids_are_length_prefixed_so_concatenations_differ() -> None:
    assert weight("ab", "c") != weight("a", "bc")
