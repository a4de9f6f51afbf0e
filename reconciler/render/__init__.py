"""What people and programs read: plans, schedules and recorded state as text, JSON and Markdown.

Pure functions from values to strings; nothing here prints or writes files. Text for people is in
each site's wall-clock time (moments are written by `desired.clock.SiteClock`; `walltime` places a
payload's periods on the wall clock); JSON stays UTC and names the site's timezone.

May import every wing below it: `errors`, `ocpp`, `desired`, `state`, `edrv.wire`, `edrv.webhook`,
`plan`; never an edge.
"""
