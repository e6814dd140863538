"""`Sequencer` (each seq once, in order; holes passed over only when dropped or held too long), the status
decoder (netmon.wire, the one both ends use), and the agents' config checks (one line, file:line:key)."""

from __future__ import annotations

from pathlib import Path

import pytest

from netmon.agents.sequence import Gap, Sequencer
from netmon.config.loader import load_config
from netmon.errors import ConfigError, WireError
from netmon.wire import decode_status


@pytest.mark.parametrize(("offers", "released", "last"), [
    pytest.param([1, 2, 3], [1, 2, 3], 3, id="in-order"),
    pytest.param([1, 1, 2, 1, 2], [1, 2], 2, id="duplicates-skipped"),
    pytest.param([2, 3, 1], [1, 2, 3], 3, id="out-of-order-waits-then-in-order"),
    pytest.param([1, 3, 4], [1], 1, id="hole-waits"),
])
def test_sequencer_hands_each_seq_once_in_order(offers: list[int], released: list[int], last: int) -> None:
    seq: Sequencer[str] = Sequencer()
    out: list[int] = []
    for n in offers:
        for item in seq.offer(n, f"r{n}") or []:
            assert not isinstance(item, Gap)
            out.append(item[0])
    assert (out, seq.last) == (released, last)


def test_a_reported_drop_or_a_long_wait_passes_a_hole() -> None:
    seq: Sequencer[str] = Sequencer(last=10, hold=2)
    assert seq.offer(5, "old") is None  # below the restored mark: already ingested
    assert seq.offer(14, "r14") == []
    assert seq.dropped(11, 13) == [Gap(11, 13, "dropped"), (14, "r14")]
    assert seq.offer(16, "a") == [] and seq.offer(17, "b") == []
    assert seq.offer(18, "c") == [Gap(15, 15, "missing"), (16, "a"), (17, "b"), (18, "c")]


def test_status_decodes_and_rejects_what_is_not_one() -> None:
    status = decode_status(b'{"v":1,"agent":"a","at":5,"online":false,"last_seq":9,'
                           b'"backlog":{"depth":3,"oldest_at":1},"dropped":[{"from_seq":2,"to_seq":4,'
                           b'"from_at":1,"to_at":2,"count":3}]}')
    assert (status.online, status.last_seq, status.backlog_depth, status.dropped[0].count) == (False, 9, 3, 3)
    for bad in (b"", b"[]", b'{"v":2}', b'{"v":1,"agent":"a","at":1,"online":"yes"}',
                b'{"v":1,"agent":"a","at":1,"online":true,"last_seq":5,"backlog":{"depth":0,"oldest_at":null},'
                b'"dropped":[{"from_seq":5,"to_seq":2,"from_at":1,"to_at":2,"count":0}]}'):
        with pytest.raises(WireError):
            decode_status(bad)


BASE = """\
sites:
  - {id: kim-a, name: KIM A, desa: A, kecamatan: Sumbang, kabupaten: Banyumas}
  - {id: kim-b, name: KIM B, desa: B, kecamatan: Sumbang, kabupaten: Banyumas}
devices:
  - {id: a-router, site: kim-a, role: router, address: 10.0.0.1, sources: [ping], interval_s: 120}
  - {id: b-router, site: kim-b, role: router, address: 10.0.1.1, sources: [ping]}
agents:
  list:
    - id: kec-1
      sites: [kim-a]
      username: agent-kec-1
      password: {env: AGENT_KEC_1_PASSWORD}
"""


def test_agents_config_serves_sites_and_the_office_polls_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(BASE)
    config = load_config(path)
    assert list(config.polled_devices()) == ["b-router"]
    assert config.agents.device_agent(config.devices) == {"a-router": "kec-1"}
    agent = config.agents.agents[0]
    assert (agent.silent_after_s, agent.password_ref) == (360.0, "env AGENT_KEC_1_PASSWORD")  # 3 x 120 s


@pytest.mark.parametrize(("extra", "line", "words"), [
    pytest.param("    - id: kec-2\n      sites: [kim-c]\n", 14, "agents.list[1].sites[0]: unknown site 'kim-c'",
                 id="unknown-site"),
    pytest.param("    - id: kec-2\n      sites: [kim-b, kim-a]\n", 14,
                 "agents.list[1].sites[1]: site 'kim-a' is already served by agent 'kec-1'", id="site-twice"),
    pytest.param("    - id: kec-1\n      sites: [kim-b]\n", 13, "agents.list[1].id: agent 'kec-1' is declared twice",
                 id="agent-twice"),
])
def test_agents_config_errors_name_file_line_key(tmp_path: Path, extra: str, line: int, words: str) -> None:
    path = tmp_path / "netmon.yaml"
    path.write_text(BASE + extra)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}:{line}: {words}" + str(err.value).split(words, 1)[1]
