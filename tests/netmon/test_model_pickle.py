"""Poll results cross from SNMP worker processes to the main process pickled (netmon.worker). `Sample` and
`PollResult` pickle by their fields in order (cheaper than a slotted dataclass's generic state): every field
must survive, and a field added later must not be dropped silently."""

from __future__ import annotations

import dataclasses
import pickle

from netmon.errors import DeviceUnreachable
from netmon.model import DeviceIdentity, PollResult, Sample, SampleKind, SharedPool, Source


def _result() -> PollResult:
    return PollResult("kim-x-ap", Source.SNMP, 1_780_000_000.5, 0.012,
                      (Sample("netmon_interface_rx_bytes_total", 12.0, (("interface", "wlan1"),), SampleKind.COUNTER,
                              "bytes received"), Sample("netmon_device_up", 1.0)),
                      error=DeviceUnreachable("no reply from 10.0.0.2"),
                      identity=DeviceIdentity("mikrotik", "MikroTik", "cAP ac", "7.15", "HF1234", "ap", "RouterOS"),
                      fingerprints=frozenset({"a1b2", "c3d4"}), neighbours=("10.0.0.1",))


def test_a_pickled_result_comes_back_equal_in_every_field() -> None:
    result = _result()
    back = pickle.loads(pickle.dumps(result))
    for field in dataclasses.fields(PollResult):
        if field.name != "error":
            assert getattr(back, field.name) == getattr(result, field.name), field.name
    assert isinstance(back.error, DeviceUnreachable) and str(back.error) == str(result.error)
    assert back.samples[0].kind is SampleKind.COUNTER and back.source is Source.SNMP


def test_reduce_names_every_field_in_order() -> None:
    for record in (_result(), _result().samples[0]):
        make, args = record.__reduce__()
        assert make(*args) == record
        assert args == tuple(getattr(record, f.name) for f in dataclasses.fields(record))


def test_unpickled_samples_share_their_strings_and_labels() -> None:
    """What the main process keeps of each device's latest result is not a fresh copy per result."""
    first, second = (pickle.loads(pickle.dumps(_result())) for _ in range(2))
    for a, b in zip(first.samples, second.samples, strict=True):
        assert a.labels is b.labels and a.metric is b.metric and a.help is b.help
    assert first.samples[0].labels == (("interface", "wlan1"),)


def test_a_shared_pool_gives_the_first_equal_object_and_starts_over_when_full() -> None:
    pool: SharedPool[tuple[str, ...], tuple[str, ...]] = SharedPool(2)
    first = tuple(["wlan1"])
    assert pool.get(first, first) is first
    again = tuple(["wlan1"])
    assert again is not first and pool.get(again, again) is first
    pool.get(tuple(["wlan2"]), tuple(["wlan2"]))
    assert len(pool) == 2
    third = tuple(["wlan3"])
    assert pool.get(third, third) is third and len(pool) == 1  # full: cleared, then kept the new one
    assert pool.get(again, again) is again  # forgotten: the next equal value is the shared one now
