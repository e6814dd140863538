"""ResultPipeline: a result is screened once, then reaches every consumer, in order, as screened."""

from __future__ import annotations

from collections.abc import Iterable

from netmon.model import Device, Owner, PollResult, Role, Sample, Source
from netmon.pipeline import ResultPipeline, client_counter

T0 = 1_780_000_000.0


def test_the_screened_result_reaches_each_consumer_in_order() -> None:
    seen: list[tuple[str, tuple[Sample, ...]]] = []
    raw = PollResult("ap1", Source.SNMP, T0, 0.1, (Sample("netmon_wifi_clients", 5), Sample("bogus", -1)))

    def screen(result: PollResult) -> PollResult:
        seen.append(("screen", result.samples))
        return PollResult(result.device, result.source, result.started_at, result.duration_s, result.samples[:1])

    pipeline = ResultPipeline(screen, [lambda r: seen.append(("latest", r.samples)),
                                       lambda r: seen.append(("state", r.samples)),
                                       lambda r: seen.append(("alerts", r.samples))])
    pipeline(raw)
    kept = (Sample("netmon_wifi_clients", 5),)
    assert seen == [("screen", raw.samples), ("latest", kept), ("state", kept), ("alerts", kept)]


def test_client_fingerprints_count_for_the_site_of_an_inventory_device() -> None:
    added: list[tuple[str, set[str]]] = []

    def add(site: str, fingerprints: Iterable[str]) -> None:
        added.append((site, set(fingerprints)))

    devices = {"ap1": Device("ap1", "kim-a", Role.AP, "10.0.0.2", (Source.ROUTEROS,), Owner.PEMDA)}
    count = client_counter(add, devices)
    count(PollResult("ap1", Source.ROUTEROS, T0, 0.1, fingerprints=frozenset({"d1:aa", "d1:bb"})))
    count(PollResult("ap1", Source.ROUTEROS, T0, 0.1))  # none seen
    count(PollResult("gone", Source.ROUTEROS, T0, 0.1, fingerprints=frozenset({"d1:cc"})))  # not in the inventory
    assert added == [("kim-a", {"d1:aa", "d1:bb"})]
