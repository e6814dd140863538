"""The Prometheus exporter: /metrics and /healthz, and the one module that imports prometheus_client.

/metrics serves a `Page` (netmon/exposition.py: each device's series rendered when its state changed, joined
at the scrape) or, for callers that keep no rendered texts (the site agent), a `Snapshot` rendered whole. A
device whose last poll failed shows `netmon_device_up 0` and none of its value series. `/healthz` says whether
the scheduler is alive. `render()` is also what `netmon poll --format prometheus` prints. /metrics is
gzip-compressed when the scraper accepts it (Prometheus does). HTTP itself (limits, TLS, basic auth) is
netmon/web.py's.

`SnapshotCollector` and `render_with_client` are the exposition as prometheus_client writes it (a custom
Collector on a private registry, families built fresh from a snapshot): no longer what /metrics serves, kept
as the reference the exposition is tested against (tests/netmon/test_exposition.py) and the baseline of
benchmarks/exposition.py.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import logging
import time
import zlib
from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from netmon.catalogue import CATALOGUE, PROCESS_GAUGES, MetricDoc
from netmon.config.webconfig import WebConfig
from netmon.exposition import Page, render
from netmon.latest import Snapshot
from netmon.model import SampleKind
from netmon.rejection import REJECTED_METRIC
from netmon.web import Limits, Reply, Request, Route, WebServer

log = logging.getLogger(__name__)


def _family(name: str, doc: MetricDoc | None, fallback_help: str, kind: SampleKind) -> Metric:
    prom_type = doc.kind if doc else ("counter" if kind is SampleKind.COUNTER else "gauge")
    base = name[: -len("_total")] if prom_type == "counter" and name.endswith("_total") else name
    return Metric(base, doc.help if doc else (fallback_help or name), prom_type)


class SnapshotCollector(Collector):
    def __init__(self, snapshot: Snapshot) -> None:
        self._snap = snapshot

    def collect(self) -> Iterator[Metric]:
        snap = self._snap
        fam: dict[str, Metric] = {}

        def add(name: str, labels: dict[str, str], value: float, kind: SampleKind = SampleKind.GAUGE,
                help_text: str = "") -> None:
            metric = fam.get(name)
            if metric is None:
                metric = fam[name] = _family(name, CATALOGUE.get(name) or PROCESS_GAUGES.get(name),
                                             help_text, kind)
            sample_name = name if metric.type != "counter" else metric.name + "_total"
            metric.add_sample(sample_name, labels, float(value))

        for (device_id, source), result in sorted(snap.results.items()):
            device = snap.devices.get(device_id)
            site = device.site if device else ""
            src = source.value
            add("netmon_device_up", {"device": device_id, "site": site, "source": src}, 1 if result.ok else 0)
            add("netmon_poll_duration_seconds", {"device": device_id, "source": src}, result.duration_s)
            success = snap.last_success.get((device_id, source))
            if success is not None:
                add("netmon_last_poll_success_timestamp_seconds", {"device": device_id, "source": src}, success)
        for device_id in sorted({d for d, _s in snap.results}):
            for _source, sample in snap.values(device_id):
                add(sample.metric, {"device": device_id, **sample.label_dict()}, sample.value, sample.kind,
                    sample.help)
        for device_id in sorted({d for d, _s in snap.identities}):
            identity = snap.identity(device_id)
            if identity is None:
                continue
            device = snap.devices.get(device_id)
            site_record = snap.sites.get(device.site) if device else None
            add("netmon_device_info", {
                "device": device_id,
                "site": device.site if device else "",
                "kecamatan": site_record.kecamatan if site_record else "",
                "owner": device.owner.value if device else "",
                **identity.as_labels(),
            }, 1)
        for (device_id, source, reason), count in sorted(snap.errors.items()):
            add("netmon_poll_errors_total", {"device": device_id, "source": source.value, "reason": reason},
                count, SampleKind.COUNTER)
        for (device_id, metric, reason), count in sorted(snap.rejected.items()):
            add(REJECTED_METRIC, {"device": device_id, "metric": metric, "reason": reason}, count,
                SampleKind.COUNTER)
        for sample in snap.extra:
            add(sample.metric, sample.label_dict(), sample.value, sample.kind, sample.help)
        yield from fam.values()


def render_with_client(snapshot: Snapshot) -> bytes:
    """The exposition of a snapshot through prometheus_client's `generate_latest` (the reference)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SnapshotCollector(snapshot))
    return generate_latest(registry)


CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (Prometheus always sends `gzip`)."""
    for coding in (accept_encoding or "").split(","):
        token, *params = [part.strip() for part in coding.split(";")]
        if token.lower() not in ("gzip", "*"):
            continue
        quality = 1.0
        for param in params:
            key, _, number = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(number)
                except ValueError:
                    quality = 0.0
        return quality > 0
    return False


def _text(content: Page | Snapshot) -> bytes:
    return content.text() if isinstance(content, Page) else render(content)


def gzipped(content: Page | Snapshot) -> bytes:
    """The text, gzip-compressed at level 1: the text of 10,000 devices (~40 MB) shrinks ~15x for a
    Prometheus on another host, for ~90 ms of CPU (zlib runs without the GIL). A page is compressed family by
    family through one compressor, so the whole text (~120 MB at 30,000 devices) is never held at once."""
    if not isinstance(content, Page):
        return gzip.compress(render(content), compresslevel=1, mtime=0)
    compressor = zlib.compressobj(1, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # a gzip member, mtime 0
    out = [compressor.compress(b"".join(pieces)) for pieces in content.families()]
    out.append(compressor.flush())
    return b"".join(out)


class ExporterServer:
    """/metrics and /healthz on the daemon's web server (netmon/web.py). `content` is called in the loop
    at each scrape: a `Page` (kept device texts, joined in a thread) or a `Snapshot` (rendered whole in a
    thread), so no thread touches the live state.

    A scrape that arrives while a page is being written gets that page (`_Coalesced`): at 30,000 devices a
    page is ~100 MB of text; a scraper that timed out and came back, or a second Prometheus, would otherwise
    start another one beside it, and pages piling up in threads that share the GIL with the event loop
    never finished (docs/performance.md)."""

    def __init__(self, content: Callable[[], Page | Snapshot], healthy: Callable[[], bool],
                 host: str = "127.0.0.1", port: int = 9877, web_config: WebConfig | None = None,
                 limits: Limits | None = None, more: Sequence[Route] = ()) -> None:
        self._content = content
        self._healthy = healthy
        web_config = web_config or WebConfig()
        self._server = WebServer({"/metrics": self._metrics, "/healthz": self._healthz}, host, port,
                                 tls=web_config.tls, users=web_config.users, limits=limits or Limits(), more=more)
        self._pages = _Coalesced()

    @property
    def port(self) -> int:
        return self._server.port

    def cost(self) -> tuple[int, float, float]:
        """The /metrics pages written since start and the CPU seconds they took on the loop and in the
        writing thread."""
        return self._pages.pages, self._pages.loop_cpu_s, self._pages.writing_cpu_s

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    async def _metrics(self, request: Request) -> Reply:
        if accepts_gzip(request.headers.get("Accept-Encoding")):
            body = await self._pages.get(gzipped, self._content)
            return Reply(200, body, CONTENT_TYPE, (("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")))
        return Reply(200, await self._pages.get(_text, self._content), CONTENT_TYPE, (("Vary", "Accept-Encoding"),))

    async def _healthz(self, request: Request) -> Reply:
        ok = self._healthy()
        return Reply(200, b"ok\n") if ok else Reply(503, b"scheduler stalled\n")


class _Coalesced:
    """At most one page written at a time per encoding: a request that comes while one is written waits for
    it and gets it. The writing goes on if its first requester leaves (the others still wait for it).

    Counts the pages and the CPU they took (`pages`; `loop_cpu_s`, `writing_cpu_s`): the content taken on
    the loop and the writing in its thread, each that thread's own CPU time (`time.thread_time`), so what
    other threads do meanwhile, and the waits for the GIL, are not in it."""

    def __init__(self) -> None:
        self._writing: dict[Callable[[Page | Snapshot], bytes], asyncio.Future[bytes]] = {}
        self.pages = 0
        self.loop_cpu_s = 0.0  # taking the content, on the event loop
        self.writing_cpu_s = 0.0  # joining and compressing it, in the writing thread

    async def get(self, write: Callable[[Page | Snapshot], bytes], content: Callable[[], Page | Snapshot]) -> bytes:
        future = self._writing.get(write)
        if future is None:
            began = time.thread_time()
            taken = content()
            self.loop_cpu_s += time.thread_time() - began
            future = self._writing[write] = asyncio.ensure_future(asyncio.to_thread(self._timed, write, taken))
            future.add_done_callback(functools.partial(self._written, write))
        return await asyncio.shield(future)

    def _timed(self, write: Callable[[Page | Snapshot], bytes], content: Page | Snapshot) -> bytes:
        began = time.thread_time()
        try:
            return write(content)
        finally:
            self.writing_cpu_s += time.thread_time() - began  # one float add under the GIL: no lost update
            self.pages += 1

    def _written(self, write: Callable[[Page | Snapshot], bytes], future: asyncio.Future[bytes]) -> None:
        self._writing.pop(write, None)
        if not future.cancelled():
            future.exception()  # seen here: every requester may have left
