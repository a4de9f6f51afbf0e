"""The command line: parses flags, makes one call into the shell, renders, and exits with a code.

`main` holds the entry point and the plan/apply/state commands, `inspect` the read-only ones,
`options` the shared flags, `sandbox` the sandbox and demo commands (which load the sandbox lazily).

The top wing: may import any other; nothing imports it.
"""
