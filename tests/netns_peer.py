"""A site behind carrier-grade NAT, built from network namespaces for a test (issue #14, "Done when"):

    host (office: broker, `netmon run`)     CPE namespace (the site's router)          site namespace
    nmh<id> 100.64.<n>.1/30 <-- veth --> nmu<id> 100.64.<n>.2/30
                                         nml<id> 10.<a>.<b>.1/24   <-- veth -->      nms<id> 10.<a>.<b>.2/24
                                         nft masquerade out of nmu                   (agent, devices)

The site namespace's default route is the CPE; the CPE forwards and masquerades what leaves its uplink, so
the broker sees the CPE's uplink address, never the site's. The host has a route to the CPE's uplink /30
only: nothing on the host can open a connection into the site namespace. `cut()` drops every forwarded
packet in the CPE (the uplink gone, silently: no RST), `mend()` removes the drop. Addresses: the shared
address space of RFC 6598 (100.64.0.0/10, what carriers number CGNAT uplinks with) and RFC 1918 inside the
namespaces only; names are unique per run. `down()` removes both namespaces (and with them every veth end and
nft rule: the host's own firewall is never touched).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from dataclasses import dataclass, field

from peers import require

TABLE = "netmon_test"


def _run(*args: str) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def netns_reason() -> str | None:
    """Why namespaces cannot be built here (None: they can)."""
    if os.geteuid() != 0:
        return "network namespaces need root (ip netns add)"
    for tool, package in (("ip", "iproute2"), ("nft", "nftables")):
        if shutil.which(tool) is None:
            return f"`{tool}` not found; install Debian package `{package}`"
    return None


@dataclass
class NattedSite:
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    built: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        n = int(self.tag, 16)
        self.site_ns, self.cpe_ns = f"nmsite{self.tag}", f"nmcpe{self.tag}"
        self.host_if, self.up_if, self.lan_if, self.site_if = (f"nm{c}{self.tag}" for c in "huls")
        third = n % 250 + 1
        self.host_addr, self.cpe_addr = f"100.64.{third}.1", f"100.64.{third}.2"
        self.lan_prefix = f"10.{n % 200 + 20}.{(n >> 8) % 250 + 1}"
        self.gateway, self.site_addr = f"{self.lan_prefix}.1", f"{self.lan_prefix}.2"

    def exec(self) -> list[str]:
        """The prefix that runs a command inside the site namespace."""
        return ["ip", "netns", "exec", self.site_ns]

    def up(self) -> None:
        reason = netns_reason()
        require(reason is None, f"cannot build the NAT'd site namespace: {reason}")
        try:
            self._build()
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            self.down()
            require(False, f"cannot build the NAT'd site namespace: {exc}")

    def _build(self) -> None:
        cpe, site = ["ip", "netns", "exec", self.cpe_ns], self.exec()
        for ns in (self.cpe_ns, self.site_ns):
            _run("ip", "netns", "add", ns)
            self.built.append(ns)
        _run("ip", "link", "add", self.host_if, "type", "veth", "peer", "name", self.up_if)
        self.built.append(self.host_if)
        _run("ip", "link", "set", self.up_if, "netns", self.cpe_ns)
        _run("ip", "addr", "add", f"{self.host_addr}/30", "dev", self.host_if)
        _run("ip", "link", "set", self.host_if, "up")
        _run("ip", "link", "add", self.lan_if, "netns", self.cpe_ns, "type", "veth", "peer", "name", self.site_if,
             "netns", self.site_ns)
        _run(*cpe, "ip", "addr", "add", f"{self.cpe_addr}/30", "dev", self.up_if)
        _run(*cpe, "ip", "addr", "add", f"{self.gateway}/24", "dev", self.lan_if)
        for dev in ("lo", self.up_if, self.lan_if):
            _run(*cpe, "ip", "link", "set", dev, "up")
        _run(*cpe, "ip", "route", "add", "default", "via", self.host_addr)
        _run(*cpe, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")  # this namespace's own setting
        _run(*cpe, "nft", f"add table ip {TABLE}; "
             f"add chain ip {TABLE} nat {{ type nat hook postrouting priority 100 ; }}; "
             f"add rule ip {TABLE} nat oifname {self.up_if} masquerade; "
             f"add chain ip {TABLE} cut {{ type filter hook forward priority 0 ; policy accept ; }}")
        _run(*site, "ip", "addr", "add", f"{self.site_addr}/24", "dev", self.site_if)
        for dev in ("lo", self.site_if):
            _run(*site, "ip", "link", "set", dev, "up")
        _run(*site, "ip", "route", "add", "default", "via", self.gateway)

    def host_routes_into_site(self) -> bool:
        """Whether the host would send a packet for the site namespace's address through our veth."""
        said = subprocess.run(["ip", "route", "get", self.site_addr], capture_output=True, text=True).stdout
        return f"dev {self.host_if}" in said

    def cut(self) -> None:
        _run("ip", "netns", "exec", self.cpe_ns, "nft", f"add rule ip {TABLE} cut drop")

    def mend(self) -> None:
        _run("ip", "netns", "exec", self.cpe_ns, "nft", f"flush chain ip {TABLE} cut")

    def down(self) -> None:
        """Remove what was built (deleting a namespace deletes its veth ends and nft tables)."""
        for name in reversed(self.built):
            if name.startswith("nm") and name in (self.cpe_ns, self.site_ns):
                subprocess.run(["ip", "netns", "del", name], capture_output=True)
            else:
                subprocess.run(["ip", "link", "del", name], capture_output=True)
        self.built.clear()
