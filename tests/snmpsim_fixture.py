"""snmpsim serving the shared corpus recordings (../shared/corpus/snmprec) and the project's own fixture
recordings (tests/fixtures/snmprec, see its README) over real UDP on loopback.

snmpsim 1.2 lives in its own venv made from Debian's /usr/bin/python3 under /tmp (kept across runs, keyed
by a version stamp), so it never mixes with the project's dependencies. As root, snmpsim insists on
dropping privileges, so the venv, the data copy and the index cache must be usable by `nobody`.

Each recording is served under the community equal to its file stem (`routeros_wifi`, ...). The copy is
sorted numerically (unifi_achd is not sorted upstream) and blank lines are dropped (routeros_1).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from peers import free_udp_port, require

CORPUS = Path(os.environ.get("NETMON_CORPUS", Path(__file__).resolve().parents[2] / "shared" / "corpus"))
SNMPREC_DIR = CORPUS / "snmprec"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SNMPREC_DIRS = (SNMPREC_DIR, FIXTURES / "snmprec")  # file stems are unique across both
REQUIREMENTS = ("snmpsim>=1.2,<1.3", "pysmi>=1.5")
VENV = Path(os.environ.get("NETMON_SNMPSIM_VENV", "/tmp/netmon-snmpsim-venv"))
STAMP = "netmon-snmpsim-1 " + " ".join(REQUIREMENTS)
STARTUP_TIMEOUT_S = 180.0  # a hang guard (indexing every recording on a loaded machine), never a speed check


@dataclass(frozen=True)
class SnmpSim:
    host: str
    port: int
    communities: tuple[str, ...]  # one per recording: the file stem
    startup_s: float  # how long the fixture took (venv check + data copy + agent start)


def _ensure_venv() -> Path:
    """The snmpsim venv, created on first use; returns the responder executable."""
    exe = VENV / "bin" / "snmpsim-command-responder"
    stamp = VENV / ".netmon-stamp"
    if exe.exists() and stamp.exists() and stamp.read_text() == STAMP:
        return exe
    python = "/usr/bin/python3" if Path("/usr/bin/python3").exists() else shutil.which("python3")
    if python is None:
        raise RuntimeError("no python3 to create the snmpsim venv with")
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([python, "-m", "venv", str(VENV)], check=True, capture_output=True, timeout=120)
    subprocess.run([str(VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check", *REQUIREMENTS],
                   check=True, capture_output=True, timeout=600)
    stamp.write_text(STAMP)
    return exe


def _prepare_data() -> tuple[Path, Path, tuple[str, ...]]:
    """Sorted copies of the recordings in a directory keyed by their content (reused across runs, so
    snmpsim's index cache stays valid), plus a cache directory writable by nobody."""
    files = sorted((f for d in SNMPREC_DIRS for f in d.glob("*.snmprec")), key=lambda f: f.name)
    digest = hashlib.sha256(b"".join(f.name.encode() + f.read_bytes() for f in files)).hexdigest()[:16]
    base = Path(f"/tmp/netmon-snmpsim-data-{digest}")
    data, cache = base / "data", base / "cache"
    if not (base / ".complete").exists():
        shutil.rmtree(base, ignore_errors=True)
        data.mkdir(parents=True)
        cache.mkdir()
        for f in files:
            lines = [ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
            lines.sort(key=lambda ln: tuple(int(p) for p in ln.split("|", 1)[0].split(".") if p))
            (data / f.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        (base / ".complete").write_text(digest)
    for path in (base, data, *data.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    cache.chmod(0o777)
    return data, cache, tuple(f.stem for f in files)


def _ber_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(raw)]) + raw


def _tlv(tag: int, body: bytes) -> bytes:
    return bytes([tag]) + _ber_length(len(body)) + body


def _get_request(community: str, oid: str, request_id: int) -> bytes:
    """A minimal SNMPv2c GetRequest (readiness probe only; the tests poll through the real collector)."""
    arcs = [int(a) for a in oid.split(".")]
    encoded = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        while arc > 0x7F:
            arc >>= 7
            chunk.insert(0, 0x80 | (arc & 0x7F))
        encoded += bytes(chunk)
    varbind = _tlv(0x30, _tlv(0x06, encoded) + b"\x05\x00")
    pdu = _tlv(0xA0, _tlv(0x02, bytes([request_id])) + b"\x02\x01\x00\x02\x01\x00" + _tlv(0x30, varbind))
    return _tlv(0x30, b"\x02\x01\x01" + _tlv(0x04, community.encode()) + pdu)


def _answers(port: int, community: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        sock.sendto(_get_request(community, "1.3.6.1.2.1.1.1.0", 1), ("127.0.0.1", port))
        try:
            return len(sock.recv(65535)) > 0
        except OSError:
            return False


@pytest.fixture(scope="session")
def snmpsim() -> Iterator[SnmpSim]:
    t0 = time.monotonic()
    try:
        exe = _ensure_venv()
        data, cache, communities = _prepare_data()
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        require(False, f"snmpsim venv at {VENV} could not be made: {exc} {detail[-400:]!r}")
        raise  # unreachable: require() skips or fails
    port = free_udp_port()
    log = cache / f"snmpsim-{port}.log"  # in a directory the (possibly unprivileged) agent can write
    cmd = [str(exe), f"--data-dir={data}", f"--agent-udpv4-endpoint=127.0.0.1:{port}", f"--cache-dir={cache}",
           f"--logging-method=file:{log}", "--log-level=error"]
    if os.geteuid() == 0:
        cmd += ["--process-user=nobody", "--process-group=nogroup"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        ready = False
        while time.monotonic() < deadline and proc.poll() is None:
            if _answers(port, "linux_ntc"):
                ready = True
                break
            time.sleep(0.1)
        if not ready:
            proc.terminate()
            _, err = proc.communicate(timeout=5)
            text = log.read_text() if log.exists() else ""
            stderr = (err or b"").decode(errors="replace")[:600]
            require(False, f"snmpsim did not answer on 127.0.0.1:{port} within {STARTUP_TIMEOUT_S:.0f}s "
                           f"(exit {proc.returncode}): {stderr} {text[-600:]}")
        sim = SnmpSim("127.0.0.1", port, communities, time.monotonic() - t0)
        print(f"\nsnmpsim ready on 127.0.0.1:{port} in {sim.startup_s:.1f}s", file=sys.stderr)
        yield sim
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.unlink(missing_ok=True)
