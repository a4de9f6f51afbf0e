"""How long a window of composite schedules may be asked for: `reconciler schedule --hours` and
`reconciler drift --hours` lay composites out over a window of a person's choosing, up to a year. Pure.

Their work and their output grow with the pieces of the profiles laid out in the window
(`schedule.pieces_within`, about a period each), which are counted from the profiles' fields before
any is laid out, and refused past `MAX_COMPOSITE_PIECES`. A day of any site within the bound of a site
file fits: the densest, 30 connectors of minute tariffs in 1 MB, lays out 30,000 a day (stations of
one kind count once); so does a year of a station of 30 connectors with four periods a day. A year of
the densest, 11 million pieces, took three minutes and 5 GB.
"""

from __future__ import annotations

MAX_COMPOSITE_PIECES = 50_000


class WindowTooLongError(ValueError):
    """The composites asked for would lay out more pieces of their profiles than `MAX_COMPOSITE_PIECES`;
    `fix` says what to ask for instead."""

    def __init__(self, pieces: int, duration_s: int, *, stations: int) -> None:
        asked = "the schedule asked for" if stations == 1 else f"the schedules of {stations} stations"
        super().__init__(
            f"{asked} would lay out {pieces:,} periods of the profiles, more than the "
            f"{MAX_COMPOSITE_PIECES:,} worked out at once"
        )
        hours = duration_s * MAX_COMPOSITE_PIECES // pieces // 3600
        shorter = f"fewer hours (at most about {hours} here)" if hours >= 1 else "a window of under an hour"
        self.fix = f"ask for {shorter}" + (", or for one station" if stations > 1 else "")


def check(pieces: int, duration_s: int, *, stations: int) -> None:
    """Refuse (`WindowTooLongError`) composites of `stations` stations over `duration_s` that would lay
    out `pieces` pieces of their profiles, when that is more than `MAX_COMPOSITE_PIECES`."""
    if pieces > MAX_COMPOSITE_PIECES:
        raise WindowTooLongError(pieces, duration_s, stations=stations)
