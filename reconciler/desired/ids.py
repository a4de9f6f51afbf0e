"""Allocating OCPP `chargingProfileId`s. Pure.

OCPP scopes ids per charge point and replaces an installed profile when an id is sent again, so an id
must never move to another profile while the charger may still hold the first. The reconciler
therefore allocates ids above every id the station has ever used (its high-water mark) and never
hands one out twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping


def allocate(needing: Iterable[str], taken: Iterable[int], high_water: int = 0) -> Mapping[str, int]:
    """Fresh ids for the names in `needing`, in that order, above `high_water` and every id in `taken`."""
    next_id = max((high_water, *taken), default=0) + 1
    allocated: dict[str, int] = {}
    for name in needing:
        allocated[name] = next_id
        next_id += 1
    return allocated
