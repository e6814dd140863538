"""Routers that push (issue 14, part 4), end to end over real HTTP: the RouterOS simulator plays
deploy/routeros/netmon-push.rsc (netmon.simulate.routeros.push) against the daemon's real web server, push
endpoint and result pipeline (NetmonApp), and /metrics shows for the pushing router the same series, with the
same values, as polling the same simulated router over the API gives. Clocks are injected: the simulator's
and the office's are functions of the test, so nothing waits on the wall clock."""

from __future__ import annotations

import asyncio
import re
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest

from netmon.app import NetmonApp
from netmon.config import load_config
from netmon.config.webconfig import load_web_config
from netmon.exporter import ExporterServer
from netmon.model import Source
from netmon.push.endpoint import PushEndpoint
from netmon.push.watch import PushWatch
from netmon.simulate.routeros import RouterOsSimulator, SimRouter, default_spec
from netmon.simulate.routeros.push import FetchResult, PushScriptRunner, fetch_request, send
from netmon.simulate.routeros.tls import write_certificates

T0 = 1_767_225_600.0 + 13.5 * 3600  # 2026-01-01 20:30 WIB: busy hotspot hour
TOKEN = "0f3c9a7e5d1b24c68e0a9f7d3b5c1e2a4f6d8b0c"
PUSHED = ("netmon_device_uptime_seconds", "netmon_device_cpu_load_ratio", "netmon_device_memory_used_ratio",
          "netmon_device_temperature_celsius", "netmon_device_voltage_volts", "netmon_interface_receive_bytes_total",
          "netmon_interface_transmit_bytes_total", "netmon_interface_up", "netmon_wifi_clients",
          "netmon_hotspot_active_users", "netmon_hotspot_hosts", "netmon_dhcp_leases_active")
LINE = re.compile(r'^(\w+)\{(.*)\} (\S+)$')


@dataclass
class Office:
    app: NetmonApp
    exporter: ExporterServer
    sim: RouterOsSimulator
    runner: PushScriptRunner
    now: list[float]  # [office time]; the simulator's clock is T0 + what the test sets in sim_now
    sim_now: list[float]
    url: str

    async def metrics(self) -> dict[tuple[str, str], float]:
        request = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        result = await send(f"http://127.0.0.1:{self.exporter.port}/metrics", request)
        assert result.status == 200
        out = {}
        for line in result.body.decode().splitlines():
            match = LINE.match(line)
            if match:
                out[(match.group(1), match.group(2))] = float(match.group(3))
        return out

    async def post(self, body: bytes, *, token: str = TOKEN, content_type: str = "application/json",
                   device: str = "gw-push") -> FetchResult:
        url = f"http://127.0.0.1:{self.exporter.port}/push/v1/{device}"
        request = fetch_request(url, token, body, version="7.16")
        if content_type != "application/json":
            request = request.replace(b"Content-Type: application/json", f"Content-Type: {content_type}".encode())
        return await send(url, request)


def _config(tmp: Path, api_port: int, interval_s: int) -> Path:
    path = tmp / "netmon.yaml"
    (tmp / "api.secret").write_text("api-secret\n")
    (tmp / "push.token").write_text(TOKEN + "\n")
    path.write_text(f"""
storage: {{data_dir: {tmp / 'data'}}}
state: {{down_after_failures: 3, down_after_s: 180, up_after_successes: 2}}
credentials:
  api: {{routeros: {{user: netmon, password: {{file: api.secret}}}}}}
sites:
  - {{id: desa, name: Desa, desa: Desa, kecamatan: Kec, kabupaten: Kab}}
devices:
  - {{id: gw-api, site: desa, role: router, address: 127.0.0.1, sources: [routeros], routeros_credential: api,
     routeros: {{port: {api_port}}}, interval_s: {interval_s}}}
  - {{id: gw-push, site: desa, role: router, address: 127.0.0.1, sources: [push], interval_s: {interval_s},
     push: {{token: {{file: push.token}}, tolerance_s: 30, max_skew_s: 300, max_per_minute: 3}}}}
""")
    return path


@pytest.fixture(params=[("6.49.10", False), ("7.16", True)], ids=["routeros-6.49-wireless", "routeros-7.16-wifi"])
async def office(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Office]:
    version, wifi = request.param
    sim_now = [0.0]
    sim = RouterOsSimulator(clock=lambda: T0 + sim_now[0])
    spec = default_spec("kim-desa-router", version, wifi=wifi)
    sim.add(SimRouter("kim-desa-router", version, "netmon", "api-secret", data=spec))
    await sim.start()
    api_port = sim.routers()[0].port
    app = NetmonApp(load_config(_config(tmp_path, api_port, 60)))
    now = [T0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    watch = PushWatch(app.config.devices.values(), app.on_result, started_at=T0, clock=clock)
    endpoint = PushEndpoint(app.config.devices, app.on_result, watch, clock=clock)
    exporter = ExporterServer(app.snapshot, app.healthy, "127.0.0.1", 0, more=[endpoint.route()])
    await exporter.start()
    url = f"http://127.0.0.1:{exporter.port}/push/v1/gw-push"
    runner = PushScriptRunner(sim.data("kim-desa-router"), url, TOKEN)
    office = Office(app, exporter, sim, runner, now, sim_now, url)
    office.watch = watch  # type: ignore[attr-defined]
    try:
        yield office
    finally:
        await exporter.stop()
        await app.close()
        await sim.stop()


def _of(metrics: dict[tuple[str, str], float], device: str) -> dict[tuple[str, str], float]:
    """The device's series of the pushed metrics, keyed without the device label."""
    out = {}
    for (name, labels), value in metrics.items():
        if name in PUSHED and f'device="{device}"' in labels:
            out[(name, labels.replace(f'device="{device}"', "").strip(","))] = value
    return out


def _state(metrics: dict[tuple[str, str], float], device: str) -> str:
    return next(labels.split('state="')[1].split('"')[0] for (name, labels), v in metrics.items()
                if name == "netmon_device_state" and f'device="{device}"' in labels and v == 1)


async def test_a_push_gives_the_same_series_and_values_as_polling_the_api(office: Office) -> None:
    await office.app.poll_once(["gw-api"])
    result = await office.runner.push(T0)
    assert result.status == 200, result.body
    metrics = await office.metrics()
    api, push = _of(metrics, "gw-api"), _of(metrics, "gw-push")
    assert {name for name, _ in api} == set(PUSHED)
    assert push == api
    assert metrics[("netmon_device_up", 'device="gw-push",site="desa",source="push"')] == 1
    info = {labels.split('device="')[1].split('"')[0]: re.sub(r'device="[^"]*",?', "", labels)
            for (name, labels) in metrics if name == "netmon_device_info"}
    assert info["gw-push"] == info["gw-api"]
    assert _state(metrics, "gw-push") == "up"


async def test_a_wrong_or_missing_token_is_refused_and_changes_nothing(office: Office) -> None:
    body = office.runner.request(T0).split(b"\r\n\r\n", 1)[1]
    for token, device in (("0" * 40, "gw-push"), ("", "gw-push"), (TOKEN, "gw-api"), (TOKEN, "no-such")):
        refused = await office.post(body, token=token, device=device)
        assert refused.status == 401, (token, device)
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert not [k for k in await office.metrics() if 'device="gw-push"' in k[1] and k[0] == "netmon_device_up"]


async def test_pushes_beyond_the_rate_limit_are_answered_429_with_retry_after(office: Office) -> None:
    for _ in range(3):  # max_per_minute: 3
        assert (await office.runner.push(T0)).status == 200
    over = await office.runner.push(T0)
    assert over.status == 429
    assert over.headers["retry-after"] == "20"  # one push every 20 s refills
    office.now[0] += 20
    assert (await office.runner.push(T0 + 20)).status == 200


@pytest.mark.parametrize("mangle, field", [
    (lambda b: b[:-1], "body: not JSON"),
    (lambda b: b.replace(b'"v":1', b'"v":2'), "v: expected 1"),
    (lambda b: b.replace(b'"cpu-load":', b'"cpu-lod":'), "resource.cpu-load: missing"),
    (lambda b: b.replace(b'"cpu-load":', b'"mac-address":"1","cpu-load":'), "resource.mac-address: unknown field"),
    (lambda b: re.sub(rb',"dhcp":\[.*\]\}$', b',"dhcp":7}', b), "dhcp: expected a list"),
    (lambda b: re.sub(rb'"rx-byte":"(\d+)"', rb'"rx-byte":\1', b, count=1),
     "interfaces[0].rx-byte: expected a string"),
    (lambda b: re.sub(rb'"active":"\d+"', b'"active":"many"', b, count=1), "hotspot[0].active: expected a count"),
    (lambda b: b"\xff" + b, "body: not UTF-8"),
], ids=["truncated", "version", "missing-field", "unknown-field", "not-a-list", "number-not-string", "bad-count",
        "not-utf8"])
async def test_a_malformed_body_is_400_naming_the_field_and_a_failed_poll(
        office: Office, mangle: Callable[[bytes], bytes], field: str) -> None:
    body = mangle(office.runner.request(T0).split(b"\r\n\r\n", 1)[1])
    refused = await office.post(body)
    assert refused.status == 400
    assert refused.body.decode().startswith(field)
    metrics = await office.metrics()
    assert metrics[("netmon_device_up", 'device="gw-push",site="desa",source="push"')] == 0
    assert metrics[("netmon_poll_errors_total", 'device="gw-push",reason="protocol",source="push"')] == 1


async def test_another_content_type_is_415(office: Office) -> None:
    body = office.runner.request(T0).split(b"\r\n\r\n", 1)[1]
    assert (await office.post(body, content_type="application/x-www-form-urlencoded")).status == 415


@pytest.mark.parametrize("skew_s, dated", [(-45.0, "router"), (+20.0, "arrival"), (+3600.0, "arrival"),
                                           (-7200.0, "arrival")], ids=["behind", "ahead", "hour-ahead", "2h-behind"])
async def test_samples_carry_the_routers_time_within_the_skew_bound(office: Office, skew_s: float, dated: str) -> None:
    assert (await office.runner.push(T0, clock_skew_s=skew_s)).status == 200
    metrics = await office.metrics()
    success = metrics[("netmon_last_poll_success_timestamp_seconds", 'device="gw-push",source="push"')]
    assert success == (T0 + skew_s if dated == "router" else T0)


async def test_a_router_whose_pushes_stop_goes_down_after_interval_and_tolerance(office: Office) -> None:
    watch: PushWatch = office.watch  # type: ignore[attr-defined]
    for minute in range(2):  # up_after_successes 2 ... first push is UNKNOWN -> UP at once
        office.now[0] = T0 + 60 * minute
        assert (await office.runner.push(office.now[0])).status == 200
    last = T0 + 60
    assert _state(await office.metrics(), "gw-push") == "up"
    office.now[0] = last + 60 + 30 - 1
    assert watch.tick(office.now[0]) == []  # within interval + tolerance: nothing missed yet
    missed = []
    for second in range(int(last + 89), int(last + 60 * 5)):
        office.now[0] = float(second)
        missed += watch.tick(float(second))
        if _state(await office.metrics(), "gw-push") == "down":
            break
    assert [r.started_at - last for r in missed] == [90.0, 150.0, 210.0]  # three missed pushes (N = 3)
    assert str(missed[0].error) == "no push for 90 s"
    assert office.now[0] == last + 210
    # the router comes back: a push is a good poll at once, two make it up again
    for k in range(2):
        office.now[0] = last + 240 + 60 * k
        assert (await office.runner.push(office.now[0])).status == 200
    assert _state(await office.metrics(), "gw-push") == "up"


async def test_pushes_over_https_beside_metrics_behind_basic_auth(tmp_path: Path) -> None:
    """Production: the web config's TLS serves /push too, and its basic auth guards /metrics but not /push
    (routers authenticate with their own token)."""
    ca, cert, key = write_certificates(tmp_path)
    password_hash = bcrypt.hashpw(b"scrape-pass", bcrypt.gensalt(rounds=4)).decode()
    (tmp_path / "web.yml").write_text(f"tls_server_config:\n  cert_file: {cert}\n  key_file: {key}\n"
                                      f"basic_auth_users:\n  prometheus: '{password_hash}'\n")
    sim = RouterOsSimulator(clock=lambda: T0)
    sim.add(SimRouter("kim-desa-router", "7.16", "netmon", "api-secret", data=default_spec("r", "7.16", wifi=True)))
    app = NetmonApp(load_config(_config(tmp_path, 1, 60)))
    watch = PushWatch(app.config.devices.values(), app.on_result, started_at=T0, clock=lambda: T0)
    endpoint = PushEndpoint(app.config.devices, app.on_result, watch, clock=lambda: T0)
    exporter = ExporterServer(app.snapshot, app.healthy, "127.0.0.1", 0, load_web_config(tmp_path / "web.yml"),
                              more=[endpoint.route()])
    await exporter.start()
    client_tls = ssl.create_default_context(cafile=str(ca))
    try:
        base = f"https://127.0.0.1:{exporter.port}"
        runner = PushScriptRunner(sim.data("kim-desa-router"), f"{base}/push/v1/gw-push", TOKEN, tls=client_tls)
        assert (await runner.push(T0)).status == 200
        scrape = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        assert (await send(f"{base}/metrics", scrape, tls=client_tls)).status == 401
        assert app.snapshot().results[("gw-push", Source.PUSH)].ok
        plain = PushScriptRunner(sim.data("kim-desa-router"), f"http://127.0.0.1:{exporter.port}/push/v1/gw-push",
                                 TOKEN)
        with pytest.raises((ConnectionError, asyncio.IncompleteReadError, IndexError, ValueError)):
            await plain.push(T0)  # plain HTTP to the TLS port gets no HTTP answer
    finally:
        await exporter.stop()
        await app.close()
        await sim.stop()
