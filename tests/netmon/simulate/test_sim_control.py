"""Every fault mode `netmon simulate` advertises, on both simulators, driven as the CLI's stdin drives them;
and the CLI itself: bad commands answered on stderr without ending the loop, API-SSL with --tls."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from peers import NETMON, REPO

from collectors.snmp import ber
from netmon.simulate.control import SimulatorControl
from netmon.simulate.fault import FAULTS
from netmon.simulate.fleet import SimDevice
from netmon.simulate.routeros import RouterOsSimulator, SimRouter
from netmon.simulate.routeros.wire import SentenceDecoder, encode_sentence
from netmon.simulate.snmp_agent import SnmpSimulator

pytestmark = pytest.mark.integration
GW = "kim-gw"
SILENCE_S = 0.4  # how long "no answer" is waited for


class Peers:
    def __init__(self, snmp: SnmpSimulator, snmp_port: int, api: RouterOsSimulator, api_port: int) -> None:
        self.snmp, self.snmp_port, self.api, self.api_port = snmp, snmp_port, api, api_port
        self.control = SimulatorControl(snmp, [GW], api, [GW])


@pytest.fixture
async def peers(tmp_path: Path) -> AsyncIterator[Peers]:
    data = tmp_path / "gw.snmprec"
    data.write_text("1.3.6.1.2.1.1.1.0|4|RouterOS RBD52G-5HacD2HnD\n1.3.6.1.2.1.1.5.0|4|KIM-GW\n")
    snmp = SnmpSimulator()
    snmp_port = snmp.add(SimDevice(GW, data, community="kim-ro"))
    api = RouterOsSimulator()
    api_port = api.add(SimRouter(GW, "7.16", "netmon", "pw"))
    await snmp.start()
    await api.start()
    yield Peers(snmp, snmp_port, api, api_port)
    await api.stop()
    await snmp.stop()


def _get_sys_descr() -> bytes:
    oid = (1, 3, 6, 1, 2, 1, 1, 1, 0)
    varbind = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OBJECT_IDENTIFIER, ber.oid_body(oid)) + b"\x05\x00")
    pdu = ber.tlv(0xA0, b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + ber.tlv(ber.SEQUENCE, varbind))
    return ber.tlv(ber.SEQUENCE, b"\x02\x01\x01" + ber.tlv(ber.OCTET_STRING, b"kim-ro") + pdu)


async def snmp_answer(port: int) -> bytes | None:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, _get_sys_descr())
        try:
            return await asyncio.wait_for(loop.sock_recv(sock, 4096), SILENCE_S)
        except (TimeoutError, ConnectionRefusedError):  # refused: the ICMP of a closed port
            return None


async def api_exchange(port: int) -> tuple[list[list[str]], bool]:
    """Log in, then print /system/identity: (sentences decoded, whether the connection was closed)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    decoder, sentences, closed = SentenceDecoder(), [], False
    try:
        for words in (["/login", "=name=netmon", "=password=pw"], ["/system/identity/print"]):
            writer.write(encode_sentence(words))
            await writer.drain()
            try:
                chunk = await asyncio.wait_for(reader.read(65536), SILENCE_S)
            except TimeoutError:
                break
            if not chunk:
                closed = True
                break
            try:
                sentences += decoder.feed(chunk)
            except Exception:  # garbage is expected to be undecodable
                sentences.append(["<undecodable>"])
        else:
            with contextlib.suppress(TimeoutError):  # did the router close after its last reply?
                closed = await asyncio.wait_for(reader.read(65536), SILENCE_S) == b""
    finally:
        writer.close()
    return sentences, closed


async def test_every_advertised_fault_mode_works_on_both_simulators(peers: Peers) -> None:
    assert set(FAULTS) == {"normal", "silent", "hang", "garbage", "drop"}
    seen: dict[str, tuple[object, ...]] = {}
    for mode in FAULTS:
        assert await peers.control.handle(f"fault {GW} {mode}") == f"fault {GW} {mode}: done"
        first, second = await snmp_answer(peers.snmp_port), await snmp_answer(peers.snmp_port)
        sentences, closed = await api_exchange(peers.api_port)
        seen[mode] = (first, second, sentences, closed)
    first, second, sentences, closed = seen["normal"]
    assert isinstance(first, bytes) and b"RouterOS RBD52G" in first and second == first
    assert sentences[0] == ["!done"] and ["!re", "=name=MikroTik"] in sentences and not closed
    for mode in ("silent", "hang"):
        assert seen[mode] == (None, None, [], False), mode  # nothing answers
    first, second, sentences, closed = seen["garbage"]
    assert isinstance(first, bytes) and b"RouterOS" not in first
    assert sentences == [["<undecodable>"]] or closed
    first, second, sentences, closed = seen["drop"]
    assert [first, second].count(None) == 1  # every second SNMP request is lost
    assert sentences[0] == ["!done"] and closed  # logged in, then cut off halfway through the reply
    assert ["!re", "=name=MikroTik"] not in sentences


@pytest.mark.parametrize(("line", "message"), [
    (f"fault {GW} bogus", "unknown fault 'bogus'"), ("fault nobody silent", "unknown device 'nobody'"),
    ("frobnicate", "bad command"), (f"stop {GW} now", "bad command"), (f"fault {GW}", "bad command"),
])
async def test_a_bad_command_is_refused_and_changes_nothing(peers: Peers, line: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        await peers.control.handle(line)
    assert await snmp_answer(peers.snmp_port) is not None
    assert (await api_exchange(peers.api_port))[0][0] == ["!done"]


async def test_stop_and_start_act_on_both_sides_of_a_gateway(peers: Peers) -> None:
    assert await peers.control.handle(f"stop {GW}") == f"stop {GW}: done"
    assert await snmp_answer(peers.snmp_port) is None
    with pytest.raises(ConnectionRefusedError):
        await api_exchange(peers.api_port)
    await peers.control.handle(f"start {GW}")
    assert await snmp_answer(peers.snmp_port) is not None
    assert (await api_exchange(peers.api_port))[0][0] == ["!done"]
    assert await peers.control.handle("list") == GW


def _read_until(stream: object, needle: str, deadline: float) -> list[str]:
    lines: list[str] = []
    while time.monotonic() < deadline:
        line = stream.readline()  # type: ignore[attr-defined]
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not seen in: {lines}")


def test_cli_answers_bad_commands_on_stderr_keeps_going_and_serves_api_ssl(tmp_path: Path) -> None:
    config = tmp_path / "sim.yaml"
    proc = subprocess.Popen([*NETMON, "simulate", "routeros", "--tls", "--write-config", str(config)], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "COLUMNS": "200"})
    assert proc.stdin is not None and proc.stderr is not None
    deadline = time.monotonic() + 60
    try:
        started = _read_until(proc.stderr, "serving;", deadline)
        assert sum("API-SSL on tcp" in line for line in started) == 5
        for line in ("fault kim-ketenger-rb951 silent", "fault kim-ketenger-rb951 bogus", "frobnicate",
                     "stop nobody", "fault kim-ketenger-rb951 normal", "list"):
            proc.stdin.write(line + "\n")
        proc.stdin.flush()
        answers = _read_until(proc.stderr, "kim-kotayasa-router", deadline)  # `list` answered: the loop lives
        assert answers[0] == "fault kim-ketenger-rb951 silent: done"
        errors = [line for line in answers if line.startswith("error:")]
        assert len(errors) == 3 and "unknown fault 'bogus'" in errors[0]
        assert "fault kim-ketenger-rb951 normal: done" in answers
        doc = yaml.safe_load(config.read_text())
        options = [d["routeros"] for d in doc["devices"]]
        assert all(o["tls"] is True and Path(o["tls_ca_file"]).is_file() for o in options)
        poll = subprocess.run([*NETMON, "poll", "--config", str(config), "--once", "--format", "prometheus"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert poll.returncode == 0, poll.stderr
        assert poll.stdout.count('source="routeros"} 1.0') == 5  # every router answered over API-SSL
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
