"""Which profiles may fit a device, from its sysObjectID and sysDescr, most specific first."""

from __future__ import annotations

from collections.abc import Iterable

from collectors.snmp.spec import MatchRule, ProfileSpec


def _prefix_arcs(sys_object_id: str, prefix: str) -> int | None:
    """Number of arcs of `prefix` if sys_object_id equals it or lies under it, else None."""
    oid = sys_object_id.strip(".")
    if oid == prefix or oid.startswith(prefix + "."):
        return prefix.count(".") + 1
    return None


def rule_score(rule: MatchRule, sys_object_id: str, sys_descr: str) -> tuple[int, int, int] | None:
    """Specificity of a matching rule: (sysObjectID prefix arcs, has sysDescr regex, no probe needed)."""
    arcs = 0
    if rule.sys_object_id:
        hits = [a for p in rule.sys_object_id if (a := _prefix_arcs(sys_object_id, p)) is not None]
        if not hits:
            return None
        arcs = max(hits)
    if rule.sys_descr is not None and not rule.sys_descr.search(sys_descr):
        return None
    if not rule.sys_object_id and rule.sys_descr is None:
        return None
    return arcs, int(rule.sys_descr is not None), int(rule.probe is None)


def rank(specs: Iterable[ProfileSpec], sys_object_id: str,
         sys_descr: str) -> list[tuple[ProfileSpec, MatchRule]]:
    """Matching (profile, best rule) pairs, most specific first; ties broken by profile name."""
    scored = []
    for spec in specs:
        best: tuple[tuple[int, int, int], MatchRule] | None = None
        for rule in spec.match:
            score = rule_score(rule, sys_object_id, sys_descr)
            if score is not None and (best is None or score > best[0]):
                best = (score, rule)
        if best is not None:
            scored.append((best[0], spec, best[1]))
    scored.sort(key=lambda item: (tuple(-s for s in item[0]), item[1].name))
    return [(spec, rule) for _, spec, rule in scored]
