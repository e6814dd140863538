"""The availability state machine: poll results in, `StateChange` and `Reboot` events out (pure, no I/O).

A device has one status combining all of its sources (`Device.sources`). After every poll, the latest result
of each source gives a *condition*:

* OK: every source's latest poll succeeded (needs every source to have reported at least once);
* PARTIAL: some sources answer and others fail (e.g. ping answers, SNMP times out: agent or credentials);
* FAIL: every source that has reported is failing;
* PENDING: the sources that reported are fine but some have not reported yet (no verdict, no change).

Transitions (`StatePolicy` gives N = down_after_failures, T = down_after_s, M = up_after_successes):

* UNKNOWN -> UP at once on the first OK condition. `StateChange.old` is UNKNOWN, reason "first poll": the
  consumer sends no "recovered" message for it.
* UP/UNKNOWN -> DEGRADED on PARTIAL once a failing source has N consecutive failed polls or has been failing
  for T seconds (so one lost SNMP reply while ping answers does not flap).
* UP/DEGRADED/UNKNOWN -> DOWN on FAIL once every source has N consecutive failed polls, or the episode (since
  every source was failing) has lasted T seconds, whichever comes first. So SNMP failing for an hour
  (DEGRADED) and then one lost ping is not yet DOWN; a source polled rarely is covered by the time rule, which
  `tick` also checks, so a device turns DOWN on time even between polls.
* DEGRADED -> UP at once on OK.
* DOWN -> UP (OK) or DEGRADED (PARTIAL) once an answering source has M consecutive good polls. A failing
  source whose latest poll predates the recovery is waited for (no DOWN -> DEGRADED -> UP detour).
* DISABLED: a device without sources; its results are ignored.

Flapping (a failure or success streak shorter than the tolerance) causes no change. Results from unknown
devices, for sources the device does not have, or older than the source's previous result are ignored.

Reboots come from `netmon_device_uptime_seconds` (see `netmon.state.reboot`); detections of one boot by
several sources within `reboot_merge_s` of each other are reported once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, KeysView, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import cast

from netmon.model import Cause, Device, DeviceState, PollResult, Reboot, Source, StateChange, StatePolicy, Status
from netmon.state.reboot import UptimeReading, booted_between, uptime_from


class Condition(Enum):
    OK = "ok"
    PARTIAL = "partial"
    FAIL = "fail"
    PENDING = "pending"


@dataclass(slots=True)
class _SourceTrack:
    ok: bool
    last_at: float
    ok_streak: int = 0
    fail_streak: int = 0
    fail_since: float | None = None
    ok_since: float | None = None  # first good poll of the current streak
    uptime: UptimeReading | None = None


@dataclass(slots=True)
class _DeviceTrack:
    device: Device
    status: Status
    since: float
    sources: dict[Source, _SourceTrack] = field(default_factory=dict)
    down_failing_since: float | None = None  # episode start, kept while DOWN
    last_error: str | None = None
    last_good_poll: float | None = None
    uptime: UptimeReading | None = None  # latest reading of any source
    restored_uptime: UptimeReading | None = None  # reading restored after a restart (source unknown)
    restored_answering: float | None = None  # answering_since restored after a restart, until a fresh poll
    last_boot: float | None = None
    unknown_cause: Cause | None = None  # why UNKNOWN, when it is for a reason of its own (`unheard`)

    def reported(self) -> list[tuple[Source, _SourceTrack]]:
        return [(s, self.sources[s]) for s in self.device.sources if s in self.sources]

    def condition(self) -> Condition | None:
        reported = self.reported()
        if not reported:
            return None
        answering = sum(1 for _, t in reported if t.ok)
        if answering == 0:
            return Condition.FAIL
        if answering < len(reported):
            return Condition.PARTIAL
        return Condition.OK if len(reported) == len(self.device.sources) else Condition.PENDING

    def episode_start(self) -> float | None:
        """When every reported source was failing (the latest of their streak starts), else None."""
        reported = self.reported()
        if not reported or any(t.ok for _, t in reported):
            return None
        return max(t.fail_since for _, t in reported if t.fail_since is not None)


class AvailabilityTracker:
    """Derives each configured device's status from its poll results (rules in the module docstring)."""

    def __init__(self, devices: Mapping[str, Device], policy: StatePolicy, *, started_at: float = 0.0,
                 reboot_slack_s: float = 5.0, reboot_merge_s: float = 120.0) -> None:
        """`started_at` is the `since` of devices not yet polled (UNKNOWN) and of DISABLED ones."""
        self._policy = policy
        self._slack_s = reboot_slack_s
        self._merge_s = reboot_merge_s
        self._tracks: dict[str, _DeviceTrack] = {
            device_id: _DeviceTrack(device, Status.UNKNOWN if device.sources else Status.DISABLED, started_at)
            for device_id, device in devices.items()
        }
        # each device's state as last built (in configuration order), None once its track changes, and the
        # devices whose state is None: handing every state on (once a second while outages change) then builds
        # only those of the devices heard since, not the fleet's
        self._built: dict[str, DeviceState | None] = dict.fromkeys(self._tracks)
        self._stale: set[str] = set(self._tracks)
        self._order = {device_id: n for n, device_id in enumerate(self._tracks)}
        # the devices a time edge may move (a source failing; or UNKNOWN for a reason, not yet judged again):
        # for the others the verdict of their latest poll stands, so `tick` costs what is failing, not the fleet
        self._timed: set[str] = set()

    # --- inputs ---

    def observe(self, result: PollResult) -> list[StateChange | Reboot]:
        """Take one poll result; return the reboot detected (if any) followed by the status change (if any)."""
        track = self._tracks.get(result.device)
        if track is None or result.source not in track.device.sources:
            return []
        at = result.started_at
        source = track.sources.get(result.source)
        if source is not None and at < source.last_at:
            return []  # stale: an older result arriving late must not undo a newer one
        self._drop(result.device)
        if source is None:
            source = track.sources[result.source] = _SourceTrack(ok=result.ok, last_at=at)
        source.last_at = at
        events: list[StateChange | Reboot] = []
        if result.error is None:
            source.ok, source.ok_streak, source.fail_streak, source.fail_since = True, source.ok_streak + 1, 0, None
            if source.ok_since is None:
                source.ok_since = at
            track.last_good_poll = max(at, track.last_good_poll or at)
            reboot = self._reboot(track, source, result, at)
            if reboot is not None:
                events.append(reboot)
        else:
            source.ok, source.ok_streak, source.fail_streak, source.ok_since = False, 0, source.fail_streak + 1, None
            if source.fail_since is None:
                source.fail_since = at
            track.last_error = f"{result.source}: {type(result.error).__name__} ({result.error.reason})"
        change = self._evaluate(track, at)
        if change is not None:
            events.append(change)
        self._timing(track)
        return events

    def tick(self, at: float, only: Iterable[str] | None = None) -> list[StateChange]:
        """Apply the time-based edges (a failure lasting `down_after_s`) at time `at`, to every device or to
        those of `only` (the devices that live on one clock: a site agent's keep its time, not the office's)."""
        due = self._timed if only is None else [d for d in self._timed if d in only]
        changes = []
        for device_id in sorted(due, key=self._order.__getitem__):
            track = self._tracks[device_id]
            change = self._evaluate(track, at)
            if change is not None:
                changes.append(change)
            self._timing(track)
        return changes

    def unheard(self, devices: Iterable[str], at: float, cause: Cause) -> list[StateChange]:
        """The devices cannot be heard for a reason that is not theirs (`Cause.AGENT`: their site agent is
        silent): UNKNOWN from `at`, with that cause. What their sources said is kept, so results that arrive
        later (an agent's backlog, each with its own time) continue from there: UNKNOWN -> UP at the first good
        verdict (no "recovered"), -> DOWN on the failure rules. An open outage stays open (UNKNOWN)."""
        changes = []
        for device_id in devices:
            track = self._tracks.get(device_id)
            if track is None or track.status is Status.DISABLED:
                continue
            self._timed.add(device_id)  # judged again at the next time edge
            if track.status is Status.UNKNOWN:
                self._drop(device_id)
                track.unknown_cause = cause  # never polled yet (or restored unknown): now for this reason
                continue
            self._drop(device_id)
            changes.append(StateChange(device_id, track.status, Status.UNKNOWN, at, f"{cause.value} unreachable"))
            track.status, track.since, track.unknown_cause = Status.UNKNOWN, at, cause
            track.down_failing_since = None
        return changes

    def restore(self, states: Iterable[DeviceState]) -> None:
        """Seed the tracker after a restart (call before the first `observe`).

        DOWN stays DOWN with its episode start: the restart does not report it recovered; it needs
        `up_after_successes` good polls like any DOWN device. UP and DEGRADED are restored as they were and
        change only on the verdict of fresh polls from every source. UNKNOWN and DISABLED states, states of
        devices no longer configured, and states for devices that now have no sources are ignored. The stopped
        span itself is the app's to record as unknown.
        """
        self._built = dict.fromkeys(self._tracks)
        self._stale = set(self._tracks)
        for state in states:
            track = self._tracks.get(state.device)
            if track is None or track.status is Status.DISABLED:
                continue
            if state.status not in (Status.UP, Status.DEGRADED, Status.DOWN):
                continue
            track.status, track.since = state.status, state.since
            track.sources.clear()
            track.down_failing_since = (state.failing_since if state.failing_since is not None else state.since) \
                if state.status is Status.DOWN else None
            track.last_error, track.last_good_poll = state.last_error, state.last_good_poll
            track.restored_answering = state.answering_since if state.status is not Status.DOWN else None
            if state.uptime_s is not None and state.uptime_at is not None:
                track.uptime = track.restored_uptime = UptimeReading(state.uptime_s, state.uptime_at)

    # --- output ---

    def state(self, device_id: str) -> DeviceState:
        """One device's state (KeyError for a device not configured)."""
        return self._kept(device_id, self._tracks[device_id])

    def states(self) -> dict[str, DeviceState]:
        """A state for every configured device; never-polled ones are UNKNOWN, source-less ones DISABLED.
        Only those of the devices changed since the last call are built again."""
        for device_id in list(self._stale):
            self._kept(device_id, self._tracks[device_id])
        return cast(dict[str, DeviceState], dict(self._built))  # none is None now

    def statuses(self) -> dict[str, Status]:
        """Each configured device's status: what `states()` says of it, without building the states of the
        devices heard since (a scrape's `netmon_device_state`)."""
        return {device_id: track.status for device_id, track in self._tracks.items()}

    def device_ids(self) -> KeysView[str]:
        return self._tracks.keys()

    def view(self) -> Mapping[str, DeviceState]:
        """The same as `states()`, each state built only when asked for (a re-derivation of one site agent's
        outages reads its own devices and their neighbours, not the whole fleet)."""
        return _StatesView(self)

    def _kept(self, device_id: str, track: _DeviceTrack) -> DeviceState:
        state = self._built[device_id]
        if state is None:
            state = self._built[device_id] = self._state(track)
            self._stale.discard(device_id)
        return state

    def _state(self, track: _DeviceTrack) -> DeviceState:
        failing = [t.fail_streak for _, t in track.reported() if not t.ok]
        answering = [t.ok_streak for _, t in track.reported() if t.ok]
        failing_since = track.down_failing_since if track.status is Status.DOWN else track.episode_start()
        answering_since = min((t.ok_since for _, t in track.reported() if t.ok and t.ok_since is not None),
                              default=None) if track.sources else track.restored_answering
        return DeviceState(
            device=track.device.id,
            status=track.status,
            since=track.since,
            consecutive_failures=max(failing, default=0),
            consecutive_successes=max(answering, default=0),
            last_error=track.last_error,
            last_good_poll=track.last_good_poll,
            uptime_s=track.uptime.uptime_s if track.uptime else None,
            uptime_at=track.uptime.at if track.uptime else None,
            failing_since=failing_since,
            answering_since=answering_since,
            unknown_cause=track.unknown_cause if track.status is Status.UNKNOWN else None,
        )

    # --- rules ---

    def _reboot(self, track: _DeviceTrack, source: _SourceTrack, result: PollResult, at: float) -> Reboot | None:
        uptime = uptime_from(result.samples)
        if uptime is None:
            return None
        reading = UptimeReading(uptime, at)
        if source.uptime is not None:
            booted = booted_between(source.uptime, reading, slack_s=self._slack_s)
        else:
            booted = booted_between(track.restored_uptime, reading, slack_s=self._slack_s, same_source=False)
        source.uptime = reading
        if track.uptime is None or reading.at >= track.uptime.at:
            track.uptime = reading
        if booted is None:
            return None
        if track.last_boot is not None and abs(booted - track.last_boot) <= self._merge_s:
            return None  # the same boot, seen by another source
        track.last_boot = booted
        return Reboot(track.device.id, booted_at=booted, detected_at=at)

    def _drop(self, device_id: str) -> None:
        """The device's track changed: its state is built again when asked for."""
        self._built[device_id] = None
        self._stale.add(device_id)

    def _timing(self, track: _DeviceTrack) -> None:
        """Whether time alone may move the device: while a source fails."""
        if any(not source.ok for source in track.sources.values()):
            self._timed.add(track.device.id)
        else:
            self._timed.discard(track.device.id)

    def _evaluate(self, track: _DeviceTrack, at: float) -> StateChange | None:
        if track.status is Status.DISABLED:
            return None
        target = self._target(track, at)
        if target is None or target[0] is track.status:
            return None
        new, reason = target
        self._drop(track.device.id)
        change = StateChange(track.device.id, track.status, new, at, reason)
        if new is Status.DOWN:
            track.down_failing_since = track.episode_start()
        else:
            track.down_failing_since = None
        track.status, track.since, track.unknown_cause = new, at, None
        return change

    def _target(self, track: _DeviceTrack, at: float) -> tuple[Status, str] | None:
        """The status the device moves to now, with the reason, or None to stay."""
        status, condition = track.status, track.condition()
        if condition is None or condition is Condition.PENDING:
            return None
        if condition is Condition.FAIL:
            return None if status is Status.DOWN else self._down_target(track, at)
        if status is Status.DOWN:
            return self._recovery_target(track, condition)
        if condition is Condition.OK:
            if status is Status.UP:
                return None
            return Status.UP, "first poll" if status is Status.UNKNOWN else "every source answers"
        if status is Status.DEGRADED:  # PARTIAL from here on
            return None
        return self._degraded_target(track, at)

    def _down_target(self, track: _DeviceTrack, at: float) -> tuple[Status, str] | None:
        """Every source failing: down after enough failed polls in a row or enough time."""
        start = track.episode_start()
        if start is None:
            return None
        polls = min(s.fail_streak for _, s in track.reported())
        if polls >= self._policy.down_after_failures:
            return Status.DOWN, f"{polls} failed polls in a row"
        if at - start >= self._policy.down_after_s:
            return Status.DOWN, f"failing for {at - start:.0f} s"
        return None

    def _recovery_target(self, track: _DeviceTrack, condition: Condition) -> tuple[Status, str] | None:
        """A down device with a source answering again: up (or degraded) after enough good polls, once the
        failing sources were polled since the recovery began."""
        reported = track.reported()
        answering = [s for _, s in reported if s.ok]
        best = max(s.ok_streak for s in answering)
        if best < self._policy.up_after_successes:
            return None
        recovering_since = min(s.ok_since for s in answering if s.ok_since is not None)
        if condition is Condition.PARTIAL and all(s.last_at < recovering_since for _, s in reported if not s.ok):
            return None  # the failing sources have not been polled since the recovery began: no verdict yet
        return (Status.UP if condition is Condition.OK else Status.DEGRADED), f"{best} good polls"

    def _degraded_target(self, track: _DeviceTrack, at: float) -> tuple[Status, str] | None:
        """Some sources failing, others answering: degraded once the failing ones would count as down."""
        reported = track.reported()
        failing = [(name, s) for name, s in reported if not s.ok]
        streak = max(s.fail_streak for _, s in failing)
        start = min(s.fail_since for _, s in failing if s.fail_since is not None)
        if streak >= self._policy.down_after_failures or at - start >= self._policy.down_after_s:
            bad = ", ".join(str(name) for name, _ in failing)
            good = ", ".join(str(name) for name, s in reported if s.ok)
            return Status.DEGRADED, f"{bad} failing while {good} answers"
        return None


class _StatesView(Mapping[str, DeviceState]):
    """`AvailabilityTracker.states()` built lazily, each state at most once; valid until the next input."""

    def __init__(self, tracker: AvailabilityTracker) -> None:
        self._tracker = tracker
        self._built: dict[str, DeviceState] = {}

    def __getitem__(self, device_id: str) -> DeviceState:
        state = self._built.get(device_id)
        if state is None:
            state = self._built[device_id] = self._tracker.state(device_id)
        return state

    def __iter__(self) -> Iterator[str]:
        return iter(self._tracker.device_ids())

    def __len__(self) -> int:
        return len(self._tracker.device_ids())
