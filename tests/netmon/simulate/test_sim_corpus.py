"""Faithfulness: every corpus recording, served by the simulator and walked by net-snmp, equals the file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from peers import require
from snmp_cli import expected, run, v2c, value_of, varbinds

from netmon.simulate import snmprec
from netmon.simulate.snmp_agent import SnmpSimulator

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]

CORPUS = Path(__file__).resolve().parents[4] / "shared" / "corpus" / "snmprec"
FILES = sorted(CORPUS.glob("*.snmprec"))


@pytest_asyncio.fixture(loop_scope="module", scope="module", params=[True, False], ids=["fast-v2c", "pysnmp"])
async def corpus_port(request: pytest.FixtureRequest) -> AsyncIterator[int]:
    require(bool(FILES), f"no SNMP recordings at {CORPUS} (../shared/corpus beside the checkout)")
    simulator = SnmpSimulator(fast_v2c=request.param)
    port = simulator.add_directory(CORPUS)
    await simulator.start()
    yield port
    await simulator.stop()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
async def test_bulkwalk_of_corpus_file_equals_the_recording(corpus_port: int, path: Path) -> None:
    records = sorted(snmprec.load(path), key=lambda r: r.oid)
    result = await run("snmpbulkwalk", "-Cr25", *v2c(path.stem, corpus_port), ".1", timeout_s=5)
    assert result.rc == 0, result.err
    walked = varbinds(result.out)
    assert value_of(walked[-1][1])[0] == "endOfMibView"
    assert [oid for oid, _ in walked[:-1]] == [r.oid_text for r in records]
    for record, (_, shown) in zip(records, walked, strict=False):
        kind, value = value_of(shown)
        want_kind, want = expected(record)
        if want_kind == "OID":
            want = str(want).lstrip(".")
        assert (kind, value) == (want_kind, want), record.oid_text
