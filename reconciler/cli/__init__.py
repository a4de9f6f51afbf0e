"""The command line: parses flags, makes one call into the shell, renders, and exits with a code.

`main` holds the entry point and the validate and plan commands (and writes plan charts), `apply`
the apply command, `state` the recorded-state commands, `inspect` the read-only ones, `drift` the
drift check, `inbox` the receiver and ingest, `options` the shared flags, the clock, colour and shell
completion, `sandbox` the sandbox and demo commands (which load the sandbox lazily).

The top wing: may import any other; nothing imports it.
"""
