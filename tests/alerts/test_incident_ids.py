"""Incident ids: stable per rule, subject and the minute an episode began (retries and restarts give the same
id), but a second episode that begins in the same minute as one already closed (a flapping uplink, an agent
silent twice within a minute) is an incident of its own: it must not rewrite the closed one."""

from __future__ import annotations

from alerts.incident import IncidentBook, incident_id
from alerts.rules import AGENT_SILENT
from netmon.model import AlertEvent, Site, Transition

SITE = Site("kim-ketenger", "KIM Curug Ketenger", "Ketenger", "Baturraden", "Banyumas")
T0 = 1_796_160_720.0  # the start of a minute


def _event(transition: Transition, at: float) -> AlertEvent:
    return AlertEvent(AGENT_SILENT, SITE.id, transition, at, labels=(("site", SITE.id),))


def test_the_same_episode_has_the_same_id() -> None:
    assert incident_id(AGENT_SILENT, SITE.id, T0 + 5) == incident_id(AGENT_SILENT, SITE.id, T0 + 50)


def test_a_second_episode_in_the_same_minute_is_its_own_incident() -> None:
    book = IncidentBook({}, {SITE.id: SITE})
    [first] = book.apply(_event(Transition.FIRING, T0 + 7), started_at=T0 + 1)
    [closed] = book.apply(_event(Transition.RESOLVED, T0 + 30))
    [second] = book.apply(_event(Transition.FIRING, T0 + 45), started_at=T0 + 44)
    assert first.kind == "opened" and closed.kind == "resolved" and second.kind == "opened"
    assert closed.incident.id == first.incident.id
    assert second.incident.id != first.incident.id
    assert (second.incident.opened_at, second.incident.resolved_at) == (T0 + 44, None)
    # an episode in a later minute is back to the minute's id
    [_closed] = book.apply(_event(Transition.RESOLVED, T0 + 50))
    [third] = book.apply(_event(Transition.FIRING, T0 + 130), started_at=T0 + 130)
    assert third.incident.id == incident_id(AGENT_SILENT, SITE.id, T0 + 130)
