"""The operator's language: what `desired/<site>.yaml` may say, and every check it must pass.

Holds the site models, the YAML dialect site files are read in (`yamlread`: date-times as written, no
base-60 numbers, no silent duplicate keys), the loader that places each problem at file:line:column, a
glance at a site file's station ids and zone without checking it (`glance`), the bounds every input file is
held to (`bounds`: size, nesting, alias expansion; used by the other wings' readers too), templates and
overrides, the validation rules (the grid guard and the rules of local-time profiles among them), the site's
clock (its time zone, how outputs write a moment, its UTC-offset periods), local-time schedules compiled
into OCPP profiles per UTC offset, the OCPP payload a desired profile becomes (built once, for validation
and the plan), the cache of bodies that passed OCPP's schema (`schemacache`, kept in the user's cache
directory), id allocation, the site file's JSON Schema for editors (`schema`, with its descriptions and
snippets in `schemadocs`), and setting aside the parts of a file with type errors (`prune`).

May import: `reconciler.errors`, `reconciler.ocpp`.
"""
