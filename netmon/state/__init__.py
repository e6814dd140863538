"""Availability state machine, reboot detection, maintenance windows and outage classification (pure;
`keeper.py` runs them in the daemon and says what changed).

See docs/state.md for the rules.
"""

from netmon.state.availability import AvailabilityTracker
from netmon.state.maintenance import in_maintenance
from netmon.state.outage import OutageEvent, OutageTracker

__all__ = ["AvailabilityTracker", "OutageEvent", "OutageTracker", "in_maintenance"]
