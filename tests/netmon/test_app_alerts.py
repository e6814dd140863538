"""The composition root feeds the alert engine: equipment announcing itself next to a router that the
inventory does not hold raises one `unknown_device` incident for the site."""

from __future__ import annotations

import time

from netmon.app import NetmonApp
from netmon.config.loader import Config
from netmon.model import Device, Owner, PollResult, Role, Site, Source


def test_unknown_neighbour_raises_one_incident_and_known_ones_none() -> None:
    site = Site("kim-a", "KIM A", "Karangsalam", "Baturraden", "Banyumas")
    router = Device("a-router", "kim-a", Role.ROUTER, "10.20.1.1", (Source.ROUTEROS,), Owner.PEMDA)
    ap = Device("a-ap", "kim-a", Role.AP, "10.20.1.2", (Source.ROUTEROS,), Owner.PEMDA, parent="a-router")
    app = NetmonApp(Config(sites={"kim-a": site}, devices={"a-router": router, "a-ap": ap}))
    now = time.time()
    app.on_result(PollResult("a-router", Source.ROUTEROS, now, 0.1, neighbours=("10.20.1.2",)))
    assert app.alerts.open_incidents() == []
    for i in range(3):
        app.on_result(PollResult("a-router", Source.ROUTEROS, now + 60 * (i + 1), 0.1,
                                 neighbours=("10.20.1.2", "10.20.1.99")))
    incidents = app.alerts.open_incidents()
    assert [(i.rule, i.site) for i in incidents] == [("unknown_device", "kim-a")]
    assert "10.20.1.99" in incidents[0].subject
