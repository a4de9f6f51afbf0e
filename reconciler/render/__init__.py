"""What people and programs read: plans, schedules and recorded state as text, JSON, Markdown and SVG.

Pure functions from values to strings; nothing here prints or writes files. Text for people is in
each site's wall-clock time (moments are written by `desired.clock.SiteClock`; `walltime` places a
payload's periods on the wall clock, `timeaxis` places a chart's labels on it); JSON stays UTC and
names the site's timezone, indented as `json.dumps` indents it but written faster (`jsontext`).
`fielddiff` writes an update's differing fields, a long schedule's first ones and a count. `svg` draws
a plan's charts as images for a browser. A template's change on many stations reads as one run of them
(`text.runs`); `names` writes every name visibly (a line break in one is shown as `\\n`) and lists
many stations on a few lines.

May import every wing below it: `errors`, `ocpp`, `desired`, `state`, `edrv.wire`, `edrv.webhook`,
`plan`; never an edge.
"""
