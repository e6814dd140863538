"""deploy/routeros/netmon-push.rsc as far as it can be checked without a router: it tokenises as RouterOS script
(strings closed, brackets balanced, also inside every `:parse`d string), `/tool fetch` gets only options the
manual lists, and the JSON keys it writes are exactly, and in the order, those the endpoint requires
(collectors.push.payload). Then the JSON the script would build from the corpus' real RouterOS replies is
accepted and yields what the API collector yields from the same replies."""

from __future__ import annotations

import json
import re
from pathlib import Path

from collectors.push.heartbeat import heartbeat_samples, router_time
from collectors.push.payload import LISTS, OBJECTS, TOP, parse
from collectors.routeros.menus import (
    dhcp_lease_samples,
    health_samples,
    interface_samples,
    registration_samples,
    resource_samples,
    with_idle_interfaces,
)
from collectors.routeros.parse import duration_s
from netmon.simulate.routeros.push import j, script_duration

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "routeros" / "netmon-push.rsc"
CORPUS = REPO.parent / "shared" / "corpus" / "routeros" / "fixtures"
# /tool fetch arguments in the MikroTik manual (cli-reference/tool/fetch)
FETCH_OPTIONS = {"url", "output", "http-method", "http-auth-scheme", "http-data", "http-header-field",
                 "check-certificate", "certificate", "address", "src-address", "port", "mode", "http-content-encoding",
                 "ip-type", "src-path", "dst-path", "user", "password", "host", "ascii", "upload",
                 "sftp-known-hosts-ignore", "keep-result", "idle-timeout", "http-max-redirect-count",
                 "http-percent-encoding", "http-version", "as-value", "duration"}
PAIRS = {")": "(", "]": "[", "}": "{"}


def tokens_balanced(text: str) -> list[str]:
    """Problems found: an unclosed string, a bracket closed by the wrong kind or never closed. Strings are
    `"..."` with backslash escapes; `#` at a token start comments to the end of the line."""
    problems, stack, i = [], [], 0
    while i < len(text):
        c = text[i]
        if c == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                return [*problems, f"string opened at {i} never closed"]
            i = end + 1
            continue
        if c == "#" and (i == 0 or text[i - 1] in " \t\n"):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
            continue
        if c in "([{":
            stack.append((c, i))
        elif c in ")]}":
            if not stack or stack[-1][0] != PAIRS[c]:
                problems.append(f"{c} at {i} closes nothing of its kind")
            else:
                stack.pop()
        i += 1
    return problems + [f"{c} at {at} never closed" for c, at in stack]


def unescape(literal: str) -> str:
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)), literal)


def test_the_script_tokenises_with_balanced_strings_and_brackets() -> None:
    text = SCRIPT.read_text()
    assert text.isascii() and "\r" not in text
    assert tokens_balanced(text) == []
    assert text.count("{") == text.count("}") and text.startswith("# netmon-push.rsc")


STRING = r'"((?:[^"\\]|\\.)*)"'


def parsed_code(text: str) -> list[str]:
    """The code of every `[:parse "..."]`, and of every `[:parse ("..." . $m . "...")]` with `$m` as `X`."""
    found = [unescape(m) for m in re.findall(r":parse " + STRING, text)]
    for expression in re.findall(r':parse \(((?:"(?:[^"\\]|\\.)*"|[^)"])*)\)', text):
        found.append("X".join(unescape(m) for m in re.findall(STRING, expression)))
    return found


def test_every_parsed_string_is_balanced_script_too() -> None:
    code = parsed_code(SCRIPT.read_text())
    assert len(code) == 8  # health, wireless x2, hotspot x3, dhcp x2
    for snippet in code:
        assert tokens_balanced(snippet) == [], snippet
        assert snippet.startswith(":return [/")


def test_tool_fetch_gets_only_documented_options() -> None:
    text = SCRIPT.read_text().replace("\\\n", " ")
    command = text[text.index("/tool fetch"):].split("\n", 1)[0]
    used = set(re.findall(r"\s([a-z-]+)=", command))
    assert used <= FETCH_OPTIONS, used - FETCH_OPTIONS
    assert {"url", "http-method", "http-header-field", "http-data", "check-certificate"} <= used
    assert 'http-header-field=("Authorization: Bearer " . $token . ",Content-Type: application/json")' in command


def test_the_json_keys_the_script_writes_are_the_endpoints_in_order() -> None:
    written = re.findall(r'\\"([a-z.-]+)\\":', SCRIPT.read_text())
    expected: list[str] = []
    for name in TOP:  # an object's name comes before its keys; a list's rows are built before it is named
        expected += [name, *OBJECTS[name]] if name in OBJECTS else [*LISTS.get(name, ()), name]
    assert written == expected


def _corpus(name: str) -> list[dict[str, object]]:
    data = json.loads((CORPUS / name).read_text())
    rows = data["data"] if isinstance(data, dict) and "data" in data else data
    return rows if isinstance(rows, list) else [rows]


def test_the_body_built_from_real_replies_is_accepted_and_maps_as_the_api_does() -> None:
    """Replies: RouterOS 7.16 hAP ac^2 (Telegraf's REST recordings) and a CCR2004's /system/health (napalm-ros,
    7.4). The clock is the date and time form of a recorded timestamp; no recording has a gmt-offset, so 0."""
    resource = _corpus("telegraf/system_resourses.json")[0]
    board = _corpus("telegraf/system_routerboard.json")[0]
    # the recording repeats `ether2` (an edit; a router cannot, and the API collector then labels by `.id`,
    # which the push does not carry): the first row of each name only
    interfaces = list({str(r["name"]): r for r in reversed(_corpus("telegraf/interface.json")) if r}.values())[::-1]
    health = [{k: str(v) for k, v in r.items()}
              for r in _corpus("napalm-ros/test_get_environment__CCR2004-16G-2Splus__system_health_print.json")]
    registrations = _corpus("telegraf/interface_wireless_registration.json")
    leases = _corpus("telegraf/ip_dhcp_server_lease.json")
    date, time = str(interfaces[0]["last-link-up-time"]).split(" ")
    uptime = duration_s(str(resource["uptime"]))
    assert uptime is not None

    def obj(pairs: list[tuple[str, object]]) -> str:
        return "{" + ",".join(f"{j(k)}:{j(v)}" for k, v in pairs) + "}"

    reg_interfaces = sorted({str(r["interface"]) for r in registrations})
    wireless = [obj([("menu", "wireless"), ("name", n), ("ssid", ""), ("band", ""), ("frequency", ""),
                     ("master-interface", ""),
                     ("clients", sum(r["interface"] == n and r["ap"] != "true" and r["wds"] != "true"
                                     for r in registrations)),
                     ("peers", sum(r["interface"] == n and (r["ap"] == "true" or r["wds"] == "true")
                                   for r in registrations))]) for n in reg_interfaces]
    servers = sorted({str(r["server"]) for r in leases})
    body = ('{"v":1,"clock":' + obj([("date", date), ("time", time), ("gmt-offset", 0)])
            + ',"resource":' + obj([("uptime", script_duration(uptime))]
                                   + [(k, resource[k]) for k in OBJECTS["resource"][1:]])
            + ',"routerboard":' + obj([(k, board[k]) for k in OBJECTS["routerboard"]])
            + ',"health":[' + ",".join(obj([(k, r.get(k, "")) for k in LISTS["health"]]) for r in health) + "]"
            + ',"interfaces":[' + ",".join(obj([(k, r.get(k, "")) for k in LISTS["interfaces"]])
                                          for r in interfaces) + "]"
            + ',"wireless":[' + ",".join(wireless) + "]"
            + ',"hotspot":[]'
            + ',"dhcp":[' + ",".join(obj([("server", s), ("bound", sum(r["server"] == s and r["status"] == "bound"
                                                                       for r in leases))]) for s in servers) + "]}")
    beat = parse(body.encode())
    rows = [{k: str(v) for k, v in r.items()} for r in registrations]
    api = (resource_samples([{k: str(v) for k, v in resource.items()}]) + health_samples(health)
           + interface_samples([{k: str(v) for k, v in r.items()} for r in interfaces])
           + with_idle_interfaces(registration_samples(rows, {}), {})
           + dhcp_lease_samples([{k: str(v) for k, v in r.items()} for r in leases]))
    assert sorted(heartbeat_samples(beat), key=repr) == sorted(api, key=repr)
    assert router_time(beat.clock) == 1729374872.0  # 2024-10-19 21:54:32 at offset 0
