"""The daemon's own metrics and liveness (netmon.daemon_metrics) from fakes of the parts they read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from netmon.daemon_metrics import DaemonMetrics, KeptSamples, MetricSources, polling_alive, state_samples
from netmon.exposition import SampleRun, flat
from netmon.model import Cause, Device, DeviceState, Outage, Owner, Role, Sample, SampleKind, Site, Source, Status
from netmon.outbox import OutboxStats
from netmon.scheduler import SchedulerStats
from netmon.storage import QueueStats

T0 = 1_780_000_000.0
SITE = Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")


def dev(device_id: str, interval_s: float = 60.0) -> Device:
    return Device(device_id, "kim-a", Role.AP, "10.0.0.2", (Source.SNMP,), Owner.PEMDA, interval_s=interval_s)


@dataclass
class FakePoller:
    devices: list[Device]
    stats: SchedulerStats = field(default_factory=SchedulerStats)


@dataclass
class FakeState:
    reboots: dict[str, int]
    states_now: dict[str, DeviceState]
    outages_now: list[Outage]

    def statuses(self) -> dict[str, Status]:
        return {device_id: state.status for device_id, state in self.states_now.items()}

    def open_outages(self) -> list[Outage]:
        return self.outages_now


@dataclass
class FakeOutput:
    stats: OutboxStats


def values(samples: list[Sample | SampleRun]) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.metric, s.labels): s.value for s in flat(samples)}


def test_state_samples_one_series_per_status_outage_and_reboot_count() -> None:
    samples = state_samples({"ap1": Status.DOWN},
                            [Outage("o1", "ap1", "kim-a", T0, Cause.SITE)], {"ap1": 2})
    got = values(samples)
    assert [got[("netmon_device_state", (("device", "ap1"), ("state", s.value)))] for s in Status] == [
        1 if s is Status.DOWN else 0 for s in Status]
    assert got[("netmon_device_outage_active", (("device", "ap1"), ("cause", "site")))] == 1
    assert got[("netmon_device_reboots_total", (("device", "ap1"),))] == 2
    assert next(s for s in flat(samples) if s.metric == "netmon_device_reboots_total").kind is SampleKind.COUNTER


def test_kept_samples_hand_out_the_same_objects_until_something_changes() -> None:
    """The exposition keeps the text of an object handed again: a changed value must come as a new object."""
    kept = KeptSamples()
    up = {"ap1": Status.UP, "ap2": Status.UP}
    first = kept.states(up)
    assert [len(run.samples) for run in first if isinstance(run, SampleRun)] == [len(Status)] * 2
    again = kept.states(dict(up))
    assert again[0] is first[0] and again[1] is first[1]
    down = kept.states({**up, "ap2": Status.DOWN})
    assert down[0] is first[0] and down[1] is not first[1]
    assert values(down)[("netmon_device_state", (("device", "ap2"), ("state", "down")))] == 1
    reboots = kept.reboots({"ap1": 0, "ap2": 1})
    assert kept.reboots({"ap1": 0, "ap2": 1}) is reboots
    assert values(list(kept.reboots({"ap1": 0, "ap2": 2})))[("netmon_device_reboots_total", (("device", "ap2"),))] == 2
    clients = kept.unique_clients({"kim-a": 3, "kim-b": 4})
    later = kept.unique_clients({"kim-a": 3, "kim-b": 5})
    assert later[0] is clients[0] and later[1].value == 5
    sites = {"kim-a": SITE}
    assert kept.sites(sites) is kept.sites(sites) and len(flat(kept.sites(sites))) == 1


def sources(storage: QueueStats | None) -> MetricSources:
    poller = FakePoller([dev("ap1"), dev("ap2")], SchedulerStats(polls_total=7, missed_cycles_total=1, in_flight=2))
    return MetricSources(
        pollers=[poller], sites={"kim-a": SITE}, state=FakeState({"ap1": 0}, {}, []),
        unique_clients=lambda: {"kim-a": 12},
        outputs=lambda: {"notify": FakeOutput(OutboxStats(3, 10, 2, "timeout", False))},
        open_incidents=lambda: 4, storage=lambda: storage)


def test_samples_gather_every_part_and_storage_only_while_attached() -> None:
    got = values(DaemonMetrics(sources(None)).samples())
    assert got[("netmon_scheduler_devices", ())] == 2
    assert got[("netmon_scheduler_polls_total", ())] == 7
    assert got[("netmon_scheduler_polls_in_flight", ())] == 2
    assert got[("netmon_site_unique_clients_today", (("site", "kim-a"),))] == 12
    assert got[("netmon_outbox_pending", (("outbox", "notify"),))] == 3
    assert got[("netmon_outbox_available", (("outbox", "notify"),))] == 0
    assert got[("netmon_outbox_failures_total", (("outbox", "notify"),))] == 2
    assert got[("netmon_incidents_open", ())] == 4
    assert not any(metric.startswith("netmon_storage_") for metric, _ in got)
    with_storage = values(DaemonMetrics(sources(QueueStats(5, 1, 0, 99, 0, None, True))).samples())
    assert with_storage[("netmon_storage_queue_depth", ())] == 5
    assert with_storage[("netmon_storage_records_written_total", ())] == 99


def test_snmpv3_refusals_are_one_counter_by_who_and_why() -> None:
    src = sources(None)
    src = MetricSources(**{**{f: getattr(src, f) for f in src.__dataclass_fields__},
                           "snmpv3_rejected": lambda: {("agent", "wrong_digest"): 2, ("netmon", "unexpected"): 1}})
    got = values(DaemonMetrics(src).samples())
    assert got[("netmon_snmpv3_messages_rejected_total", (("by", "agent"), ("reason", "wrong_digest")))] == 2
    assert got[("netmon_snmpv3_messages_rejected_total", (("by", "netmon"), ("reason", "unexpected")))] == 1
    assert not any(m.startswith("netmon_snmpv3") for m, _ in values(DaemonMetrics(sources(None)).samples()))


@pytest.mark.parametrize(("last_tick", "now", "alive"), [
    pytest.param(0.0, 100.0 + 2 * 60 + 10 - 0.1, True, id="never-ticked-within-twice-the-interval"),
    pytest.param(0.0, 100.0 + 2 * 60 + 10, False, id="never-ticked-past-it"),
    pytest.param(500.0, 500.0 + 129.9, True, id="ticked-lately"),
    pytest.param(500.0, 500.0 + 130.0, False, id="stalled"),
])
def test_polling_alive_while_every_scheduler_keeps_starting_polls(last_tick: float, now: float,
                                                                   alive: bool) -> None:
    busy = FakePoller([dev("ap1", 60.0), dev("ap2", 30.0)], SchedulerStats(last_tick=last_tick))
    idle = FakePoller([])  # nothing to poll: never stalls
    assert polling_alive([busy, idle], started=100.0, slack_s=10.0, now=lambda: now) is alive


QUIET_SCRAPE = """
import gc
from netmon.daemon_metrics import KeptSamples
from netmon.model import Status
statuses = {f"ap{i:05d}": Status.UP for i in range(5000)}
counts = {f"kim-{i:04d}": i % 7 for i in range(2000)}
kept = KeptSamples()
kept.states(statuses), kept.unique_clients(counts)  # the first scrape makes the samples
collections = []
gc.callbacks.append(lambda phase, info: collections.append(info["generation"]) if phase == "start" else None)
gc.collect()
collections.clear()
gc.set_threshold(1000)
kept.states(statuses), kept.unique_clients(counts)
print(len(collections))
"""


def test_a_scrape_of_unchanged_states_makes_no_object_per_device() -> None:
    """Each tracked object a scrape makes counts towards a garbage collection, which the scrape then pays for:
    at 30,000 devices a tuple per device set off a young collection nearly every scrape. Run apart (no other
    thread allocates meanwhile): 5,000 devices and 2,000 sites again set off none at a threshold of 1,000."""
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", QUIET_SCRAPE], capture_output=True, text=True, check=True,
                         timeout=120, env={**os.environ, "PYTHONPATH": "."}).stdout
    assert out.strip() == "0"
