"""What a plan does to power limits: each change rated by composite schedules, and the before/after view.

`site.build` asks a `StationRater` how each change moves a station's limits, which decides the order
changes are sent in; it also hands a `PowerBasis` to the plan, from which the renderers draw each
touched station's limit and the site's combined limit before and after (`PowerBasis.view`, computed
on first use, so a plan nobody reads never pays for it). `gridguard` sums station totals the same
way. Pure.

How a change is rated. "Before" is what recorded state says a station holds (its non-retired
records, on their connectors); "after" is that with the one change applied as a charger applies it:
a set replaces the profile with its chargingProfileId and the one in its (connector, purpose, stack
level) slot, a clear removes its id. The station's composite (connector 0, the station total, in W at
the site's nominal voltage) and the composite of every connector the change touches are compared
over the window: the change lowers if the limit is nowhere higher after, raises if it is nowhere
lower, and does both otherwise; "no limit" is above any number. A change that moves nothing (hidden
below a higher stack level, or a resend of what is recorded) is nowhere higher, so it rates as
lowering and goes out with the first group, where it can do no harm. Each change is judged alone:
two changes that each move nothing may together raise a limit (a new profile set just below the top
one, and the top one moved below it by a second change), which this rating cannot see.

The station total need not be computed when a change touches only connectors above 0: a connector's
composite is its transaction limit capped by the station's ChargePointMaxProfile, and the total is
the sum of those limits under the same cap, so wherever the total rises (falls) some touched
connector's composite rises (falls) too, and where they all stay put so does the total (limits are
never negative; values are compared after rounding down to 0.1 W, so a change smaller than that can
go unseen). A change on connector 0 (a station cap, a default for every connector) is compared on
the total and on every connector.

The window is the next 24 hours from the plan's `now`, or 7 days when a Weekly profile is on either
side. Order only matters while a plan is being applied, and a run of it stopped halfway may stand
for a while, so a full day (a week for weekly cycles) of the state in between is what is judged.
Session caps do not count: with no session assumed, a TxProfile applies nowhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from reconciler.ocpp.profile import DAY_S, WEEK_S, Json, slot
from reconciler.ocpp.recurrence import reach
from reconciler.ocpp.schedule import CompositePeriod, Installed, composite_schedules
from reconciler.ocpp.steps import site_total_w
from reconciler.state.recorded import ProfileRecord

# Installed profiles of one station by chargingProfileId, which a charger keeps unique.
Store = Mapping[int, Installed]


def store_of(records: Iterable[ProfileRecord]) -> dict[int, Installed]:
    """What a station holds by its records (the caller leaves the retired ones out)."""
    return {r.charging_profile_id: Installed(r.connector_id, r.payload, r.payload_hash) for r in records}


def after_set(
    store: Store, connector_id: int, payload: Json, digest: str | None = None
) -> dict[int, Installed]:
    """`store` once a charger has taken a SetChargingProfile: same id and same slot replaced.
    `digest` is the payload's hash, when known."""
    taken = slot(connector_id, payload)
    kept = {
        key: item
        for key, item in store.items()
        # `slot` takes a dict; the shallow copy of a handful of top-level keys is all it costs.
        if key != payload["chargingProfileId"] and slot(item.connector_id, item.payload) != taken
    }
    kept[int(payload["chargingProfileId"])] = Installed(connector_id, payload, digest)
    return kept


def after_clear(store: Store, profile_id: int) -> dict[int, Installed]:
    """`store` once a charger has cleared `profile_id` (a clear by id ignores the other criteria)."""
    return {key: item for key, item in store.items() if key != profile_id}


def window_s(*stores: Iterable[Installed]) -> int:
    """Seconds to look ahead: a week when any of the profiles repeats weekly, else a day."""
    weekly = any(item.payload.get("recurrencyKind") == "Weekly" for store in stores for item in store)
    return WEEK_S if weekly else DAY_S


def only_lowered(old: Json, new: Json) -> bool:
    """Whether `new` is `old` with some period limits lowered and nothing else changed.

    A composite schedule never rises where one period's limit falls and nothing else changes: the
    limit either is the one in force at an instant or is hidden there (which profile wins, and when,
    depends on stack levels, validity and periods' starts, not on limits), and the station total is
    built from it by sums, minimums, positive A<->W factors and rounding down, all of which keep order.
    So such a set is never rated as raising, whatever the other profiles.
    """
    old_schedule, new_schedule = old.get("chargingSchedule"), new.get("chargingSchedule")
    if not isinstance(old_schedule, dict) or not isinstance(new_schedule, dict):
        return False
    old_periods = old_schedule.get("chargingSchedulePeriod")
    new_periods = new_schedule.get("chargingSchedulePeriod")
    if not isinstance(old_periods, list) or not isinstance(new_periods, list):
        return False
    if len(old_periods) != len(new_periods):
        return False
    for was, now in zip(old_periods, new_periods, strict=True):
        if was.keys() != now.keys() or any(was[key] != now[key] for key in was if key != "limit"):
            return False
        if not now["limit"] <= was["limit"]:
            return False
    return _without(old, "chargingSchedule") == _without(new, "chargingSchedule") and _without(
        old_schedule, "chargingSchedulePeriod"
    ) == _without(new_schedule, "chargingSchedulePeriod")


def _without(payload: Json, key: str) -> Json:
    return {name: value for name, value in payload.items() if name != key}


@dataclass(frozen=True, slots=True)
class Shift:
    """Whether a limit went down somewhere (`lower`) and up somewhere (`higher`) between two schedules."""

    lower: bool = False
    higher: bool = False

    def __or__(self, other: Shift) -> Shift:
        return Shift(self.lower or other.lower, self.higher or other.higher)


def shift(before: Sequence[CompositePeriod], after: Sequence[CompositePeriod]) -> Shift:
    """How `after` differs from `before`, two schedules covering the same window; None is no limit."""
    lower = higher = False
    i = j = 0
    while i < len(before) and j < len(after):
        was, now = before[i].limit, after[j].limit
        if was != now:
            if now is None or (was is not None and now > was):
                higher = True
            else:
                lower = True
        end_before, end_after = before[i].end, after[j].end
        i += end_before <= end_after
        j += end_after <= end_before
    return Shift(lower, higher)


@dataclass(frozen=True, slots=True)
class Station:
    """The facts a station's composite needs: its connectors and the site's nominal voltage."""

    connectors: int
    voltage_v: Decimal

    def total_w(self, store: Iterable[Installed], start: datetime, duration_s: int) -> list[CompositePeriod]:
        """The station total (connector 0) in W; None where some connector has no limit."""
        return self.limits_w(store, (0,), start, duration_s)[0]

    def limits_w(
        self,
        store: Iterable[Installed],
        connector_ids: Iterable[int],
        start: datetime,
        duration_s: int,
        within: tuple[datetime, datetime] | None = None,
    ) -> dict[int, list[CompositePeriod]]:
        """Each connector's composite (0: the station total) in W over [start, start + duration_s), or
        over the stretch `within` it (see `composite_schedules`)."""
        items = list(store)
        # A record may still sit on a connector the desired station no longer declares.
        connectors = max((self.connectors, *(item.connector_id for item in items)))
        return composite_schedules(
            items,
            connector_ids,
            start,
            duration_s,
            unit="W",
            connectors=connectors,
            voltage_v=self.voltage_v,
            within=within,
        )


@dataclass
class StationRater:
    """Rates changes of one station against what it holds now; the "before" composites are computed once."""

    station: Station
    before: Store
    now: datetime
    # The "before" composites by (connector, window length), computed once per station.
    _before: dict[tuple[int, int], list[CompositePeriod]] = field(default_factory=dict)

    def rate_set(self, connector_id: int, payload: Json) -> Shift:
        return self._rate(after_set(self.before, connector_id, payload))

    def never_raises(self, connector_id: int, payload: Json) -> bool:
        """Whether no composite can rise by the set, so that `rate_set` need not compute one to say so:
        the station holds nothing (no limit anywhere, above any a profile brings), or the set is the same
        profile, in its own slot alone, with no limit higher (see `only_lowered`)."""
        if not self.before:
            return True
        held = self.before.get(payload["chargingProfileId"])
        if held is None or held.connector_id != connector_id or not only_lowered(dict(held.payload), payload):
            return False
        taken = slot(connector_id, payload)
        return not any(
            key != payload["chargingProfileId"] and slot(item.connector_id, item.payload) == taken
            for key, item in self.before.items()
        )

    def rate_clear(self, profile_id: int) -> Shift:
        return self._rate(after_clear(self.before, profile_id))

    def _rate(self, after: Store) -> Shift:
        gone = [item for key, item in self.before.items() if after.get(key) != item]
        came = [item for key, item in after.items() if self.before.get(key) != item]
        if not gone and not came:
            return Shift()
        touched = {item.connector_id for item in (*gone, *came)}
        # Off connector 0 the station total moves only where, and the way, a touched connector does.
        connectors = [0, *range(1, self.station.connectors + 1)] if 0 in touched else sorted(touched)
        duration_s = window_s(self.before.values(), after.values())
        # Nothing moves where no profile that came or went applies: a composite is worked out over the
        # stretch where one does, when it is short (a station of 100 profiles of short slots rates each
        # change over its slot, not the day), else over the window, whose "before" is worked out once.
        span = self._span((*gone, *came), duration_s)
        if span is None:
            return Shift()
        if (span[1] - span[0]).total_seconds() * 2 > duration_s:
            before = self._before_limits(connectors, duration_s)
            after_limits = self.station.limits_w(after.values(), connectors, self.now, duration_s)
        else:
            before = self.station.limits_w(self.before.values(), connectors, self.now, duration_s, span)
            after_limits = self.station.limits_w(after.values(), connectors, self.now, duration_s, span)
        result = Shift()
        for connector_id in connectors:
            result |= shift(before[connector_id], after_limits[connector_id])
        return result

    def _span(self, items: Sequence[Installed], duration_s: int) -> tuple[datetime, datetime] | None:
        """From where the first of `items` may apply in the window to where the last may (`reach`, from
        their fields), or None when none ever does."""
        end = self.now + timedelta(seconds=duration_s)
        reached = [r for item in items if (r := reach(item.timed(), self.now, end, self.now)) is not None]
        return (min(r[0] for r in reached), max(r[1] for r in reached)) if reached else None

    def _before_limits(
        self, connector_ids: Sequence[int], duration_s: int
    ) -> dict[int, list[CompositePeriod]]:
        missing = [c for c in connector_ids if (c, duration_s) not in self._before]
        if missing:
            found = self.station.limits_w(self.before.values(), missing, self.now, duration_s)
            self._before.update(((c, duration_s), limits) for c, limits in found.items())
        return {c: self._before[c, duration_s] for c in connector_ids}


@dataclass(frozen=True, slots=True)
class StationBasis:
    """One station of a planned site: what it holds before the plan and after all of its changes."""

    station_id: str
    station: Station
    rated_w: Decimal | None  # None when desired state does not declare the station any more
    before: tuple[Installed, ...]
    after: tuple[Installed, ...]
    touched: bool  # the plan sends something to it

    @property
    def kind(self) -> Hashable | None:
        """What its totals follow from (its facts, and the payloads it holds before and after, by hash):
        stations of one kind have the same totals. None when a payload's hash is not known."""
        held = [(i.connector_id, i.digest) for i in (*self.before, *self.after)]
        if any(digest is None for _, digest in held):
            return None
        return self.station, len(self.before), tuple(held), self.touched


@dataclass(frozen=True, slots=True)
class StationPower:
    """A touched station's total (W) before and after the plan."""

    station_id: str
    rated_w: Decimal | None
    before: tuple[CompositePeriod, ...]
    after: tuple[CompositePeriod, ...]


@dataclass(frozen=True)
class PowerView:
    """The limits a plan changes, over [start, start + duration_s).

    `combined_*` is the site's combined limit: the sum of every station's total, each counted at its
    rated power where it has no limit and never above it; stations without a declared rated power
    (only in recorded state) are left out and named in `left_out`. It is worked out on first use: the
    text plan draws the touched stations alone, and the sum needs the total of every other one too.
    """

    start: datetime
    duration_s: int
    voltage_v: Decimal
    stations: tuple[StationPower, ...]
    _combine: Callable[[], Combined] = field(repr=False, compare=False)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.duration_s)

    @functools.cached_property
    def _combined(self) -> Combined:
        return self._combine()

    @property
    def combined_before(self) -> tuple[tuple[datetime, Decimal], ...]:
        return self._combined[0]

    @property
    def combined_after(self) -> tuple[tuple[datetime, Decimal], ...]:
        return self._combined[1]

    @property
    def left_out(self) -> tuple[str, ...]:
        return self._combined[2]


# A station's total before and after the plan.
Totals = tuple[tuple[CompositePeriod, ...], tuple[CompositePeriod, ...]]
# The site's combined limit before and after, and the stations left out of it.
Combined = tuple[tuple[tuple[datetime, Decimal], ...], tuple[tuple[datetime, Decimal], ...], tuple[str, ...]]


@dataclass(frozen=True)
class PowerBasis:
    """The inputs of a site's power view, cheap to gather; `view` does the composites once, when asked."""

    start: datetime
    stations: tuple[StationBasis, ...]
    grid_limit_w: Decimal | None = None  # the site's grid connection, when its desired state declares one

    @functools.cached_property
    def view(self) -> PowerView:
        duration_s = window_s(*(s.before for s in self.stations), *(s.after for s in self.stations))
        totals_of = _Totals(self.start, duration_s)
        # Shown stations first: the text plan draws the touched stations alone, the sum needs every one.
        totals = {s.station_id: totals_of(s) for s in self.stations if s.touched}
        shown = tuple(
            StationPower(s.station_id, s.rated_w, *totals[s.station_id]) for s in self.stations if s.touched
        )
        stations = self.stations  # the view refers to these, not to this basis, which refers to the view

        def combine() -> Combined:
            rated = [
                (totals.get(s.station_id) or totals_of(s), s.rated_w)
                for s in stations
                if s.rated_w is not None
            ]
            before = site_total_w((pair[0], rated_w) for pair, rated_w in rated)
            after = site_total_w((pair[1], rated_w) for pair, rated_w in rated)
            left_out = tuple(s.station_id for s in stations if s.rated_w is None)
            return tuple(before), tuple(after), left_out

        voltage_v = stations[0].station.voltage_v if stations else Decimal(230)
        return PowerView(self.start, duration_s, voltage_v, shown, combine)


class _Totals:
    """Each station's total before and after, over `duration_s` from `start`, worked out once per kind:
    stations of one kind (a depot's bays placed from the same templates) share their totals, so a
    template of 96 periods on 1,000 stations is one station's composites, not 1,000."""

    def __init__(self, start: datetime, duration_s: int) -> None:
        self.start = start
        self.duration_s = duration_s
        self.kinds: dict[Hashable, Totals] = {}

    def __call__(self, basis: StationBasis) -> Totals:
        kind = basis.kind
        if kind is None:
            return self._worked_out(basis)
        if kind not in self.kinds:
            self.kinds[kind] = self._worked_out(basis)
        return self.kinds[kind]

    def _worked_out(self, basis: StationBasis) -> Totals:
        """A station's total before and after; an untouched station holds the same on both sides."""
        # Read afresh (once for both sides), so that the plan, kept until it is rendered, does not
        # keep each profile's laid-out pieces (`Installed` keeps them while it lives).
        fresh = {id(item): Installed(item.connector_id, item.payload) for item in basis.before + basis.after}
        start, duration_s = self.start, self.duration_s
        before = tuple(basis.station.total_w([fresh[id(i)] for i in basis.before], start, duration_s))
        if not basis.touched:
            return before, before
        after = basis.station.total_w([fresh[id(i)] for i in basis.after], start, duration_s)
        return before, tuple(after)
