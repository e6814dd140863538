"""netmon.mqtt against a real Mosquitto: a batch larger than `max_inflight` is published in order without
aiomqtt's "pending publish calls" warning per message (a batch is published at once by design)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from agent_peer import Mosquitto

from netmon.mqtt import BrokerSettings, Outgoing, connect


async def test_a_batch_beyond_max_inflight_is_published_without_a_warning_per_message(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broker = Mosquitto(tmp_path / "broker")
    broker.start()
    try:
        caplog.set_level(logging.WARNING)
        settings = BrokerSettings("127.0.0.1", broker.port, "batch-test", timeout_s=5, max_inflight=10)
        items = [Outgoing(f"netmon/test/{i}", str(i).encode()) for i in range(60)]
        async with connect(settings) as connection:
            assert await connection.publish_in_order(items) == 60
        assert not [r for r in caplog.records if "pending publish" in r.getMessage()]
    finally:
        broker.stop()
