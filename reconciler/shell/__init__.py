"""The imperative shell: reads files, takes locks, talks to eDRV, and runs the pure wings in order.

`network` finds the sites, their files and stations on disk without checking them, `reconcile` plans
sites from disk, `apply` sends one site's plan and records every outcome through
its background state `writer`, `sites` lists the network and cuts it into CI jobs, `receiver` is the
webhook receiver (aiohttp, the one long-running part; `inbox_workers` are its threads on the inbox),
and `ingest` folds the chargers' answers from the inbox into recorded state.

May import every wing below it; never `cli` or `sandbox`.
"""
