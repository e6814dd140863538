"""Reachability probe against real peers: loopback, and a test host in a network namespace of our own
whose link we take down (so "answers nothing" is real ICMP silence, not a mock)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator

import pytest
from peers import require

from collectors.ping.collector import PingCollector
from collectors.ping.icmp import IcmpProber
from netmon.model import Device, Owner, Role, Source


def device(address: str) -> Device:
    return Device(id="dev", site="kim-a", role=Role.AP, address=address, sources=(Source.PING,),
                  owner=Owner.PEMDA)


async def test_loopback_answers_with_rtt_and_no_loss() -> None:
    # a timeout a loaded machine never reaches: the answer ends the wait
    result = await PingCollector(IcmpProber(count=2, interval_s=0.05, timeout_s=5)).poll(device("127.0.0.1"))
    assert result.ok, result.error
    values = {s.metric: s.value for s in result.samples}
    assert values["netmon_ping_loss_ratio"] == 0 and 0 < values["netmon_ping_rtt_seconds"] <= 5  # seconds, not ms


class NetnsHost:
    """A veth pair into a fresh network namespace: the far end is a host only this test talks to."""

    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ns, self.host_if, self.peer_if = f"netmon-t{tag}", f"nmh{tag}", f"nmp{tag}"
        self.address = "10.254.77.2"

    def run(self, *args: str) -> None:
        subprocess.run(args, check=True, capture_output=True, timeout=10)

    def up(self) -> None:
        self.run("ip", "netns", "add", self.ns)
        self.run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.peer_if)
        self.run("ip", "link", "set", self.peer_if, "netns", self.ns)
        self.run("ip", "addr", "add", "10.254.77.1/30", "dev", self.host_if)
        self.run("ip", "link", "set", self.host_if, "up")
        self.run("ip", "netns", "exec", self.ns, "ip", "addr", "add", f"{self.address}/30", "dev", self.peer_if)
        self.run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.peer_if, "up")

    def cut(self) -> None:
        self.run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.peer_if, "down")

    def restore(self) -> None:
        self.run("ip", "netns", "exec", self.ns, "ip", "link", "set", self.peer_if, "up")

    def down(self) -> None:
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True, timeout=10)


@pytest.fixture
def test_host() -> Iterator[NetnsHost]:
    require(os.geteuid() == 0 and shutil.which("ip") is not None,
            "needs root and iproute2 to create a network namespace test host")
    host = NetnsHost()
    try:
        host.up()
    except subprocess.CalledProcessError as exc:
        host.down()
        require(False, f"cannot create a network namespace here: {exc.stderr!r}")
    yield host
    host.down()


async def test_a_host_that_stops_answering_is_unreachable(test_host: NetnsHost) -> None:
    alive = await PingCollector(IcmpProber(count=2, interval_s=0.05, timeout_s=5)).poll(device(test_host.address))
    assert alive.ok, alive.error
    test_host.cut()
    # silent: timed out at any speed, so the timeout can be short
    dead = await PingCollector(IcmpProber(count=2, interval_s=0.05, timeout_s=0.5)).poll(device(test_host.address))
    assert dead.error is not None and dead.error.reason == "timeout"
    assert dead.samples == ()


async def test_first_poll_after_the_host_answers_again_succeeds(test_host: NetnsHost) -> None:
    """Ping keeps nothing from a failed probe: however many polls found the host silent, the first one after its
    link is back up answers."""
    collector = PingCollector(IcmpProber(count=2, interval_s=0.05, timeout_s=0.5))
    assert (await collector.poll(device(test_host.address))).ok
    test_host.cut()
    for _ in range(3):
        dead = await collector.poll(device(test_host.address))
        assert dead.error is not None and dead.error.reason == "timeout"
    test_host.restore()
    back = await collector.poll(device(test_host.address))
    assert back.ok, back.error
