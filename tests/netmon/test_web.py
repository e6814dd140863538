"""The daemon's web server (netmon/web.py) over real TCP: malformed, oversized and wrong-method requests get a
documented status and at most one log line (never a traceback); random bytes never break it; TLS and basic auth
from a Prometheus-style web config work for curl and for a real Prometheus; a port in use is one line, exit 1."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import http.client
import logging
import socket
import subprocess
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path

import bcrypt
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from peers import NETMON, REPO, require_tool
from prometheus_peer import running_prometheus, scrape_config
from test_exporter import build

from netmon.config.webconfig import load_web_config
from netmon.errors import ConfigError, WebServerError
from netmon.exporter import ExporterServer, render
from netmon.web import Limits, Reply, Request, WebServer

# every status the server may answer with (module docstring of netmon/web.py)
DOCUMENTED = {200, 400, 401, 404, 405, 413, 431, 503}
PASSWORD = "kim-scrape-2026"  # a test password; its hash is what the web config holds
QUICK = Limits(keepalive_s=1.0)  # an incomplete request is dropped after 1 s instead of 15
HASH = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()  # cost 4: fast, still real bcrypt


@pytest.fixture
async def server() -> AsyncIterator[ExporterServer]:
    exporter = ExporterServer(build().snapshot, lambda: True, "127.0.0.1", 0, limits=QUICK)
    await exporter.start()
    try:
        yield exporter
    finally:
        await exporter.stop()


async def raw(port: int, data: bytes) -> bytes:
    """Send bytes on a fresh connection and read until the server closes it (after an answer, an error, or
    `keepalive_s` for an incomplete request). A reset after the answer keeps what was read."""

    def exchange() -> bytes:
        answer = b""
        with socket.create_connection(("127.0.0.1", port), timeout=30) as conn:  # a hang guard
            try:
                conn.sendall(data)
                while chunk := conn.recv(65536):
                    answer += chunk
            except (ConnectionResetError, BrokenPipeError):
                pass
        return answer

    return await asyncio.to_thread(exchange)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.") else 0


def no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    for record in caplog.records:
        assert record.exc_info is None and "Traceback" not in record.getMessage(), record.getMessage()


@pytest.mark.parametrize("headers", [
    pytest.param(b"".join(b"X-Filler-%d: %s\r\n" % (i, b"a" * 600) for i in range(120)), id="120-headers-72KiB"),
    pytest.param(b"X-Long: " + b"a" * 70_000 + b"\r\n", id="one-70KB-header"),
    pytest.param(b"Authorization: Basic " + b"c2VjcmV0" * 1100 + b"\r\n", id="one-header-just-over-8190"),
])
async def test_oversized_headers_get_431_and_one_log_line_without_their_content(
        server: ExporterServer, caplog: pytest.LogCaptureFixture, headers: bytes) -> None:
    caplog.set_level(logging.DEBUG)
    answer = await raw(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
    assert status_of(answer) == 431, answer[:200]
    assert answer.endswith(b"request header fields too large\n")
    lines = [r.getMessage() for r in caplog.records if r.name.startswith(("netmon", "aiohttp"))]
    assert len(lines) == 1 and "header fields too large" in lines[0], lines
    assert "aaaa" not in lines[0] and "c2Vj" not in lines[0]  # no header content (it may be a credential)
    no_traceback(caplog)
    assert status_of(await raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")) == 200  # still serving


async def test_a_request_line_over_its_limit_is_400_not_431(server: ExporterServer,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    answer = await raw(server.port, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(answer) == 400, answer[:200]
    no_traceback(caplog)


async def test_malformed_request_line_gets_400(server: ExporterServer, caplog: pytest.LogCaptureFixture) -> None:
    for junk in (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello to the plain port
                 b"GET\r\n\r\n", b"GET /metrics HTTP/9.9\r\n\r\n", b"GET /metrics HTTP/1.1\r\nno colon\r\n\r\n"):
        assert status_of(await raw(server.port, junk)) == 400, junk
    no_traceback(caplog)


async def test_a_request_that_never_completes_is_closed(server: ExporterServer) -> None:
    # headers trickling in without the blank line: the connection ends after keepalive_s, with no answer
    assert await raw(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n") == b""
    assert status_of(await raw(server.port, b"GET /healthz HTTP/1.0\r\n\r\n")) == 200


async def test_a_route_past_its_time_limit_gets_503(caplog: pytest.LogCaptureFixture) -> None:
    never = asyncio.Event()

    async def stuck(_request: Request) -> Reply:
        await never.wait()
        return Reply(200, b"")

    web = WebServer({"/stuck": stuck}, "127.0.0.1", 0, limits=Limits(handler_timeout_s=0.2))
    await web.start()
    try:
        assert status_of(await raw(web.port, b"GET /stuck HTTP/1.0\r\n\r\n")) == 503
    finally:
        await web.stop()
    no_traceback(caplog)


async def test_wrong_method_gets_405_with_allow(server: ExporterServer) -> None:
    answer = await raw(server.port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    assert status_of(answer) == 405
    allow = next(line for line in answer.split(b"\r\n") if line.lower().startswith(b"allow:"))
    assert {m.strip() for m in allow.split(b":", 1)[1].split(b",")} == {b"GET", b"HEAD"}


async def test_a_body_over_the_limit_gets_413(server: ExporterServer, caplog: pytest.LogCaptureFixture) -> None:
    body = b"x" * (64 * 1024 + 1)
    answer = await raw(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s"
                       % (len(body), body))
    assert status_of(answer) == 413
    no_traceback(caplog)


async def test_head_has_no_body_and_unknown_paths_404(server: ExporterServer) -> None:
    answer = await raw(server.port, b"HEAD /metrics HTTP/1.0\r\n\r\n")
    assert status_of(answer) == 200 and answer.endswith(b"\r\n\r\n")
    assert status_of(await raw(server.port, b"GET /nothing HTTP/1.0\r\n\r\n")) == 404


async def test_gzip_is_byte_identical_over_http_client(server: ExporterServer) -> None:
    def get() -> tuple[int, str | None, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/metrics", headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Encoding"), response.read()

    status, coding, body = await asyncio.to_thread(get)
    assert status == 200 and coding == "gzip" and gzip.decompress(body) == render(build().snapshot())


@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.one_of(st.binary(max_size=2048),
                      st.builds(lambda head, tail: b"GET /metrics HTTP/1.1\r\n" + head + b"\r\n\r\n" + tail,
                                st.binary(max_size=512), st.binary(max_size=64))))
def test_random_bytes_get_only_documented_answers(junk: bytes, caplog: pytest.LogCaptureFixture) -> None:
    async def one() -> tuple[bytes, bytes]:
        exporter = ExporterServer(build().snapshot, lambda: True, "127.0.0.1", 0, limits=QUICK)
        await exporter.start()
        try:
            return await raw(exporter.port, junk), await raw(exporter.port, b"GET /healthz HTTP/1.0\r\n\r\n")
        finally:
            await exporter.stop()

    caplog.clear()
    answer, health = asyncio.run(one())
    assert answer == b"" or status_of(answer) in DOCUMENTED, answer[:200]
    assert status_of(health) == 200  # the server keeps serving
    no_traceback(caplog)


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "netmon-test")])
    now = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    import ipaddress

    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = directory / "netmon.crt", directory / "netmon.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def write_web_config(directory: Path) -> Path:
    self_signed(directory)
    path = directory / "web.yml"
    path.write_text(textwrap.dedent(f"""\
        tls_server_config:
          cert_file: netmon.crt
          key_file: netmon.key
        basic_auth_users:
          prometheus: {HASH}
        """))
    return path


async def test_tls_and_basic_auth_with_curl(tmp_path: Path) -> None:
    curl = require_tool("curl", "curl")
    exporter = ExporterServer(build().snapshot, lambda: True, "127.0.0.1", 0,
                              load_web_config(write_web_config(tmp_path)))
    await exporter.start()
    try:
        url = f"https://127.0.0.1:{exporter.port}/metrics"

        async def curl_status(*args: str) -> tuple[str, str]:
            proc = await asyncio.create_subprocess_exec(
                curl, "-s", "--compressed", "--cacert", str(tmp_path / "netmon.crt"), "-o", str(tmp_path / "out"),
                "-w", "%{http_code}", *args, url, stdout=subprocess.PIPE)
            out, _ = await proc.communicate()
            body = (tmp_path / "out").read_text() if (tmp_path / "out").exists() else ""
            return out.decode(), body

        assert (await curl_status())[0] == "401"
        assert (await curl_status("-u", "prometheus:wrong"))[0] == "401"
        assert (await curl_status("-u", "nobody:" + PASSWORD))[0] == "401"
        status, body = await curl_status("-u", "prometheus:" + PASSWORD)
        assert status == "200" and body.encode() == render(build().snapshot())
        # plain HTTP to the TLS port: no answer in clear text, and no traceback
        assert status_of(await raw(exporter.port, b"GET /metrics HTTP/1.0\r\n\r\n")) == 0
    finally:
        await exporter.stop()


async def test_a_real_prometheus_scrapes_over_tls_with_basic_auth(tmp_path: Path) -> None:
    exporter = ExporterServer(build().snapshot, lambda: True, "127.0.0.1", 0,
                              load_web_config(write_web_config(tmp_path)))
    await exporter.start()
    try:
        scrape = scrape_config([f"127.0.0.1:{exporter.port}"])
        scrape["scrape_configs"][0].update({
            "scheme": "https", "tls_config": {"ca_file": str(tmp_path / "netmon.crt")},
            "basic_auth": {"username": "prometheus", "password": PASSWORD}})

        def scraped() -> list[dict[str, object]]:
            with running_prometheus(tmp_path, scrape) as prom:
                return prom.wait('netmon_device_up{device="a-router",source="snmp"} == 1', "an https scrape")

        assert len(await asyncio.to_thread(scraped)) == 1
    finally:
        await exporter.stop()


@pytest.mark.parametrize(("text", "where"), [
    ("basic_auth_users:\n  prometheus: plain-password\n", "web.yml:2: basic_auth_users.prometheus: not a bcrypt"),
    ("tls_server_config:\n  cert_file: a.crt\n", "web.yml:1: tls_server_config.key_file: Field required"),
    ("tls_server_config:\n  cert_file: a.crt\n  key_file: a.key\n", "web.yml:2: tls_server_config.cert_file: no "
                                                                     "such file"),
    ("basic_auth_users: {}\nhttp_server_config: {}\n", "web.yml:2: http_server_config: Extra inputs"),
    ("basic_auth_users: [a\n", "web.yml:2: invalid YAML"),
], ids=["plain-password", "missing-key-file", "no-cert-file", "unknown-key", "bad-yaml"])
def test_web_config_errors_name_file_line_and_key(tmp_path: Path, text: str, where: str) -> None:
    path = tmp_path / "web.yml"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_web_config(path)
    assert where in str(caught.value) and "\n" not in str(caught.value)


def test_a_certificate_that_does_not_match_its_key_is_a_config_error(tmp_path: Path) -> None:
    path = write_web_config(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    self_signed(other)
    path.write_text(path.read_text().replace("key_file: netmon.key", "key_file: other/netmon.key"))
    with pytest.raises(ConfigError, match=r"web.yml:1: tls_server_config: cannot use this certificate and key"):
        load_web_config(path)


async def test_a_port_in_use_is_a_one_line_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        exporter = ExporterServer(build().snapshot, lambda: True, "127.0.0.1", port)
        with pytest.raises(WebServerError, match=rf"^cannot listen on 127\.0\.0\.1:{port}: Address already in use$"):
            await exporter.start()


def daemon_config(directory: Path, exporter: dict[str, object] | None = None) -> Path:
    config = directory / "netmon.yaml"
    config.write_text(yaml.safe_dump({
        "storage": {"data_dir": str(directory / "data")},
        "credentials": {"v2c": {"snmp_v2c": {"community": {"env": "TEST_NETMON_COMMUNITY"}}}},
        "defaults": {"credential": "v2c"},
        **({"exporter": exporter} if exporter else {}),
        "sites": [{"id": "kim-a", "name": "KIM A", "desa": "A", "kecamatan": "B", "kabupaten": "Banyumas"}],
        "devices": [{"id": "a-router", "site": "kim-a", "role": "router", "address": "127.0.0.1",
                     "profile": "mikrotik"}],
    }))
    return config


def test_daemon_with_a_bad_web_config_names_its_file_line_and_key(tmp_path: Path) -> None:
    # the path is relative to the main config file, not to the working directory
    (tmp_path / "web.yml").write_text("basic_auth_users:\n  prometheus: plain-password\n")
    config = daemon_config(tmp_path, {"web_config_file": "web.yml"})
    done = subprocess.run([*NETMON, "run", "--config", str(config), "--port", "0"], cwd=REPO,
                          env={"PATH": "/usr/bin:/bin", "TEST_NETMON_COMMUNITY": "public"},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert f"error: {tmp_path / 'web.yml'}:2: basic_auth_users.prometheus: not a bcrypt hash" in done.stderr
    assert "Traceback" not in done.stderr


def test_daemon_on_a_port_in_use_says_so_in_one_line_and_exits_1(tmp_path: Path) -> None:
    config = daemon_config(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([*NETMON, "run", "--config", str(config), "--port", str(port)], cwd=REPO,
                              env={"PATH": "/usr/bin:/bin", "TEST_NETMON_COMMUNITY": "public"},
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert errors == [f"error: cannot listen on 127.0.0.1:{port}: Address already in use"], done.stderr
    assert "Traceback" not in done.stderr
