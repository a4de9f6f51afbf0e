"""The sandbox: a local eDRV with simulated OCPP 1.6J charge points, for trying the whole loop offline.

A program of its own inside the package (`reconciler sandbox`, `reconciler demo`): only `reconciler.cli`
imports it, and only when one of its commands runs. Its parts, from the wire inwards:

- `server`: the running sandbox, wiring the parts below; `background`: the same on a thread;
- `guard`: counts, faults and the key check in front of `api`, the eDRV HTTP API (the routes
  `reconciler.edrv` builds); `control`: ground truth, counts and faults for tests and people;
- `central`: the OCPP 1.6J central system the charge points connect to (the `ocpp` package), keeping
  `sessions`;
- `fleet` and `simulator`: the simulated charge points, keeping their profiles in `reconciler.charger`
  and answering composite schedules with `reconciler.schedule`;
- `link`: OCPP-J over aiohttp websockets; `objects`: eDRV's envelopes, Actions and ids;
- `webhooks`: signed event delivery; `faults`: faults on demand; `config`: what to serve;
- `commands` and `demo`: the command line.

aiohttp serves HTTP and websockets and opens the simulated charge points' connections: one library for
both protocols, servers and clients, with clean shutdown of every socket.
"""
