"""OCPP-J over aiohttp websockets: the bridge between aiohttp and the `ocpp` package, for both ends.

The `ocpp` package speaks OCPP 1.6J over any object with `async recv()` and `async send(text)`;
`WebSocketLink` is that object for an aiohttp websocket, server side (`central`) or client side
(`simulator`). `Peer` is `ocpp.v16.ChargePoint`, the package's base for either end of a connection,
with types for the parts the sandbox uses (the package ships none); `on` and `after` are its handler
decorators, typed likewise. `serve` runs a peer's receive loop until its connection closes; `to_wire`
turns what the package hands over back into the OCPP JSON on the wire.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
from aiohttp import web
from ocpp import messages, routing

from reconciler.ocpp.profile import json_number

# The package checks every message against its JSON schema on a thread of the default executor. The
# check holds the GIL all the same, so the thread only adds a hand-off and a wake-up of the event loop
# per message: a quarter of the sandbox's CPU when a thousand commands arrive at once. The same check,
# with the same errors, runs on the event loop instead.
messages.ASYNC_VALIDATION = False

SUBPROTOCOL = "ocpp1.6"
# The `ocpp` package logs every message at INFO and every CALLERROR it answers with a traceback; the
# sandbox reports what matters itself, so the package's own log is kept for debugging.
OCPP_LOG = logging.getLogger("reconciler.sandbox.ocpp")
OCPP_LOG.addHandler(logging.NullHandler())

Handler = TypeVar("Handler", bound=Callable[..., Any])


class LinkClosedError(Exception):
    """The websocket under an OCPP connection has closed."""


class WebSocketLink:
    """One websocket, read and written as OCPP-J text frames."""

    def __init__(self, ws: web.WebSocketResponse | aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def recv(self) -> str:
        message = await self.ws.receive()
        if message.type is aiohttp.WSMsgType.TEXT:
            return str(message.data)
        if message.type is aiohttp.WSMsgType.BINARY:
            # OCPP-J frames are text; a peer sending binary does not speak it.
            await self.ws.close(code=aiohttp.WSCloseCode.UNSUPPORTED_DATA)
        raise LinkClosedError(f"websocket closed ({message.type.name})")

    async def send(self, text: str) -> None:
        if self.ws.closed:
            raise LinkClosedError("websocket closed")
        try:
            await self.ws.send_str(text)
        except ConnectionError as exc:
            raise LinkClosedError(str(exc)) from None

    async def close(self) -> None:
        await self.ws.close()


if TYPE_CHECKING:

    class Peer:
        """The typed face of `ocpp.v16.ChargePoint` (see the module docstring)."""

        id: str

        def __init__(
            self,
            id: str,
            connection: WebSocketLink,
            response_timeout: float = 30,
            logger: logging.Logger = ...,
        ) -> None: ...

        async def start(self) -> None: ...

        async def call(
            self,
            payload: Any,
            suppress: bool = True,
            unique_id: str | None = None,
            skip_schema_validation: bool = False,
        ) -> Any: ...

else:
    from ocpp.v16 import ChargePoint as Peer


def on(action: str) -> Callable[[Handler], Handler]:
    """Mark a method as the handler of an incoming OCPP `action` (schema-checked by the package)."""
    decorator: Callable[[Handler], Handler] = routing.on(action)
    return decorator


def after(action: str) -> Callable[[Handler], Handler]:
    """Mark a method to run once the answer to an incoming `action` has been sent."""
    decorator: Callable[[Handler], Handler] = routing.after(action)
    return decorator


async def serve(peer: Peer) -> None:
    """Run `peer`'s receive loop until its connection closes."""
    with contextlib.suppress(LinkClosedError):
        await peer.start()


def to_wire(value: Any) -> Any:
    """A message as the `ocpp` package hands it to handlers or returns it from calls (snake_case keys,
    Decimal numbers) turned back into the OCPP JSON on the wire (camelCase keys, ints and floats)."""
    if isinstance(value, dict):
        return {_camel(key): to_wire(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_wire(item) for item in value]
    if isinstance(value, Decimal):
        return json_number(value)
    return value


def _camel(key: str) -> str:
    # OCPP 1.6 field names are plain camelCase (the package's own converter also knows 2.0.1's oddities).
    first, *rest = key.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)
