"""The Prometheus text exposition of /metrics, written here rather than through prometheus_client, so that a
scrape costs what changed (docs/architecture.md says why, docs/performance.md what it saves).

A device's series are rendered into text once per change of its state (`DeviceTexts`, a consumer of the
result pipeline right after `LatestResults.record`) and kept; a scrape only joins the kept text of every
device, family by family, and adds the few process-wide samples. The page is byte for byte what
prometheus_client's `generate_latest` makes of the same `Snapshot` through the reference collector in
netmon/exporter.py (tests/netmon/test_exposition.py compares the two):

- families in the order of their first sample; the samples of a family in the order they were added:
  `netmon_device_up`, `netmon_poll_duration_seconds`, `netmon_last_poll_success_timestamp_seconds` per
  device and source, then each device's value series (sources by `SOURCE_PRECEDENCE`), `netmon_device_info`,
  `netmon_poll_errors_total`, `netmon_samples_rejected_total`, then the process-wide samples; devices sorted
  by id in each of these sections;
- a family's HELP and TYPE from the catalogue (netmon/catalogue.py), else from its first sample; a counter's
  samples and header named `<base>_total`;
- labels sorted by name, values escaped (backslash, double quote, newline); values as Go formats floats
  (`+Inf`, `-Inf`, `NaN`, `1.0`, `1.7e+09`); names outside the legacy character set with `_` for each
  character outside it (prometheus_client's default "underscores" escaping).

Nothing here depends on the time of the scrape: a device's text is a function of its part of the snapshot.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from netmon.catalogue import CATALOGUE, PROCESS_GAUGES
from netmon.latest import Snapshot
from netmon.model import Labels, PollResult, Sample, SampleKind
from netmon.rejection import REJECTED_METRIC

# the sections of the page, in order: each lists its devices sorted by id
POLLS, VALUES, IDENTITY, ERRORS = range(4)
SECTIONS = 4

_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")  # prometheus_client's legacy name patterns
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_TYPES = {"counter": "counter", "gauge": "gauge", "info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram",
          "unknown": "untyped", "untyped": "untyped", "summary": "summary", "histogram": "histogram"}


def go_float(value: float) -> str:
    """A sample value as Go (and prometheus_client's floatToGoString) writes it."""
    d = float(value)
    if d != d:
        return "NaN"
    if d == math.inf:
        return "+Inf"
    if d == -math.inf:
        return "-Inf"
    s = repr(d)
    if d > 0:
        dot = s.find(".")
        if dot > 6:  # Go switches to exponents sooner than Python
            mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0.")
            return f"{mantissa}e+{dot - 1:02d}"
    return s


def escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _legal(name: str, colon: bool) -> str:
    """A metric (colon allowed) or label name with every character outside the legacy set as `_`."""
    if (_METRIC_NAME if colon else _LABEL_NAME).match(name) or not name:
        return name
    return "".join(c if ("a" <= c <= "z" or "A" <= c <= "Z" or c == "_" or (colon and c == ":")
                         or ("0" <= c <= "9" and i > 0)) else "_" for i, c in enumerate(name))


_LABEL_NAMES: dict[str, str] = {}


def labels_text(labels: Mapping[str, str]) -> str:
    """`a="x",b="y"`: the labels sorted by name, values escaped."""
    names = _LABEL_NAMES
    parts = []
    for key, value in sorted(labels.items()):
        name = names.get(key)
        if name is None:
            name = names[key] = _legal(key, False)
        parts.append(f'{name}="{escape_value(value)}"')
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class Family:
    """A family as its first sample makes it: the header lines and the name every sample line starts with."""

    header: bytes
    sample_name: str
    prefix: bytes  # sample_name, encoded


_FAMILIES: dict[tuple[str, str, SampleKind], Family] = {}


def family(name: str, help_text: str = "", kind: SampleKind = SampleKind.GAUGE) -> Family:
    """The family a sample of metric `name` opens (catalogued: its HELP and type; else the sample's)."""
    key = (name, help_text, kind)
    found = _FAMILIES.get(key)
    if found is None:
        doc = CATALOGUE.get(name) or PROCESS_GAUGES.get(name)
        prom_type = doc.kind if doc else ("counter" if kind is SampleKind.COUNTER else "gauge")
        base = name[: -len("_total")] if prom_type == "counter" and name.endswith("_total") else name
        shown = base + "_total" if prom_type == "counter" else base + "_info" if prom_type == "info" else base
        text = (doc.help if doc else (help_text or name)).replace("\\", "\\\\").replace("\n", "\\n")
        header = (f"# HELP {_legal(shown, True)} {text}\n"
                  f"# TYPE {_legal(shown, True)} {_TYPES.get(prom_type, prom_type)}\n")
        sample_name = _legal(base + "_total" if prom_type == "counter" else name, True)
        found = _FAMILIES[key] = Family(header.encode(), sample_name, sample_name.encode())
    return found


def line(sample_name: str, labels: Mapping[str, str], value: float) -> str:
    return sample_name + rest_of_line(labels, value)


def rest_of_line(labels: Mapping[str, str], value: float) -> str:
    """A sample's line after its name: the labels (if any) and the value."""
    if labels:
        return f"{{{labels_text(labels)}}} {go_float(value)}\n"
    return f" {go_float(value)}\n"


_AROUND: dict[Labels, tuple[str, str] | None] = {}  # a sample's labels -> its line around the device's name
_MAX_AROUND = 100_000


def device_rest_of_line(labels: Labels, device: str, value: float) -> str:
    """`rest_of_line({"device": device, **labels}, value)`, device already escaped, with the text around the
    device label made once per labels tuple (the collectors' are shared, netmon.model): a device's series are
    written again at each of its results."""
    try:
        around = _AROUND[labels]
    except KeyError:
        if len(_AROUND) >= _MAX_AROUND:
            _AROUND.clear()
        around = _AROUND[labels] = _around(labels)
    if around is None:  # a `device` label of the sample's own, which wins
        return rest_of_line({"device": device, **dict(labels)}, value)
    return f"{around[0]}{device}{around[1]}{go_float(value)}\n"


def _around(labels: Labels) -> tuple[str, str] | None:
    named = dict(labels)
    if "device" in named:
        return None
    before = labels_text({k: v for k, v in named.items() if k < "device"})
    after = labels_text({k: v for k, v in named.items() if k > "device"})
    return "{" + (before + "," if before else "") + 'device="', '"' + ("," + after if after else "") + "} "


Slot = tuple[int, str, Family]  # section, the metric name the family is filed under, the family as made here
Layout = tuple[Slot, ...]  # a device's slots, in section order, families in the order of their first sample
_LAYOUTS: dict[Layout, Layout] = {}  # one object per layout (devices of one profile share theirs)
_MAX_LAYOUTS = 10_000


@dataclass(frozen=True, slots=True)
class DeviceText:
    """One device's series: for each slot of its layout, its lines of that family in that section. The
    family of a slot is what this device's first sample of the metric made; the page keeps the first
    device's, and writes the lines of a device whose family differs under the page's name (`_renamed`)."""

    layout: Layout
    texts: tuple[bytes, ...]


def _shared(layout: Layout) -> Layout:
    """The one object of an equal layout (only what a scrape saves: it groups devices by layout object)."""
    found = _LAYOUTS.get(layout)
    if found is None:
        if len(_LAYOUTS) >= _MAX_LAYOUTS:
            _LAYOUTS.clear()
        found = _LAYOUTS[layout] = layout
    return found


class _Lines:
    """Collects one device's lines, by section and family, as the page will list them."""

    def __init__(self) -> None:
        self.families: dict[str, Family] = {}
        self.slots: dict[tuple[int, str], list[str]] = {}

    def add(self, section: int, name: str, labels: Mapping[str, str], value: float,
            kind: SampleKind = SampleKind.GAUGE, help_text: str = "") -> None:
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = family(name, help_text, kind)
        slot = self.slots.get((section, name))
        if slot is None:
            slot = self.slots[(section, name)] = []
        slot.append(line(fam.sample_name, labels, value))

    def add_value(self, sample: Sample, device: str) -> None:
        """A value series of the device (escaped): `add(VALUES, ...)` with the device label."""
        name = sample.metric
        fam = self.families.get(name)
        if fam is None:
            fam = self.families[name] = family(name, sample.help, sample.kind)
        slot = self.slots.get((VALUES, name))
        if slot is None:
            slot = self.slots[(VALUES, name)] = []
        slot.append(fam.sample_name + device_rest_of_line(sample.labels, device, sample.value))

    def text(self) -> DeviceText:
        layout = _shared(tuple((section, name, self.families[name]) for section, name in self.slots))
        return DeviceText(layout, tuple("".join(lines).encode() for lines in self.slots.values()))


def device_text(part: Snapshot, device_id: str) -> DeviceText:
    """The series of one device, from its part of a snapshot (`LatestResults.part`, or `parts`): up,
    poll duration and last success per source, the value series of its last successful polls (each metric
    from one source), its identity and its poll error counters."""
    out = _Lines()
    device = part.devices.get(device_id)
    site = device.site if device else ""
    for (dev, source), result in sorted(part.results.items()):
        src = source.value
        out.add(POLLS, "netmon_device_up", {"device": dev, "site": site, "source": src}, 1 if result.ok else 0)
        out.add(POLLS, "netmon_poll_duration_seconds", {"device": dev, "source": src}, result.duration_s)
        success = part.last_success.get((dev, source))
        if success is not None:
            out.add(POLLS, "netmon_last_poll_success_timestamp_seconds", {"device": dev, "source": src}, success)
    if part.results:
        escaped = escape_value(device_id)
        for _source, sample in part.values(device_id):
            out.add_value(sample, escaped)
    identity = part.identity(device_id) if part.identities else None
    if identity is not None:
        site_record = part.sites.get(device.site) if device else None
        out.add(IDENTITY, "netmon_device_info", {
            "device": device_id,
            "site": device.site if device else "",
            "kecamatan": site_record.kecamatan if site_record else "",
            "owner": device.owner.value if device else "",
            **identity.as_labels(),
        }, 1)
    for (dev, source, reason), count in sorted(part.errors.items()):
        out.add(ERRORS, "netmon_poll_errors_total", {"device": dev, "source": source.value, "reason": reason},
                count, SampleKind.COUNTER)
    for (dev, metric, reason), count in sorted(part.rejected.items()):
        out.add(ERRORS, REJECTED_METRIC, {"device": dev, "metric": metric, "reason": reason}, count,
                SampleKind.COUNTER)
    return out.text()


def parts(snapshot: Snapshot) -> dict[str, Snapshot]:
    """Each device's part of a snapshot (its results, last successes, identities and error counters)."""
    keyed: dict[str, list[dict[Any, Any]]] = defaultdict(lambda: [{}, {}, {}, {}, {}])
    tables: tuple[Mapping[Any, Any], ...] = (snapshot.results, snapshot.last_success, snapshot.identities,
                                             snapshot.errors, snapshot.rejected)
    for index, table in enumerate(tables):
        for key, value in table.items():
            keyed[key[0]][index][key] = value
    return {device_id: Snapshot(snapshot.sites, snapshot.devices, results, success, identities, errors,
                                rejected=rejected)
            for device_id, (results, success, identities, errors, rejected) in keyed.items()}


@dataclass(frozen=True, slots=True, eq=False)
class SampleRun:
    """Process-wide samples of one metric that the daemon hands out together, the same object again while
    they are unchanged (a device's five `netmon_device_state` series, the sites' `netmon_site_info`): the
    page keeps their lines as one piece (`KeptLines`), so a scrape takes one step for them, not one per
    sample."""

    samples: tuple[Sample, ...]

    def __post_init__(self) -> None:
        if not self.samples or any(s.metric != self.samples[0].metric for s in self.samples):
            raise ValueError("a SampleRun holds one or more samples of one metric")


def flat(extra: Iterable[Sample | SampleRun]) -> list[Sample]:
    """The samples of `extra`, runs taken apart (for a Snapshot)."""
    out: list[Sample] = []
    for item in extra:
        if isinstance(item, SampleRun):
            out += item.samples
        else:
            out.append(item)
    return out


class KeptLines:
    """The lines of the process-wide samples of the last pages, by Sample or SampleRun object: the daemon hands
    the same objects again while nothing changed (netmon.daemon_metrics.KeptSamples: a device's
    `netmon_device_state` series), so they are not written again. Entries are only added (two pages written
    at once in two threads add the same ones) until the mapping is twice a page's, then it is replaced by
    the last page's."""

    def __init__(self) -> None:
        self.lines: dict[int, tuple[Sample | SampleRun, bytes, bytes]] = {}  # id -> the object, its name, its lines


@dataclass(frozen=True, slots=True)
class Page:
    """What one scrape shows, taken on the event loop (each device's kept text, the process-wide samples)
    and written out in a thread by `text()`."""

    devices: Mapping[str, DeviceText]
    extra: Sequence[Sample | SampleRun] = ()
    kept: KeptLines | None = None

    def text(self) -> bytes:
        return expose(self.devices, self.extra, self.kept)

    def families(self) -> list[list[bytes]]:
        """The page family by family (`families_of`), for a writer that need not hold all of it at once."""
        return families_of(self.devices, self.extra, self.kept)


def expose(devices: Mapping[str, DeviceText], extra: Sequence[Sample | SampleRun] = (),
           kept: KeptLines | None = None) -> bytes:
    """The page: each family's header once, then its lines, section by section, devices sorted by id, then
    the process-wide samples (their text taken from `kept` for the Sample objects it has seen)."""
    return b"".join(itertools.chain.from_iterable(families_of(devices, extra, kept)))


def families_of(devices: Mapping[str, DeviceText], extra: Sequence[Sample | SampleRun] = (),
                kept: KeptLines | None = None) -> list[list[bytes]]:
    """The page family by family: its header, then its lines (joined, they are `expose`'s page).

    Devices of one layout are taken together: their texts transposed (`itemgetter` over the group) give each
    slot's lines in device order without a Python step per device and slot (~600,000 at 30,000 devices); a
    slot that devices of several layouts fill is merged by device id, one permutation per set of layouts."""
    groups: dict[int, tuple[Layout, list[str], list[tuple[bytes, ...]]]] = {}  # by layout object, in order
    for device_id in sorted(devices):
        text = devices[device_id]
        group = groups.get(id(text.layout))
        if group is None:
            group = groups[id(text.layout)] = (text.layout, [], [])
        group[1].append(device_id)
        group[2].append(text.texts)
    families = _first_families(layout for layout, _, _ in groups.values())
    columns: dict[tuple[int, str], list[tuple[int, Sequence[bytes]]]] = {}
    for number, (layout, _, texts) in enumerate(groups.values()):
        for index, (section, name, fam) in enumerate(layout):
            # a column by itemgetter, not zip(*texts): zip makes an iterator per device, and 30,000 objects
            # for the garbage collector at once set off a young collection in this thread nearly every page
            column: Sequence[bytes] = list(map(operator.itemgetter(index), texts))
            page_name = families[name].sample_name
            if fam.sample_name != page_name:
                column = tuple(_renamed(chunk, fam.sample_name, page_name) for chunk in column)
            columns.setdefault((section, name), []).append((number, column))
    ids = [group_ids for _, group_ids, _ in groups.values()]
    orders: dict[tuple[int, ...], list[int]] = {}
    slots: dict[tuple[int, str], Sequence[bytes]] = {key: _merged(parts, ids, orders)
                                                     for key, parts in columns.items()}
    extra_slots: dict[tuple[int, str], list[bytes]] = {}
    _add_extra(extra, kept, families, extra_slots)
    slots.update(extra_slots)
    out: list[list[bytes]] = []
    for name, fam in families.items():
        pieces = [fam.header]
        for section in range(SECTIONS + 1):
            pieces.extend(slots.get((section, name), ()))
        out.append(pieces)
    return out


def _merged(parts: Sequence[tuple[int, Sequence[bytes]]], ids: Sequence[Sequence[str]],
            orders: dict[tuple[int, ...], list[int]]) -> Sequence[bytes]:
    """A slot's lines in device order from the columns of the layouts that fill it (each in device order);
    `orders` keeps the permutation of each set of layouts for the other slots they fill."""
    if len(parts) == 1:
        return parts[0][1]
    numbers = tuple(number for number, _ in parts)
    order = orders.get(numbers)
    if order is None:
        joined_ids = [device_id for number in numbers for device_id in ids[number]]
        order = orders[numbers] = sorted(range(len(joined_ids)), key=joined_ids.__getitem__)
    lines = [chunk for _, column in parts for chunk in column]
    return [lines[i] for i in order]


def _first_families(layouts: Iterable[Layout]) -> dict[str, Family]:
    """Each metric's family on the page, in the order of the first sample: section by section, devices in
    order (a device adds no family that an earlier device of the same layout did not)."""
    ordered = list(layouts)
    families: dict[str, Family] = {}
    for section in range(SECTIONS):
        for layout in ordered:
            for slot_section, name, fam in layout:
                if slot_section == section and name not in families:
                    families[name] = fam
    return families


def _add_extra(extra: Sequence[Sample | SampleRun], kept: KeptLines | None, families: dict[str, Family],
               slots: dict[tuple[int, str], list[bytes]]) -> None:
    """The process-wide samples, after the devices' sections (a family of their own, or a device family's)."""
    seen = kept.lines if kept is not None else {}
    metric = None
    prefix = b""
    nowhere: list[bytes] = []
    append = nowhere.append
    for item in extra:
        first = item.samples[0] if isinstance(item, SampleRun) else item
        if first.metric != metric:  # the daemon's samples come family by family
            metric = first.metric
            fam = families.get(metric)
            if fam is None:
                fam = families[metric] = family(metric, first.help, first.kind)
            prefix, append = fam.prefix, slots.setdefault((SECTIONS, metric), []).append
        found = seen.get(id(item))
        # an entry holds its item, so that id is not reused while it is kept; the name is the page's family's
        if found is None or found[0] is not item or found[1] is not prefix:
            found = seen[id(item)] = (item, prefix, _extra_lines(item, prefix))
        append(found[2])
    if kept is not None and len(seen) > 2 * len(extra) + 1000:  # keep only this page's samples
        kept.lines = {id(item): seen[id(item)] for item in extra}


def _extra_lines(item: Sample | SampleRun, prefix: bytes) -> bytes:
    if isinstance(item, SampleRun):
        return b"".join(prefix + rest_of_line(sample.label_dict(), sample.value).encode() for sample in item.samples)
    return prefix + rest_of_line(item.label_dict(), item.value).encode()


def _renamed(text: bytes, old: str, new: str) -> bytes:
    """A fragment's lines under the sample name of the page's family: a metric outside the catalogue whose
    first sample on the page has another kind than this device's (every line starts with the name)."""
    cut = len(old.encode())
    prefix = new.encode()
    return b"\n".join(prefix + chunk[cut:] if chunk else chunk for chunk in text.split(b"\n"))


def page(snapshot: Snapshot) -> Page:
    """A snapshot's page, every device rendered now (what `netmon poll` and the site agent show)."""
    return Page({device_id: device_text(part, device_id) for device_id, part in parts(snapshot).items()},
                snapshot.extra)


def render(snapshot: Snapshot) -> bytes:
    """The Prometheus text exposition of a snapshot (exactly what /metrics serves)."""
    return page(snapshot).text()


class DeviceTexts:
    """Each device's series, rendered when its state changes and kept for the scrapes.

    A consumer of the result pipeline placed right after `LatestResults.record` (the only change to what a
    device's series show): `observe` re-renders the result's device from `part(device_id)`, its live part of
    the latest results. Runs on the event loop; `page()` hands out a copy of the mapping (the texts are
    immutable) to be joined in a thread.
    """

    def __init__(self, part: Callable[[str], Snapshot], devices: Iterable[str] = ()) -> None:
        self._part = part
        self._texts: dict[str, DeviceText] = {}
        self._kept = KeptLines()
        for device_id in devices:  # configured devices export zeroed error counters before any poll
            self.refresh(device_id)

    def observe(self, result: PollResult) -> None:
        self.refresh(result.device)

    def refresh(self, device_id: str) -> None:
        text = device_text(self._part(device_id), device_id)
        if text.texts:
            self._texts[device_id] = text
        else:
            self._texts.pop(device_id, None)

    def keep_only(self, devices: Iterable[str]) -> None:
        """Export `devices` and no other (a cluster node's share, netmon.cluster.node): the texts of the others
        go, the newcomers export their counters at once."""
        wanted = set(devices)
        for device_id in [d for d in self._texts if d not in wanted]:
            del self._texts[device_id]
        for device_id in wanted - self._texts.keys():
            self.refresh(device_id)

    def page(self, extra: Iterable[Sample | SampleRun] = ()) -> Page:
        return Page(dict(self._texts), tuple(extra), self._kept)
