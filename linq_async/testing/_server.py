"""FakeLinqServer: lifecycle, request recording and fault injection for the two fake sites."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import secrets
from collections.abc import Mapping
from types import TracebackType
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from multidict import CIMultiDict, CIMultiDictProxy

from ._api import API_PREFIX, ApiRoutes
from ._envelope import ApiError, api_error_response, default_api_code
from ._faults import FaultPlan
from ._s3 import S3Storage
from ._sigv4 import S3Target
from ._state import FakeAttachment, FakeChat, FakeMessage, RecordedRequest, Site, Store
from ._storage import BuiltinStorage, UploadStorage

_HOST = "127.0.0.1"
_MAX_TTL = dt.timedelta(days=7)  # S3's limit for presigned URLs
# API bodies are small JSON; uploads never go through the API site.
_API_MAX_BODY = 8 * 1024 * 1024
_SHUTDOWN_TIMEOUT = 2.0


def _http_date(when: dt.datetime) -> str:
    return email.utils.format_datetime(when.astimezone(dt.timezone.utc), usegmt=True)


class FakeLinqServer:
    """A strict, in-process fake of the Linq Partner API v3, for testing code that uses it.

    It serves two sites on ``127.0.0.1``, each on a free port unless ``port`` is given: the API
    (`base_url`, routes under ``/api/partner/v3/...``) and the storage host that upload
    URLs point to (`storage_url`), so a client that sends its API key to the upload URL
    is caught. Requests that break a documented rule are refused with the documented error,
    and everything is recorded (`requests`, `attachments`, `chats`,
    `messages`) before the answer is sent, so a test can assert right after its call.

    Use it as an async context manager:

    ```python
    async with FakeLinqServer() as fake:
        client = MyClient(api_key=fake.api_key, base_url=fake.base_url)
        ...
    ```

    or call `start` and `close` yourself.

    Routes: ``POST /v3/attachments``, ``GET``/``DELETE /v3/attachments/{id}``,
    ``POST``/``GET /v3/chats``, ``GET /v3/chats/{id}``, ``POST``/``GET
    /v3/chats/{id}/messages`` and ``GET /v3/messages/{id}``. Unknown routes answer 404
    (code 2001), a wrong method 405 (code 1005).

    Args:
        api_key: The only API key accepted; a random one when omitted.
        upload_ttl: How long upload URLs stay valid (whole seconds, 1 s to 7 days).
        storage: The strategy that presigns upload URLs; by default the fake's own storage
            site, which checks each PUT the way S3 checks a presigned PUT.
        s3: Shorthand for ``storage=S3Storage(s3)``: upload URLs are presigned PUTs to this
            real S3 endpoint (see `S3Storage`).
        port: The API site's TCP port; 0 (the default) picks a free one. The storage site
            always takes a free port (upload URLs carry it).
        sign_content_type: Whether upload slots require and sign a ``Content-Type`` (the
            default). With ``False`` their ``required_headers`` hold only
            ``Content-Length``, and the built-in storage refuses a PUT that carries any
            ``Content-Type``, as a URL signed over an empty content type does.

    Raises:
        ValueError: ``api_key`` is empty, ``upload_ttl`` is out of range, both
            ``storage`` and ``s3`` are given, or ``port`` is not 0 to 65535.

    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        upload_ttl: dt.timedelta = dt.timedelta(minutes=15),
        storage: UploadStorage | None = None,
        s3: S3Target | None = None,
        port: int = 0,
        sign_content_type: bool = True,
    ) -> None:
        if api_key is not None and not api_key:
            raise ValueError("api_key must not be empty")
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValueError(f"port must be an int from 0 to 65535, got {port!r}")
        if s3 is not None:
            if storage is not None:
                raise ValueError("pass storage= or s3=, not both")
            storage = S3Storage(s3)
        seconds = upload_ttl.total_seconds()
        if seconds != int(seconds) or not 1 <= seconds <= _MAX_TTL.total_seconds():
            raise ValueError(f"upload_ttl must be whole seconds from 1 s to 7 days: {upload_ttl}")
        self._api_key = api_key if api_key is not None else f"fake_{secrets.token_urlsafe(24)}"
        self._upload_ttl = upload_ttl
        self._store = Store()
        self._faults = FaultPlan()
        self._builtin = BuiltinStorage(
            store=self._store,
            take_upload_drop=self._faults.take_upload_drop,
            sign_content_type=sign_content_type,
        )
        self._skew = dt.timedelta(0)
        self._storage: UploadStorage = storage if storage is not None else self._builtin
        self._api_port = port
        self._runners: list[web.AppRunner] = []
        self._ports: dict[Site, int] = {}
        self._state: Literal["new", "starting", "running", "closed"] = "new"
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()

    # Lifecycle

    async def start(self) -> None:
        """Start both sites.

        Raises:
            RuntimeError: The server was already started.
            OSError: The API ``port`` is taken.
        """
        if self._state != "new":
            raise RuntimeError(f"FakeLinqServer is {self._state}; it can be started once")
        self._state = "starting"
        api = web.Application(middlewares=[self._recorder("api")], client_max_size=_API_MAX_BODY)
        ApiRoutes(
            store=self._store,
            storage=self._storage,
            api_key=self._api_key,
            upload_ttl=self._upload_ttl,
        ).install(api)
        storage = web.Application(middlewares=[self._recorder("storage")])
        # [\s\S], not ".": a key may hold any character, a newline included, as in S3.
        storage.router.add_route("*", r"/{tail:[\s\S]*}", self._builtin.handle)
        try:
            self._ports["api"] = await self._serve(api, self._api_port)
            self._ports["storage"] = await self._serve(storage, 0)
            self._builtin.host = f"{_HOST}:{self._ports['storage']}"
            self._state = "running"
        finally:
            if self._state != "running":
                await self.close()

    async def close(self) -> None:
        """Stop both sites and close their connections. Calling it again does nothing."""
        self._state = "closed"
        while self._runners:
            await self._runners.pop().cleanup()

    async def __aenter__(self) -> FakeLinqServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
        await runner.setup()
        self._runners.append(runner)
        await web.TCPSite(runner, _HOST, port).start()
        bound: int = runner.addresses[0][1]
        return bound

    def _port(self, site: Site) -> int:
        if self._state != "running":
            raise RuntimeError(f"FakeLinqServer is {self._state}, not running")
        return self._ports[site]

    # Addresses and records

    @property
    def base_url(self) -> str:
        """The API base URL, ``http://127.0.0.1:<port>/api/partner`` (keep the path).

        Raises:
            RuntimeError: The server is not running.
        """
        return f"http://{_HOST}:{self._port('api')}{API_PREFIX}"

    @property
    def storage_url(self) -> str:
        """The origin of the storage site upload URLs point to, ``http://127.0.0.1:<port>``.

        Raises:
            RuntimeError: The server is not running.
        """
        return f"http://{_HOST}:{self._port('storage')}"

    @property
    def api_key(self) -> str:
        """The API key the fake accepts (``Authorization: Bearer <api_key>``)."""
        return self._api_key

    @property
    def upload_ttl(self) -> dt.timedelta:
        """How long new upload URLs stay valid."""
        return self._upload_ttl

    @property
    def attachments(self) -> dict[str, FakeAttachment]:
        """Attachment slots by id (deleted ones removed). Live: do not mutate."""
        return self._store.attachments

    @property
    def chats(self) -> dict[str, FakeChat]:
        """Chats by id, oldest first. Live: do not mutate."""
        return self._store.chats

    @property
    def messages(self) -> dict[str, FakeMessage]:
        """Messages by id, oldest first. Live: do not mutate."""
        return self._store.messages

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request either site received, in arrival order (``.clear()`` is fine).

        Requests that aiohttp refuses before routing (malformed HTTP) are not recorded.
        """
        return self._store.requests

    async def wait_idle(self) -> None:
        """Wait until no request is being handled.

        Records are updated before each answer is sent, so this is only needed when the
        client gave up first (e.g. it closed an upload mid-body) and the fake is still
        finishing that request.
        """
        await self._idle.wait()

    # Fault injection

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        code: int | None = None,
        message: str | None = None,
        method: str | None = None,
        path: str | None = None,
        site: Site | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next ``times`` matching requests with ``status``, without processing them.

        The default body is the API's error envelope (``{"success": false, "error": {status,
        code, message, doc_url}, "trace_id"}``) on the API site and S3's XML error on the
        storage site.

        Args:
            status: The HTTP status to answer with.
            times: How many matching requests fail.
            code: The envelope's ``error.code``; by default the documented code for the
                status (400: 1005, 401: 2004, 403: 2005, 404: 2001, 409: 1006, 429: 1007,
                5xx: 3006).
            message: The error message; by default the status's reason phrase.
            method: Match only this HTTP method.
            path: Match only paths matching this ``fnmatch`` glob (case-sensitive; ``*`` also
                matches ``/``), applied to the path as sent (percent-encoded, no query). API
                paths are matched without the ``/api/partner`` prefix (``"/v3/chats"``,
                ``"/v3/chats/*/messages"``); storage paths look like
                ``"/linq-uploads/<attachment_id>/<url-quoted filename>"``.
            site: Match only ``"api"`` or ``"storage"`` requests; both by default.
            body: Replace the default body (e.g. a proxy's HTML page, or ``b""``).
            content_type: The Content-Type of ``body`` (default
                ``application/octet-stream``).
            headers: Extra response headers.

        Raises:
            ValueError: ``status`` or ``times`` is invalid.
        """
        self._faults.add_failure(
            status,
            times=times,
            site=site,
            method=method,
            path=path,
            code=code,
            message=message,
            body=body,
            content_type=content_type,
            headers=headers,
        )

    def rate_limit(
        self,
        *,
        times: int = 1,
        retry_after: int = 1,
        path: str | None = None,
        method: str | None = None,
    ) -> None:
        """Answer the next ``times`` matching API requests with 429, code 1007.

        The answer carries a ``Retry-After`` header and ``error.retry_after``.

        Args:
            times: How many matching requests are limited.
            retry_after: The seconds to announce.
            path: Match only API paths matching this glob (see `fail_next`).
            method: Match only this HTTP method.

        Raises:
            ValueError: ``retry_after`` is negative or ``times`` is invalid.
        """
        if isinstance(retry_after, bool) or not isinstance(retry_after, int) or retry_after < 0:
            raise ValueError(f"retry_after must be a non-negative integer, got {retry_after!r}")
        self._faults.add_failure(
            429,
            times=times,
            site="api",
            method=method,
            path=path,
            code=1007,
            message="Rate limit exceeded",
            headers={"Retry-After": str(retry_after)},
            extra={"retry_after": retry_after},
        )

    def drop_next_response(
        self,
        *,
        method: str | None = None,
        path: str | None = None,
        site: Site | None = None,
        times: int = 1,
    ) -> None:
        """Process the next ``times`` matching requests fully, then drop the connection.

        The records change (the chat is made, the message sent) but the client sees a
        disconnect instead of an answer: the "response lost" case for idempotency tests.

        Args:
            method: Match only this HTTP method.
            path: Match only paths matching this glob (see `fail_next`).
            site: Match only ``"api"`` or ``"storage"`` requests; both by default.
            times: How many matching requests lose their answer.

        Raises:
            ValueError: ``times`` is invalid.
        """
        self._faults.add_drop(times=times, site=site, method=method, path=path)

    def drop_upload(self, *, after_bytes: int, times: int = 1) -> None:
        """Cut the next ``times`` uploads after ``after_bytes`` bytes of their body.

        Applies to PUTs that pass every check and start sending their body; the connection
        is aborted once at least ``after_bytes`` bytes were read (or at the end of a shorter
        body), and the attachment stays ``"pending"``.

        Args:
            after_bytes: Body bytes to read before aborting (0 aborts at the first read).
            times: How many uploads are cut.

        Raises:
            ValueError: ``after_bytes`` or ``times`` is invalid.
        """
        self._faults.add_upload_drop(after_bytes=after_bytes, times=times)

    def expire_upload_urls(self) -> None:
        """Expire every upload URL issued so far; URLs issued later get the full TTL.

        The storage clock jumps forward, so ``expires_at`` of later URLs is later than the
        wall clock plus `upload_ttl`.

        Raises:
            NotImplementedError: A custom ``storage`` cannot revoke its URLs.
        """
        self._storage.expire_issued_urls()

    def shift_clock(self, delta: dt.timedelta) -> None:
        """Run the fake's clock ``delta`` away from this machine's (negative: behind).

        The API's ``Date`` headers, the issue and expiry times of new upload URLs and the
        storage's expiry checks all follow the shifted clock, as a server whose clock
        differs from the client's would: a client clock that runs fast is a fake clock that
        runs behind.

        Raises:
            NotImplementedError: A custom ``storage`` keeps its own clock.
        """
        if self._storage is not self._builtin:
            raise NotImplementedError("a custom storage keeps its own clock")
        self._skew += delta
        self._builtin.clock_offset += delta

    def reset_faults(self) -> None:
        """Forget every queued fault (failures, rate limits and drops)."""
        self._faults.reset()

    # Recording middleware

    def _recorder(self, site: Site) -> Middleware:
        @web.middleware
        async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
            raw_path, _, raw_query = request.raw_path.partition("?")
            entry = RecordedRequest(
                site=site,
                method=request.method,
                path=raw_path,
                query_string=raw_query,
                headers=CIMultiDictProxy(CIMultiDict(request.headers)),
            )
            self._store.requests.append(entry)
            self._enter()
            try:
                response = await self._process(site, request, handler, entry)
                if self._skew and site == "api" and not response.prepared:
                    response.headers["Date"] = _http_date(
                        dt.datetime.now(dt.timezone.utc) + self._skew
                    )
                transport = request.transport
                if transport is None or transport.is_closing():
                    entry.dropped = True
                else:
                    entry.status = response.status
                return response
            except web.HTTPException as exc:
                entry.status = exc.status
                raise
            except Exception:
                entry.status = 500
                raise
            finally:
                self._leave()

        return record

    async def _process(
        self, site: Site, request: web.Request, handler: Handler, entry: RecordedRequest
    ) -> web.StreamResponse:
        path = entry.path
        if site == "api" and path.startswith(f"{API_PREFIX}/"):
            path = path[len(API_PREFIX) :]
        failure = self._faults.take_failure(site, request.method, path)
        if failure is not None:
            return failure.response(site)
        if site == "api":
            try:
                entry.body = await request.read()
            except web.HTTPException as exc:
                code = default_api_code(exc.status)
                return api_error_response(ApiError(exc.status, code, exc.reason))
        drop = self._faults.take_drop(site, request.method, path)
        response = await handler(request)
        if drop and request.transport is not None:
            # Everything is recorded; now lose the answer.
            request.transport.abort()
        return response

    def _enter(self) -> None:
        self._in_flight += 1
        self._idle.clear()

    def _leave(self) -> None:
        self._in_flight -= 1
        if not self._in_flight:
            self._idle.set()
