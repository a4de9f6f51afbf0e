"""Plans: the changes (`set`, `clear`) that make recorded state match desired, and what they do.

Holds the change values, per-station and per-site planning, the power rating of each change, the
safety rails, saved plans, session caps, folding a change's outcome into recorded state, and
folding the chargers' answers (confirmations) in, with how plans treat calls still unanswered; and
how long a window of composite schedules may be asked for (`window`).

May import: `reconciler.errors`, `reconciler.ocpp`, `reconciler.desired`, `reconciler.state`,
`reconciler.edrv.wire` (a change carries its eDRV request) and `reconciler.edrv.webhook` (an answer's
event); never the client or the inbox.
"""
