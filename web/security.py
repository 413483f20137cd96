"""Headers every answer carries, and the CSRF tokens.

The Content-Security-Policy allows scripts and styles from our own origin only (htmx is one file
in ``web/static``; no inline script or style anywhere), and no framing. Every page but the static
files is ``no-store``: pages carry a school's data, and a shared computer's back button must not
show them after «Выйти».
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
_COMMON = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


# The cabinet's forms are a few short fields: a larger body is refused while it streams, before
# the form parser buffers it. A route that takes more (a workbook, a web form's grid) says so
# through ``larger`` (web.app).
MAX_BODY = 64 * 1024
_TOO_LARGE = "Запрос слишком велик.".encode()
# A route that takes more (a workbook upload, a web form): its path, its cap, and what the refusal says.
Larger = tuple[re.Pattern[str], int, str]


class SecurityHeaders:
    """A plain ASGI middleware (not BaseHTTPMiddleware, which would buffer a file's stream): the
    headers on every answer, and the cap on request bodies."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY, https: bool = False,
                 larger: Sequence[Larger] = ()) -> None:
        self.app, self.max_body, self.larger = app, max_body, tuple(larger)
        # Behind HTTPS (SBOR_COOKIE_SECURE=1) browsers are told to come back over HTTPS only.
        self.extra = [(b"strict-transport-security", b"max-age=31536000")] if https else []

    def _cap(self, path: str) -> tuple[int, bytes]:
        for pattern, cap, message in self.larger:
            if pattern.fullmatch(path):
                return cap, message.encode()
        return self.max_body, _TOO_LARGE

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope["path"].startswith("/static/")
        cap, too_large = self._cap(scope["path"])
        declared = dict(scope.get("headers", [])).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > cap:
            await _refuse(send, too_large)
            return
        received = 0
        started = refused = False

        async def capped() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap and not refused:  # chunked, or more than it declared
                    refused = True
                    if not started:
                        await _refuse(send, too_large)
                    # The app sees the client gone and stops; what it still sends is dropped.
                    return {"type": "http.disconnect"}
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
                headers = [h for h in message.get("headers", []) if h[0].lower() != b"cache-control"]
                headers += _COMMON + self.extra
                headers.append((b"cache-control", b"public, max-age=3600" if static else b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, capped, with_headers)


async def _refuse(send: Send, body: bytes = _TOO_LARGE) -> None:
    headers = [*_COMMON, (b"content-type", b"text/plain; charset=utf-8"), (b"cache-control", b"no-store"),
               (b"content-length", str(len(body)).encode()), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def anonymous_token(secret: bytes, pre_session: str) -> str:
    """The sign-in form's CSRF token: bound to a random pre-session cookie, so a page elsewhere
    cannot sign a victim in to an account of the attacker's."""
    return hmac.new(secret, b"sign-in:" + pre_session.encode("ascii", "replace"), hashlib.sha256).hexdigest()


def same(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and hmac.compare_digest(a.encode(), b.encode())
