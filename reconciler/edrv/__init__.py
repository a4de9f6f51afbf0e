"""eDRV, the OCPP backend: its wire format and the HTTP client that talks to it.

`wire` is the one module that knows eDRV's paths, bodies and answers (pure); `client` sends them with
retries, a rate limit and per-station ordering (httpx).

May import: `reconciler.errors`, `reconciler.ocpp`, `reconciler.desired`.
"""
