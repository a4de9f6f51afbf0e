"""eDRV, the OCPP backend: its wire format, the HTTP client that talks to it, and its webhooks.

`wire` is the one module that knows eDRV's paths, bodies and answers (pure); `settings` reads the API URL
and key from the environment or a key file; `client` sends them with retries, a rate limit and
per-station ordering (httpx). `webhook` verifies a delivery's signature and reads an event's envelope
(pure); `inbox` stores verified events in SQLite and reads them back, and `remote_inbox` reads them
through a receiver's URL (httpx).

May import: `reconciler.errors`, `reconciler.ocpp`, `reconciler.desired`.
"""
