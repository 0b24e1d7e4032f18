"""The aiohttp adapter: a request handler around `Router.handle`, and shutdown draining."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from ._router import Router

__all__ = ["aiohttp_handler", "setup_aiohttp"]

_CHUNK = 64 * 1024
# How much of an oversized body is read (and dropped) so the sender sees the 413 instead of
# a connection reset mid-upload; beyond it the connection is just closed.
_DISCARD_FACTOR = 8


def aiohttp_handler(router: Router) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp request handler that passes each delivery to ``router``.

    The body is read in chunks and refused with 413 when it passes `Router.max_body`;
    an oversized body is read on (up to 8 times the cap) but not kept, so it is never held
    in memory and the sender sees the 413 rather than a connection reset. aiohttp's own
    ``client_max_size`` is not involved.

    ```python
    app.router.add_post("/linq/webhooks", aiohttp_handler(router))
    ```
    """

    async def handle_webhook(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        cap = router.max_body
        body = bytearray()
        size = 0
        async for chunk in request.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > cap * _DISCARD_FACTOR:
                break
            if size <= cap:
                body += chunk
        if size > cap:
            return web.Response(status=413)
        answer = await router.handle(bytes(body), request.headers, method=request.method)
        return web.Response(status=answer.status, body=answer.body)

    return handle_webhook


def setup_aiohttp(
    app: web.Application,
    router: Router,
    path: str = "/webhooks",
    *,
    drain_timeout: float | None = 30.0,
) -> None:
    """Route ``path`` (every method: non-POST ones get 405) to ``router``, and drain the
    router's handler tasks when the application shuts down.

    Args:
        app: the application.
        router: the webhook router.
        path: the URL path Linq delivers to.
        drain_timeout: the longest wait for running handlers at shutdown, in seconds
            (``None``: no limit); handlers still running then are cancelled.
    """

    async def drain_webhook_handlers(_: web.Application) -> None:
        await router.drain(drain_timeout)

    app.router.add_route("*", path, aiohttp_handler(router))
    app.on_shutdown.append(drain_webhook_handlers)
