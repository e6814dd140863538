"""Pure tests of the moving values (netmon.simulate.variation), with an injected clock."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from netmon.errors import ConfigError
from netmon.simulate import snmprec, variation

WIB = timezone(timedelta(hours=7))


def at(hour: float, day: int = 1) -> float:
    return datetime(2025, 3, day, tzinfo=WIB).timestamp() + hour * 3600


def record(line: str) -> snmprec.SnmpRecord:
    parsed = snmprec.parse_line(line)
    assert parsed is not None
    return parsed


def test_uptime_ticks_are_hundredths_since_boot_plus_initial() -> None:
    assert variation.uptime_ticks(1000.0, 1012.5, initial=7) == 1257


def test_uptime_wraps_at_2_pow_32() -> None:
    assert variation.uptime_ticks(0.0, 1.0, initial=2**32 - 50) == 50


def test_counter32_wraps_and_counter64_does_not() -> None:
    assert variation.counter_value(0.0, 10.0, rate=100.0, initial=2**32 - 500, bits=32) == 500
    assert variation.counter_value(0.0, 10.0, rate=100.0, initial=2**32 - 500, bits=64) == 2**32 + 500


def test_counter_does_not_run_backwards_before_boot() -> None:
    assert variation.counter_value(100.0, 50.0, rate=10.0, initial=3) == 3


@pytest.mark.parametrize(
    ("hour", "low", "high"),
    [(3, 0.0, 0.05), (12, 0.4, 0.7), (19.5, 0.9, 1.0), (20, 0.9, 1.0)],
    ids=["3am-near-zero", "noon-half", "evening-peak", "8pm-peak"],
)
def test_daily_curve_is_in_indonesian_western_time(hour: float, low: float, high: float) -> None:
    assert low <= variation.daily_fraction(at(hour)) <= high


def test_daily_count_is_busier_in_the_evening_than_at_3am() -> None:
    night = [variation.daily_count(at(3, d), peak=40, seed="ap") for d in range(1, 15)]
    evening = [variation.daily_count(at(19.5, d), peak=40, seed="ap") for d in range(1, 15)]
    assert max(night) <= 2
    assert min(evening) >= 30


def test_daily_count_stays_within_floor_and_peak() -> None:
    values = [variation.daily_count(at(h / 4), peak=10, seed="x", noise=50, floor=2) for h in range(96)]
    assert min(values) >= 2 and max(values) <= 10


def test_noise_is_deterministic_and_bounded() -> None:
    a = [variation.bounded_noise("s", 1000.0 + 300 * i, 3.0) for i in range(200)]
    assert a == [variation.bounded_noise("s", 1000.0 + 300 * i, 3.0) for i in range(200)]
    assert all(-3.0 <= x <= 3.0 for x in a)
    assert len(set(a)) > 100


def test_daily_integral_of_a_whole_day_is_the_area_under_the_curve() -> None:
    day = variation.daily_integral(at(0), at(0, day=2))
    assert day == pytest.approx(variation.daily_integral(at(5.5), at(5.5, day=2)))
    assert 0.4 * 86400 < day < 0.6 * 86400


def test_daily_shaped_counter_grows_faster_in_the_evening() -> None:
    night = variation.counter_value(at(2), at(3), rate=1000.0, bits=64, daily=True)
    evening = variation.counter_value(at(19), at(20), rate=1000.0, bits=64, daily=True)
    assert evening > 10 * night > 0


def test_value_at_computes_each_variation() -> None:
    boot = 1000.0
    assert variation.value_at(record("1.3.6.1.2.1.1.3.0|67:uptime|"), now=1010.0, boot=boot) == 1000
    assert variation.value_at(record("1.3|70:rate|rate=10,initial=5"), now=1002.0, boot=boot) == 25
    assert variation.value_at(record("1.3|66:jitter|spread=0,value=42"), now=1.0, boot=boot) == 42
    assert variation.value_at(record("1.3|4|plain"), now=1.0, boot=boot) == b"plain"


def test_row_records_come_and_go_with_the_daily_count() -> None:
    line = "1.3.6.1.4.1.14988.1.1.5.1.1.3.{n}|4:row|peak=20,rank={n},seed=hs,noise=0,value=user{n}"
    rows = [record(line.format(n=n)) for n in range(1, 21)]
    assert sum(variation.is_present(r, now=at(3)) for r in rows) == 0
    assert sum(variation.is_present(r, now=at(20)) for r in rows) >= 18
    assert rows[4].value == b"user5"


@pytest.mark.parametrize(
    "line",
    ["1.3|2:wobble|x=1", "1.3|70:rate|initial=5", "1.3|4:uptime|", "1.3|2:row|peak=3,rank=1",
     "1.3|65:rate|rate=x"],
    ids=["unknown", "rate-missing", "uptime-on-string", "row-no-seed", "rate-not-number"],
)
def test_bad_variations_are_config_errors(line: str) -> None:
    with pytest.raises(ConfigError):
        variation.check(record(line))


def test_snmprec_keeps_the_variation_and_its_arguments() -> None:
    rec = record("1.3.6.1.4.1.1.2|4x:row|peak=3,rank=1,seed=a,value=4142")
    assert (rec.variation, rec.arg("peak"), rec.arg("seed"), rec.value) == ("row", "3", "a", b"AB")
    assert record("1.3.6.1.2.1.1.1.0|4|a,b=c").value == b"a,b=c"
    assert record("1.3.6.1.2.1.1.1.0|4|x").variation is None
