"""Pure parts of routers that push: the router's clock, the sample time's bound, the rate limit, the config."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectors.push.heartbeat import gmt_offset_s, router_time
from netmon.config import load_config
from netmon.errors import ConfigError
from netmon.push.endpoint import sample_time
from netmon.push.ratelimit import Bucket, default_per_minute, retry_after


@pytest.mark.parametrize("text, seconds", [
    ("25200", 25200), ("0", 0), ("-14400", -14400), ("4294952896", -14400), ("+07:00", 25200), ("-04:00", -14400),
    ("+05:45", 20700), ("", None), ("07:00", None), ("99999", None), ("auto", None),
], ids=lambda v: repr(v))
def test_gmt_offset_in_each_form_routeros_gives(text: str, seconds: int | None) -> None:
    assert gmt_offset_s(text) == seconds


@pytest.mark.parametrize("date, time, offset, unix", [
    ("oct/19/2024", "21:54:32", "25200", 1729349672.0),  # RouterOS 6 and 7 before 7.10
    ("2024-10-19", "21:54:32", "25200", 1729349672.0),  # 7.10+
    ("Jul/19/2022", "10:00:00", "+08:00", 1658196000.0),
    ("2024-02-30", "00:00:00", "0", None), ("oct/19", "21:54:32", "0", None), ("2024-10-19", "21:54", "0", None),
])
def test_router_time_from_date_time_and_offset(date: str, time: str, offset: str, unix: float | None) -> None:
    assert router_time({"date": date, "time": time, "gmt-offset": offset}) == unix


@pytest.mark.parametrize("router, expected", [
    (None, (1000.0, None)), (990.0, (990.0, -10.0)), (1010.0, (1000.0, 10.0)), (700.0, (700.0, -300.0)),
    (699.0, (1000.0, -301.0)), (1400.0, (1000.0, 400.0)),
], ids=["unreadable", "behind", "ahead-never-future", "at-bound", "beyond-behind", "beyond-ahead"])
def test_samples_are_dated_by_the_router_within_the_bound(router: float | None,
                                                          expected: tuple[float, float | None]) -> None:
    assert sample_time(router, 1000.0, 300.0) == expected


def test_the_bucket_allows_a_burst_then_one_per_refill() -> None:
    bucket = Bucket(per_minute=3)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(20.0)
    assert bucket.take(10.0) == pytest.approx(10.0)
    assert bucket.take(20.0) == 0.0
    assert bucket.take(5.0) > 0  # a clock stepping back refills nothing
    assert retry_after(0.2) == "1" and retry_after(19.01) == "20"
    assert default_per_minute(60) == 6 and default_per_minute(10) == 12


def _device_yaml(tmp_path: Path, push: str, sources: str = "[push]") -> Path:
    (tmp_path / "t").write_text("short\n")
    path = tmp_path / "netmon.yaml"
    path.write_text(f"""
sites: [{{id: s, name: S, desa: D, kecamatan: K, kabupaten: B}}]
devices:
  - {{id: gw, site: s, role: router, address: 127.0.0.1, sources: {sources}{push}}}
""")
    return path


@pytest.mark.parametrize("push, sources, message", [
    ("", "[push]", "devices[gw].sources: a device with source push needs `push:"),
    (", push: {token: {file: t}}", "[push]", "devices[gw].push: the push token is shorter than 16 characters"),
    (", push: {token: {file: t}}", "[ping]", "devices[gw].push: `push:` is set but `sources` does not list push"),
], ids=["no-push", "short-token", "push-without-source"])
def test_push_config_errors_name_the_key(tmp_path: Path, push: str, sources: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_device_yaml(tmp_path, push, sources))
    assert message in str(caught.value)
    assert "short" not in str(caught.value).replace("shorter", "")
