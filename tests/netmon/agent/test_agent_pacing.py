"""How a site agent paces itself (netmon.agent.pacing): jittered reconnects, and a backlog sent at most
`send_rate_per_s` results a second, to a real Mosquitto (the test's own), with the clock and the sleeps injected
so that the pauses are exact."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path

import pytest
from agent_peer import Mosquitto, wait_for
from test_agent_outbox import Clock, result

from netmon.agent.outbox import ResultOutbox
from netmon.agent.pacing import Pacing
from netmon.agent.runner import AgentLink, AgentSender
from netmon.mqtt import BrokerSettings

pytestmark = pytest.mark.integration

STATUS_EVERY_S = 3600.0


def test_backoff_is_full_jitter_under_a_doubling_ceiling_and_the_boot_delay_is_bounded() -> None:
    pacing = Pacing(boot_delay_max_s=120, initial_s=2, max_s=300, rng=random.Random(15))
    for attempt, ceiling in ((1, 2), (2, 4), (3, 8), (8, 256), (9, 300), (60, 300)):
        draws = [pacing.backoff(attempt) for _ in range(200)]
        assert all(0 <= d <= ceiling for d in draws) and max(draws) > ceiling / 2
    assert all(0 <= pacing.boot_delay() <= 120 for _ in range(100))


def test_the_send_pace_is_a_seconds_worth_at_a_time_then_the_rest_of_the_second() -> None:
    pacing = Pacing(send_rate_per_s=20)
    assert pacing.batch(100) == 20 and Pacing(send_rate_per_s=500).batch(100) == 100
    assert Pacing(send_rate_per_s=0.5).batch(100) == 1
    assert pacing.send_pause(20, 0.25) == 0.75 and pacing.send_pause(20, 1.5) == 0.0
    assert pacing.send_pause(5, 0.0) == 0.25


async def test_a_backlog_goes_to_the_broker_at_the_configured_pace(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    try:
        outbox = ResultOutbox(tmp_path / "o.sqlite", "kec-pace", clock=Clock())
        for n in range(45):
            outbox.put(result(n))
        pauses: list[float] = []

        async def sleep(seconds: float) -> None:
            if seconds == STATUS_EVERY_S:
                await asyncio.sleep(seconds)  # the status loop: not what is measured
            else:
                pauses.append(seconds)
                await asyncio.sleep(0)

        sender = AgentSender(outbox, AgentLink(BrokerSettings("127.0.0.1", broker.port, "kec-pace", timeout_s=5),
                                               status_interval_s=STATUS_EVERY_S),
                             Pacing(boot_delay_max_s=0, send_rate_per_s=20, rng=random.Random(1)),
                             sleep=sleep, clock=lambda: 100.0)  # no time passes while publishing
        task = asyncio.create_task(sender.run())
        try:
            await wait_for(lambda: outbox.depth == 0, "the backlog sent")
            await wait_for(lambda: len(pauses) == 4, "a pause after each batch")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        # the boot delay (0), then 20, 20 and 5 results each followed by the rest of their second at 20/s
        assert pauses == [0.0, 1.0, 1.0, 0.25] and sender.sent_total == 45
    finally:
        broker.stop()
