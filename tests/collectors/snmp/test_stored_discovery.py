"""A discovery in its stored form (collectors/snmp/stored.py): what every corpus recording's discovery
becomes after a round trip, when a stored one no longer fits, and that no credential can be read from it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
from snmp_corpus import read, recordings, select, varbinds

from collectors.snmp import stored
from collectors.snmp.mapping import Discovery
from collectors.snmp.profile import PACKAGED_DIR, load_profiles
from collectors.snmp.stored import UnusableDiscovery
from netmon.model import Device, DeviceIdentity, Owner, Role, Secret, SnmpSettings, SnmpV2cAuth, SnmpV3Auth, Source

PROFILES = load_profiles()
KEY = b"k" * 32


def device(**changes: object) -> Device:
    base = Device(id="ap-1", site="kim-a", role=Role.AP, address="10.20.1.2", sources=(Source.SNMP,),
                  owner=Owner.KIM, snmp=SnmpSettings(auth=SnmpV2cAuth(Secret("kim-rahasia")), port=161))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", recordings())
def test_every_recordings_discovery_comes_back_equal_and_polls_the_same(name: str) -> None:
    agent = varbinds(name)
    profile = select(PROFILES, agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    kept = stored.loads(stored.dumps(profile.name, discovery, 1_750_000_000.5))
    assert (kept.profile, kept.booted_at) == (profile.name, 1_750_000_000.5)
    assert kept.discovery == discovery
    for metric, rows in discovery.choice.items():  # row order decides sums and first-wins, so it is kept
        assert list(kept.discovery.choice[metric]) == list(rows)
    for table, rows in discovery.rows.items():
        assert list(kept.discovery.rows[table]) == list(rows)
    assert profile.poll_plan(kept.discovery) == profile.poll_plan(discovery)
    values = read(agent, profile.poll_plan(discovery))
    assert profile.samples(values, kept.discovery) == profile.samples(values, discovery)


def test_the_payload_holds_everything_a_discovery_holds() -> None:
    """A field added to Discovery must be added to stored.dumps/loads (and FORMAT bumped), or a restored
    discovery would silently lack it."""
    assert [f.name for f in dataclasses.fields(Discovery)] == ["identity", "rows", "choice"]
    identity = DeviceIdentity(**{f.name: f"x-{f.name}" for f in dataclasses.fields(DeviceIdentity)})
    assert stored.loads(stored.dumps("generic", Discovery(identity), None)).discovery.identity == identity


def test_a_switch_payload_names_each_column_once() -> None:
    agent = varbinds("tplink_sg2008")
    profile = select(PROFILES, agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    body = json.loads(stored.dumps(profile.name, discovery, None))
    pairs = {pair for rows in discovery.choice.values() for pair in rows.values()}
    assert len(body["oids"]) == len(pairs) < sum(len(rows) for rows in discovery.choice.values())


def payload(**changes: object) -> str:
    agent = varbinds("routeros_wifi")
    profile = select(PROFILES, agent)
    body = json.loads(stored.dumps(profile.name, profile.discover(read(agent, profile.discovery_plan())), 5.0))
    body.update(changes)
    return json.dumps(body)


@pytest.mark.parametrize("text", [
    payload(v=stored.FORMAT + 1),
    payload(v=None),
    payload(identity={"profile": "mikrotik"}),  # fields of another version
    payload(rows=[]),
    payload(choice={"m": [["1", 99]]}),  # refers past the end of `oids`
    payload(booted_at="yesterday"),
    payload()[:-20],
    "[]",
    "",
], ids=["newer-format", "no-format", "other-identity-fields", "rows-not-an-object", "dangling-oid-ref",
        "booted-at-text", "truncated", "not-an-object", "empty"])
def test_a_stored_discovery_of_another_format_or_damaged_is_unusable(text: str) -> None:
    with pytest.raises(UnusableDiscovery):
        stored.loads(text)


@pytest.mark.parametrize("changed", [
    device(address="10.20.1.3"),
    device(profile="generic"),
    device(snmp=SnmpSettings(auth=SnmpV2cAuth(Secret("kim-rahasia")), port=1161)),
    device(snmp=SnmpSettings(auth=SnmpV2cAuth(Secret("kim-rahasia-baru")), port=161)),
    device(snmp=SnmpSettings(auth=SnmpV3Auth("kim", "sha256", Secret("kim-rahasia"), None, None), port=161)),
], ids=["address", "profile", "port", "community", "v3"])
def test_fingerprint_changes_with_what_discovery_depends_on(changed: Device) -> None:
    assert stored.fingerprint(changed, PROFILES.digest, KEY) != stored.fingerprint(device(), PROFILES.digest, KEY)


def test_fingerprint_ignores_what_discovery_does_not_depend_on() -> None:
    same = device(interval_s=300.0, parent="r1",
                  snmp=SnmpSettings(auth=SnmpV2cAuth(Secret("kim-rahasia")), port=161, timeout_s=9, retries=4,
                                    rediscover_s=60.0))
    assert stored.fingerprint(same, PROFILES.digest, KEY) == stored.fingerprint(device(), PROFILES.digest, KEY)


def test_fingerprint_is_keyed_so_a_community_cannot_be_tested_against_it() -> None:
    """Without the key (kept beside the database, not in it) a guessed community gives another hash."""
    print_ = stored.fingerprint(device(), PROFILES.digest, KEY)
    assert stored.fingerprint(device(), PROFILES.digest, b"\0" * 32) != print_
    assert stored.fingerprint(device(), PROFILES.digest, b"") != print_
    assert "kim-rahasia" not in print_ and len(print_) == 64


def test_profile_digest_follows_the_profile_files(tmp_path: Path) -> None:
    copy = tmp_path / "profiles"
    shutil.copytree(PACKAGED_DIR, copy)
    assert load_profiles(copy).digest == PROFILES.digest  # the files, not where they are
    with open(copy / "mikrotik.yaml", "a", encoding="utf-8") as f:
        f.write("# edited\n")
    assert load_profiles(copy).digest != PROFILES.digest
    (copy / "mikrotik.yaml").unlink()
    assert len({load_profiles(copy).digest, PROFILES.digest}) == 2
