"""Discoveries share their equal parts between devices (collectors/snmp/mapping.py `shared`): a worker keeps one per
device for hours. Sharing saves memory and changes nothing a poll reports."""

from __future__ import annotations

import copy
import dataclasses

import pytest
from snmp_corpus import RecordedReader, read, recordings, select, varbinds

from collectors.snmp import stored
from collectors.snmp.collector import SnmpCollector
from collectors.snmp.mapping import Discovery
from collectors.snmp.profile import load_profiles
from collectors.snmp.varbind import SnmpValue
from netmon.model import Device, Owner, Role, Secret, SnmpSettings, SnmpV2cAuth, Source

PROFILES = load_profiles()
IF_COLUMNS = ("1.3.6.1.2.1.2.2.1.", "1.3.6.1.2.1.31.1.1.1.")  # ifTable, ifXTable


def discovered(agent: dict[str, SnmpValue]) -> Discovery:
    profile = select(PROFILES, agent)
    return profile.discover(read(agent, profile.discovery_plan()))


def assert_shared(a: Discovery, b: Discovery) -> None:
    for table, rows in a.rows.items():
        for index, labels in rows.items():
            assert labels is b.rows[table][index], (table, index)
    for metric, picked in a.choice.items():
        assert picked is b.choice[metric], metric


@pytest.mark.parametrize("name", ["routeros_rb750gr3", "unifi", "tplink_sg2008", "airos"])
def test_two_devices_discovered_from_one_recording_share_their_rows_and_choices(name: str) -> None:
    first, second = discovered(varbinds(name)), discovered(varbinds(name))  # each read anew: its own objects
    assert first == second
    assert_shared(first, second)
    profile = select(PROFILES, varbinds(name))
    assert profile.poll_plan(first) is profile.poll_plan(second)


def test_a_device_with_an_interface_fewer_still_shares_the_rows_named_alike() -> None:
    """The grain a real fleet repeats: the same model with other interfaces shares each row and (column,
    divisor), not only whole tables."""
    full = discovered(varbinds("routeros_rb750gr3"))
    last = list(full.rows["interface"])[-1]
    fewer_agent = {oid: v for oid, v in varbinds("routeros_rb750gr3").items()
                   if not (oid.startswith(IF_COLUMNS) and oid.endswith(f".{last}"))}
    fewer = discovered(fewer_agent)
    assert list(fewer.rows["interface"]) == list(full.rows["interface"])[:-1]
    assert fewer.rows["interface"] is not full.rows["interface"]
    for index, labels in fewer.rows["interface"].items():
        assert labels is full.rows["interface"][index]
    assert fewer.choice["if_receive"] is not full.choice["if_receive"]
    for index, pair in fewer.choice["if_receive"].items():
        assert pair is full.choice["if_receive"][index]
    assert fewer.choice["cpu"] is full.choice["cpu"]


def test_a_restored_discovery_shares_with_a_discovered_one() -> None:
    made = discovered(varbinds("routeros_rb750gr3"))
    kept = stored.loads(stored.dumps("mikrotik", made, None)).discovery
    assert kept == made
    assert_shared(kept, made)


@pytest.mark.parametrize("name", recordings())
def test_shared_parts_change_no_sample(name: str) -> None:
    """The same samples, in the same order, from a discovery of fresh (unshared) copies of its parts."""
    agent = varbinds(name)
    profile = select(PROFILES, agent)
    discovery = profile.discover(read(agent, profile.discovery_plan()))
    unshared = Discovery(identity=dataclasses.replace(discovery.identity), rows=copy.deepcopy(dict(discovery.rows)),
                         choice=copy.deepcopy(dict(discovery.choice)))
    assert unshared.rows is not discovery.rows
    values = read(agent, profile.poll_plan(discovery))
    assert profile.samples(values, discovery) == profile.samples(values, unshared)
    assert profile.poll_plan(unshared) == profile.poll_plan(discovery)


async def test_devices_polled_from_one_recording_report_alike_and_share_their_discovery() -> None:
    reader = RecordedReader(varbinds("routeros_rb750gr3"))
    collector = SnmpCollector(PROFILES, open_reader=reader.open)
    devices = [Device(id=f"ap-{i}", site="kim-a", role=Role.AP, address="10.20.1.2", sources=(Source.SNMP,),
                      owner=Owner.KIM, snmp=SnmpSettings(auth=SnmpV2cAuth(Secret("kim-rahasia")))) for i in range(2)]
    first, second = [await collector.poll(d) for d in devices]
    assert first.error is None and first.samples
    assert (first.samples, first.identity) == (second.samples, second.identity)
    a, b = (collector._sessions[d.id] for d in devices)
    assert a.discovery is not None and b.discovery is not None
    assert_shared(a.discovery, b.discovery)
    assert a.plan is b.plan
