"""Radio facts shared by every collector (pure)."""

from __future__ import annotations

BANDS_MHZ = ((2400, 2500, "2.4GHz"), (4900, 5925, "5GHz"), (5925, 7126, "6GHz"), (57000, 71001, "60GHz"))


def band_of_mhz(mhz: float) -> str | None:
    """The wifi band label of a centre frequency in MHz ("2.4GHz", "5GHz", "6GHz", "60GHz"), or None."""
    for low, high, label in BANDS_MHZ:
        if low <= mhz < high:
            return label
    return None
