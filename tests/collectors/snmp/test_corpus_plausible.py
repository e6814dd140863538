"""Plausibility bounds against the real recordings: no value any corpus recording yields (through the
profile the collector would choose) is outside its metric's bound, so the bounds reject vendor bugs only,
never a real reading."""

from __future__ import annotations

import pytest
from snmp_corpus import read, recordings, select, varbinds

from collectors.snmp.profile import load_profiles
from netmon.plausibility import screen

RECORDINGS = recordings()


@pytest.mark.parametrize("name", RECORDINGS)
def test_no_value_of_a_real_recording_is_rejected(name: str) -> None:
    agent = varbinds(name)
    profile = select(load_profiles(), agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    samples = profile.samples(read(agent, profile.poll_plan(discovery)), discovery)
    kept, rejected = screen(samples)
    assert not rejected, [(r.sample, r.bound.describe()) for r in rejected]
    assert list(kept) == samples
