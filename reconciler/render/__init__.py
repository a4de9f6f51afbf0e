"""What people and programs read: plans, schedules and recorded state as text, JSON and Markdown.

Pure functions from values to strings; nothing here prints or writes files.

May import every wing below it: `errors`, `ocpp`, `desired`, `state`, `edrv.wire`, `edrv.webhook`,
`plan`; never an edge.
"""
