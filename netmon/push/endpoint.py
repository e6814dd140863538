"""`POST /push/v1/{device_id}`: where routers without a box at their site send their heartbeat
(deploy/routeros/netmon-push.rsc, docs/push.md), served by the daemon's web server (netmon/web.py).

In order, each step answering before the next runs:

- 401 + `WWW-Authenticate: Bearer`: no device of that id pushes, or the `Authorization: Bearer` token is
  not its own (compared in constant time; an unknown id is compared against a dummy, so the timing does not
  tell which ids exist);
- 429 + `Retry-After`: the device pushed more than its `max_per_minute` (token bucket; only authenticated
  pushes count, so nobody else can use up a router's allowance);
- 415: a `Content-Type` other than `application/json`;
- 400: a body that is not the script's JSON, one line naming the field; the push counts as a failed poll
  (`PayloadError`, reason `protocol`);
- 200: accepted, one `PollResult` (source `push`) into the daemon's result pipeline.

Bodies over the server's limit (64 KiB) are 413 before any of this. The samples are dated by the router's own
clock while it is within `max_skew_s` of ours (and never later than when the push arrived); beyond, by the
arrival time, and the skew is logged when it crosses the bound either way. Tokens and bodies are never logged.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Callable, Mapping

from collectors.push.heartbeat import heartbeat_identity, heartbeat_samples, router_time
from collectors.push.payload import Heartbeat, parse
from netmon.errors import PayloadError
from netmon.model import Device, PollResult, Source
from netmon.push.ratelimit import Bucket, default_per_minute, retry_after
from netmon.push.watch import PushWatch
from netmon.web import Reply, Request, Route

log = logging.getLogger(__name__)

PATH = "/push/v1/{device_id}"
_DUMMY = b"netmon-push-no-such-device-token-0000000000000000"
ResultFn = Callable[[PollResult], None]


def sample_time(router_at: float | None, received_at: float, max_skew_s: float) -> tuple[float, float | None]:
    """(the time a push's samples carry, the router's clock minus ours or None when unreadable): the router's
    time while within `max_skew_s` of ours, never later than the arrival; the arrival time otherwise."""
    if router_at is None:
        return received_at, None
    skew = router_at - received_at
    if abs(skew) > max_skew_s:
        return received_at, skew
    return min(router_at, received_at), skew


class PushEndpoint:
    def __init__(self, devices: Mapping[str, Device], on_result: ResultFn, watch: PushWatch, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._devices = {d.id: d for d in devices.values() if Source.PUSH in d.sources and d.push is not None}
        self._on_result = on_result
        self._watch = watch
        self._clock = clock
        self._buckets = {d.id: Bucket(d.push.max_per_minute or default_per_minute(d.interval_s))
                         for d in self._devices.values() if d.push is not None}
        self._skewed: set[str] = set()
        self._last_refusal: dict[str, str] = {}

    def route(self) -> Route:
        return Route(PATH, self.handle, method="POST", basic_auth=False)

    async def handle(self, request: Request) -> Reply:
        device = self._devices.get(request.params.get("device_id", ""))
        if not _token_matches(device, request.headers.get("Authorization")) or device is None:
            log.debug("push refused: bad or missing token for %r", request.params.get("device_id", "")[:64])
            return Reply(401, b"unauthorized\n", headers=(("WWW-Authenticate", 'Bearer realm="netmon-push"'),))
        received = self._clock()
        wait = self._buckets[device.id].take(received)
        if wait > 0:
            return Reply(429, b"too many pushes\n", headers=(("Retry-After", retry_after(wait)),))
        media = (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media != "application/json":
            return Reply(415, b"expected Content-Type: application/json\n")
        try:
            beat = parse(request.body)
        except PayloadError as exc:
            self._refused(device, received, exc)
            return Reply(400, f"{exc}\n".encode())
        self._accepted(device, beat, received)
        return Reply(200, b"accepted\n")

    def _accepted(self, device: Device, beat: Heartbeat, received: float) -> None:
        assert device.push is not None
        at, skew = sample_time(router_time(beat.clock), received, device.push.max_skew_s)
        self._note_skew(device, skew, device.push.max_skew_s)
        self._last_refusal.pop(device.id, None)
        at = self._watch.arrived(device.id, received, at)
        self._on_result(PollResult(device.id, Source.PUSH, at, 0.0, samples=tuple(heartbeat_samples(beat)),
                                   identity=heartbeat_identity(beat)))

    def _refused(self, device: Device, received: float, exc: PayloadError) -> None:
        if self._last_refusal.get(device.id) != str(exc):  # one line per new complaint, not one a minute
            self._last_refusal[device.id] = str(exc)
            log.warning("device %s: push refused: %s", device.id, exc, extra={"device": device.id})
        at = self._watch.stamp(device.id, received)
        self._on_result(PollResult(device.id, Source.PUSH, at, 0.0, error=exc))

    def _note_skew(self, device: Device, skew: float | None, bound: float) -> None:
        off = skew is None or abs(skew) > bound
        if off and device.id not in self._skewed:
            self._skewed.add(device.id)
            what = "unreadable" if skew is None else f"{skew:+.0f} s from ours (bound {bound:.0f} s)"
            log.warning("device %s: router clock %s; its pushes are dated on arrival (set NTP: /system ntp "
                        "client)", device.id, what, extra={"device": device.id})
        elif not off and device.id in self._skewed:
            self._skewed.discard(device.id)
            log.info("device %s: router clock back within %.0f s of ours", device.id, bound,
                     extra={"device": device.id})


def _token_matches(device: Device | None, header: str | None) -> bool:
    scheme, _, given = (header or "").partition(" ")
    expected = device.push.token.reveal().encode() if device is not None and device.push is not None else _DUMMY
    ok = hmac.compare_digest(given.strip().encode("utf-8", "replace"), expected)
    return ok and scheme.lower() == "bearer" and device is not None
