"""The imperative shell: reads files, takes locks, talks to eDRV, and runs the pure wings in order.

`reconcile` plans sites from disk, `apply` sends one site's plan and records every outcome, `sites`
lists the network and cuts it into CI jobs.

May import every wing below it; never `cli` or `sandbox`.
"""
