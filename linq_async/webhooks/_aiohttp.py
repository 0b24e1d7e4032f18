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

    Prefer `setup_aiohttp`, which also handles the application's shutdown.
    """
    return _handler(router, None, None)


class _Shutdown:
    """Whether the application a `setup_aiohttp` route belongs to is shutting down."""

    __slots__ = ("started",)

    def __init__(self) -> None:
        self.started = False


def _handler(
    router: Router, shutdown: _Shutdown | None, drain_timeout: float | None
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle_webhook(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        if shutdown is not None and shutdown.started:
            return _shutting_down()
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
        if shutdown is not None and shutdown.started:  # began since the request came in
            return _shutting_down()
        answer = await router.handle(bytes(body), request.headers, method=request.method)
        if shutdown is not None and shutdown.started:
            # The shutdown began while this delivery was being claimed, so its handlers may
            # have started after the drain: finish them inside this request, which aiohttp's
            # shutdown waits for, rather than leave them to be cancelled after a 200.
            await router.drain(drain_timeout)
        return web.Response(status=answer.status, body=answer.body)

    return handle_webhook


def _shutting_down() -> web.Response:
    # Not dispatched after the drain (its handler would be cut off, and a 200 would stop
    # Linq from delivering it again): a 503 makes Linq redeliver, to whatever serves next.
    return web.Response(status=503)


def setup_aiohttp(
    app: web.Application,
    router: Router,
    path: str = "/webhooks",
    *,
    drain_timeout: float | None = 30.0,
) -> None:
    """Route ``path`` (every method: non-POST ones get 405) to ``router``, and drain the
    router's handler tasks when the application shuts down.

    From the start of the shutdown (``app.on_shutdown``), deliveries still arriving are
    answered 503, so Linq delivers them again later instead of their handlers being
    cancelled after a 200; the handler tasks already running are waited for.

    Args:
        app: the application.
        router: the webhook router.
        path: the URL path Linq delivers to.
        drain_timeout: the longest wait for running handlers at shutdown, in seconds
            (``None``: no limit); handlers still running then are cancelled.
    """
    shutdown = _Shutdown()

    async def drain_webhook_handlers(_: web.Application) -> None:
        shutdown.started = True
        await router.drain(drain_timeout)

    app.router.add_route("*", path, _handler(router, shutdown, drain_timeout))
    app.on_shutdown.append(drain_webhook_handlers)
