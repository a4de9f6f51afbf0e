"""The sandbox: a local eDRV with simulated OCPP 1.6J charge points, for trying the whole loop offline.

A program of its own inside the package (`reconciler sandbox`, `reconciler demo`): only
`reconciler.cli.sandbox` imports it, and the servers only when one of its commands runs. Its parts,
from the wire inwards:

- `server`: the running sandbox, wiring the parts below; `background`: the same on a thread;
- `guard`: counts, faults and the key check in front of `api`, the eDRV HTTP API (the routes
  `reconciler.edrv.wire` builds); `control`: ground truth, counts and faults for tests and people;
- `central`: the OCPP 1.6J central system the charge points connect to (the `ocpp` package), keeping
  `sessions`;
- `fleet` and `simulator`: the simulated charge points, keeping their profiles in `reconciler.ocpp.charger`
  and answering composite schedules with `reconciler.ocpp.schedule`;
- `link`: OCPP-J over aiohttp websockets; `objects`: eDRV's envelopes, Actions and ids;
- `webhooks`: signed event delivery; `lanes`: the per-station order of commands and of webhooks;
  `faults`: faults on demand; `config`: what to serve;
- `demo`: the whole loop against a sandbox in the background, with a webhook receiver
  (`reconciler.shell.receiver`) on the same loop (its command is in `reconciler.cli`).

aiohttp serves HTTP and websockets and opens the simulated charge points' connections: one library for
both protocols, servers and clients, with clean shutdown of every socket.
"""
