"""The plan's safety rails: refuse plans that clear a whole site or change too much of it. Pure."""

from __future__ import annotations

from decimal import Decimal

from reconciler.errors import UnsafePlanError
from reconciler.plan.change import Action
from reconciler.plan.site import SitePlan
from reconciler.state.recorded import Status


def check_safety(plan: SitePlan, force: bool) -> None:
    """Refuse a plan that clears every profile of a site, or changes too large a share of it.

    The share counts what the plan does to installed profiles (updates, clears, and profiles a new
    one replaces in their slot; not retries of an unchanged payload) against the recorded profiles,
    only for sites holding at least `min_recorded_profiles`; moving local-time profiles on to their
    next UTC-offset period is the clock's doing and does not count. Clearing every profile is judged on
    what the chargers still hold, so records that expired by themselves do not hide it. `--force`
    overrides both rails for one run.
    """
    if force or plan.recorded_count == 0:
        return
    touched = sum(
        (c.is_update and c.before != c.after and not c.rolls_forward) or c.action is Action.CLEAR
        for c in plan.changes
    ) + sum(n.retire is Status.REPLACED for n in plan.notes)
    if plan.desired_count == 0 and plan.clears > 0:
        raise UnsafePlanError(
            f"site {plan.site_id}: the plan clears all {plan.clears} recorded profiles still installed (its "
            f"desired file is empty or gone); check that this is intended and rerun with --force"
        )
    limit = plan.safety.max_change_percent
    if plan.recorded_count >= plan.safety.min_recorded_profiles:
        share = Decimal(100 * touched) / plan.recorded_count
        if share > limit:
            raise UnsafePlanError(
                f"site {plan.site_id}: the plan changes or clears {touched} of {plan.recorded_count} "
                f"recorded profiles ({share:.0f}% > {limit}% allowed); review it and rerun with --force, "
                f"or raise site.safety.max_change_percent"
            )
