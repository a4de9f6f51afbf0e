"""The command line: parses flags, makes one call into the shell, renders, and exits with a code.

`main` holds the entry point, the validate command and the group that imports every other command's
module when that command runs; `plan` the plan command (and its charts), `apply` the apply command,
`state` the recorded-state commands, `inspect` the read-only ones, `drift` the drift check, `inbox` the
receiver and ingest, `options` the shared flags, the clock, colour and shell completion, `sandbox` the
sandbox and demo commands (which load the sandbox lazily).

The top wing: may import any other; nothing imports it.
"""
