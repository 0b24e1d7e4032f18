"""The field faults of issue 10, one kind per section, each over real sockets.

Where the fake cannot misbehave as needed (a storage that stops reading, or reads slowly,
an API that never answers), a small asyncio server on 127.0.0.1 stands in for it.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime as dt
import email.utils
import json
import os
import signal
import socket
import sys
import textwrap
import time
import traceback
import types
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from _support import RECIPIENT, SENDER, SleepRecorder, api_requests, caught
from aiohttp import web
from test_cli import finish, make_env, run_cli, start_cli

from linq_async import (
    APIStatusError,
    AuthenticationError,
    BroadcastInterruptedError,
    LinqClosedError,
    LinqConnectionError,
    LinqError,
    LinqLoopError,
    LinqSession,
    LinqUsageError,
    MediaPart,
    OptedOutError,
    RecipientOutcome,
    RetryPolicy,
    Timeouts,
    UploadError,
    UploadExpiredError,
    UploadSlot,
)
from linq_async._transport import UPLOAD_CONNECTIONS
from linq_async._upload import CHUNK_SIZE
from linq_async.testing import FakeAttachment, FakeLinqServer, PresignedUpload, RecordedRequest

REPO = Path(__file__).resolve().parents[1]
SIGNATURE = "c2lnbmF0dXJlLXRoYXQtbXVzdC1zdGF5LXNlY3JldA"
CALLER_SECRET = "caller-x-api-key-7f3a"


def sparse(tmp_path: Path, name: str, size: int) -> Path:
    """A file of ``size`` zero bytes that takes no disk space."""
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.truncate(size)
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def python_env() -> dict[str, str]:
    """This environment, with the worktree's package first on the path of a child Python."""
    path = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    return {**os.environ, "PYTHONPATH": path}


class Sleeper:
    """A retry sleep that never ends on its own, and says when ``expected`` calls wait in it."""

    def __init__(self, expected: int = 1) -> None:
        self.calls = 0
        self.expected = expected
        self.waiting = asyncio.Event()

    async def __call__(self, delay: float) -> None:
        self.calls += 1
        if self.calls >= self.expected:
            self.waiting.set()
        await asyncio.Event().wait()


def storage_requests(fake: FakeLinqServer) -> list[RecordedRequest]:
    return [request for request in fake.requests if request.site == "storage"]


async def within(awaitable: Awaitable[Any], seconds: float = 60.0) -> Any:
    """Await, but fail the test instead of hanging (never a timing assertion)."""
    return await asyncio.wait_for(awaitable, seconds)


class StandInStorage:
    """A storage stand-in that reads a PUT's body as told: stall after some bytes, or slowly.

    Its socket has a small receive buffer, so the sender's view of what it took stays close
    to what it read. ``progress`` records, for each read, the bytes read so far.
    """

    def __init__(
        self, *, stall_after: int | None = None, step: int = 65536, pause: float = 0.0
    ) -> None:
        self.stall_after = stall_after
        self.step = step
        self.pause = pause
        self.connections = 0
        self.completed = 0
        self.read = 0
        self.headers: list[dict[str, str]] = []
        self._release = asyncio.Event()
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None
        self.port = 0

    async def __aenter__(self) -> StandInStorage:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        self._server = await asyncio.start_server(self._serve, sock=sock, limit=16 * 1024)
        self.port = sock.getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for writer in self._writers:
            writer.transport.abort()
        self._release.set()
        assert self._server is not None
        self._server.close()

    def url(self, key: str = "bucket/report.bin") -> str:
        return f"http://127.0.0.1:{self.port}/{key}?X-Amz-Signature={SIGNATURE}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        lines = head.split("\r\n")[1:]
        headers = dict(line.split(": ", 1) for line in lines if ": " in line)
        self.headers.append(headers)
        length = int(headers["Content-Length"])
        got = 0
        while got < length:
            if self.stall_after is not None and got >= self.stall_after:
                await self._release.wait()  # stop reading: the sender's window closes
            chunk = await reader.read(min(self.step, length - got))
            if not chunk:
                return
            got += len(chunk)
            self.read = got
            if self.pause:
                await asyncio.sleep(self.pause)  # the stand-in's pace, not the test's timing
        self.completed += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


def stand_in_slot(url: str, size: int) -> UploadSlot:
    return UploadSlot(
        attachment_id="att-stand-in",
        upload_url=url,
        download_url="https://cdn.example/att-stand-in/report.bin",
        expires_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=15),
        required_headers={"Content-Length": str(size)},
    )


class SilentServer:
    """An HTTP server that reads requests and never answers them, counting connections."""

    def __init__(self) -> None:
        self.connections = 0
        self.arrived = asyncio.Event()
        self.expected = 1
        self._writers: list[asyncio.StreamWriter] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> SilentServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for writer in self._writers:
            writer.transport.abort()
        assert self._server is not None
        self._server.close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/api/partner"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        if self.connections >= self.expected:
            self.arrived.set()
        while await reader.read(65536):
            pass
        writer.close()


# 1. upload stall detection


async def test_upload_stall_detection(tmp_path: Path, sleeps: SleepRecorder) -> None:
    """Storage that takes the first bytes, then stops reading, fails the upload (retried once)."""
    path = sparse(tmp_path, "report.pdf", 4 * 1024 * 1024)
    async with StandInStorage(stall_after=64 * 1024) as storage:
        retry = RetryPolicy(attempts=2, sleep=sleeps)
        timeout = Timeouts(upload_read=0.3)
        async with LinqSession("key", timeout=timeout, retry=retry) as linq:
            slot = stand_in_slot(storage.url(), path.stat().st_size)
            error = await within(caught(linq.attachments.upload(slot, path)))
    assert type(error) is UploadError
    assert "stalled" in str(error)
    assert "upload_read" in str(error)
    assert error.attachment_id == "att-stand-in"
    assert storage.connections == 2
    assert len(sleeps.delays) == 1
    assert storage.completed == 0


# 2. slow but moving upload


async def test_slow_but_moving_upload_completes(tmp_path: Path) -> None:
    """A storage reading slowly, never silent for upload_read, completes; progress tracks it."""
    size = 1024 * 1024
    path = sparse(tmp_path, "report.pdf", size)
    progress: list[tuple[int, int]] = []
    async with StandInStorage(step=32 * 1024, pause=0.03) as storage:

        def on_progress(sent: int, total: int) -> None:
            progress.append((sent, storage.read))

        # The whole upload takes 32 pauses of 0.03 s: more than upload_read, yet never silent.
        timeout = Timeouts(upload_read=0.5)
        async with LinqSession("key", timeout=timeout, retry=RetryPolicy.never()) as linq:
            slot = stand_in_slot(storage.url(), size)
            await within(linq.attachments.upload(slot, path, on_progress=on_progress))
    assert storage.completed == 1
    assert progress[-1][0] == size
    sent = [taken for taken, _ in progress]
    assert sent == sorted(set(sent))
    if sys.platform == "linux":
        # Progress counts what the storage took (acknowledged), not what was queued: never
        # more than its small socket buffers ahead of what it had read.
        slack = 256 * 1024
        assert all(taken <= read + slack for taken, read in progress[:-1])
        assert progress[0][0] < CHUNK_SIZE


# 3. a session is bound to the loop that opened it


def test_session_bound_to_its_loop() -> None:
    """Used again in a second asyncio.run, a session (and its copies) raises LinqLoopError."""
    kept: dict[str, LinqSession] = {}

    async def first_run() -> None:
        async with FakeLinqServer() as fake:
            linq = LinqSession(fake.api_key, base_url=fake.base_url)
            await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
            kept["linq"] = linq

    async def second_run() -> None:
        linq = kept["linq"]
        with pytest.raises(LinqLoopError, match="event loop"):
            await linq.chats.get("c1")
        with pytest.raises(LinqLoopError):
            await linq.with_options(retry=RetryPolicy.never()).chats.get("c1")
        with pytest.raises(LinqLoopError):
            await linq.upload(b"data", filename="a.txt")
        assert isinstance(await caught(linq.chats.get("c1")), LinqError)
        await linq.close()
        assert linq.closed

    asyncio.run(first_run())
    asyncio.run(second_run())


# 4. shutdown with calls in flight


async def test_close_with_calls_in_flight(tmp_path: Path, fake: FakeLinqServer) -> None:
    """Each pending call ends with LinqClosedError (or CancelledError); nothing is half-stored."""
    path = sparse(tmp_path, "report.pdf", 4 * 1024 * 1024)
    async with SilentServer() as api, StandInStorage(stall_after=64 * 1024) as storage:
        api.expected = 100
        linq = LinqSession("key", base_url=api.base_url, retry=RetryPolicy(sleep=Sleeper()))
        await linq.open()
        # 150 sends: 100 in flight (every API lane busy), 50 waiting for a lane.
        sends = [
            asyncio.ensure_future(linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi"))
            for _ in range(150)
        ]
        slot = stand_in_slot(storage.url(), path.stat().st_size)
        uploads = [asyncio.ensure_future(linq.attachments.upload(slot, path)) for _ in range(3)]
        await within(api.arrived.wait())
        # One more call sits in a retry wait.
        fake.fail_next(503)
        sleeper = Sleeper()
        waiting = LinqSession(
            fake.api_key, base_url=fake.base_url, retry=RetryPolicy(sleep=sleeper)
        )
        pausing = asyncio.ensure_future(waiting.chats.get("c1"))
        await within(sleeper.waiting.wait())
        await within(asyncio.gather(linq.close(), waiting.close()))
        results = await asyncio.gather(*sends, *uploads, pausing, return_exceptions=True)
    kinds = {type(result) for result in results}
    assert kinds <= {LinqClosedError, asyncio.CancelledError}, kinds
    assert storage.completed == 0
    with pytest.raises(LinqClosedError):
        await linq.chats.get("c1")


# 5. secrets reachable from exceptions

_ATOMS = (str, bytes, int, float, bool, type(None), complex)
_OPAQUE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    types.TracebackType,
    types.FrameType,
    types.CodeType,
)


def reachable(root: object) -> Iterator[object]:
    """Every object reachable from ``root`` through args, attributes, the cause and context
    chain, notes and containers (not through tracebacks: those are checked by formatting)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        yield obj
        if isinstance(obj, (*_ATOMS, *_OPAQUE)):
            continue
        if isinstance(obj, BaseException):
            stack += [obj.args, obj.__cause__, obj.__context__]
            stack += getattr(obj, "__notes__", [])
        if isinstance(obj, dict):
            stack += [*obj.keys(), *obj.values()]
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack += list(obj)
        if hasattr(obj, "__dict__"):
            stack += list(vars(obj).values())
        for klass in type(obj).__mro__:
            for name in getattr(klass, "__slots__", ()):
                if hasattr(obj, name):
                    stack.append(getattr(obj, name))


TESTS = str(Path(__file__).parent)


def printed_with_locals(error: BaseException) -> str:
    """The traceback as ``capture_locals=True`` prints it, but for the test's own frames.

    The caller's frames are dropped: they hold whatever the caller holds (the key it passed).
    Every other frame is kept: the package's, aiohttp's, asyncio's.
    """
    printed = traceback.TracebackException.from_exception(error, capture_locals=True)
    pending = [printed]
    while pending:
        current = pending.pop()
        ours = [frame for frame in current.stack if not frame.filename.startswith(TESTS)]
        current.stack = traceback.StackSummary.from_list(ours)
        pending += filter(None, [current.__cause__, current.__context__])
    return "".join(printed.format())


def assert_keeps_secrets(error: BaseException, secrets: list[str]) -> str:
    """No string reachable from ``error``, nor its traceback printed with locals, holds one."""
    for obj in reachable(error):
        if isinstance(obj, (str, bytes)):
            text = obj if isinstance(obj, str) else obj.decode("latin-1")
            for secret in secrets:
                assert secret not in text, (type(error).__name__, type(obj), text[:300])
    printed = printed_with_locals(error)
    for secret in secrets:
        assert secret not in printed, (type(error).__name__, secret)
    return printed


class HoldingStorage:
    """An `UploadStorage` for the fake whose uploads go to a test-side aiohttp site.

    The site reads each PUT's whole body, then holds its answer until `release`; `refresh`
    marks an attachment complete once its body arrived.
    """

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.held = 0
        self.most_held = 0
        self.received: dict[str, int] = {}
        self.headers: list[dict[str, str]] = []
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.changed = asyncio.Event()

    async def __aenter__(self) -> HoldingStorage:
        app = web.Application()
        app.router.add_put("/{attachment_id}", self._put)
        self._runner = web.AppRunner(app, shutdown_timeout=0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.release.set()
        assert self._runner is not None
        await self._runner.cleanup()

    async def _put(self, request: web.Request) -> web.Response:
        attachment_id = request.match_info["attachment_id"]
        self.headers.append(dict(request.headers))
        body = await request.read()
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        self.changed.set()
        try:
            await self.release.wait()
        finally:
            self.held -= 1
        self.received[attachment_id] = len(body)
        return web.Response(status=200)

    def presign(self, attachment: FakeAttachment, *, ttl: dt.timedelta) -> PresignedUpload:
        return PresignedUpload(
            url=f"http://127.0.0.1:{self.port}/{attachment.id}?X-Amz-Signature={SIGNATURE}",
            required_headers={"Content-Length": str(attachment.size_bytes)},
            expires_at=dt.datetime.now(dt.timezone.utc) + ttl,
        )

    async def refresh(self, attachment: FakeAttachment) -> None:
        if self.received.get(attachment.id) == attachment.size_bytes:
            attachment.status = "complete"

    def expire_issued_urls(self) -> None:
        raise NotImplementedError


async def test_secrets_unreachable_from_every_error_class(
    fake: FakeLinqServer, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """Every error class the package raises: no key, no signed query, whatever the path."""
    key = fake.api_key
    errors: list[BaseException] = []
    never_retry = RetryPolicy.never()
    path = sparse(tmp_path, "report.pdf", 2 * CHUNK_SIZE)

    caller = aiohttp.ClientSession(raise_for_status=True, headers={"X-Api-Key": CALLER_SECRET})
    async with LinqSession(key, base_url=fake.base_url, retry=never_retry) as linq, caller:
        via_caller = LinqSession(key, base_url=fake.base_url, retry=never_retry, session=caller)
        for status, code in [
            (400, 1002),
            (401, 2004),
            (403, 2005),
            (403, 2024),
            (403, 2027),
            (404, 2001),
            (409, 1006),
            (429, 1007),
            (500, 3006),
            (418, None),
        ]:
            fake.fail_next(status, code=code)
            errors.append(await caught(linq.chats.get("c1")))
            fake.fail_next(status, code=code)
            errors.append(await caught(via_caller.chats.get("c1")))
        fake.fail_next(200, body="<html>not json</html>", content_type="text/html")
        errors.append(await caught(linq.chats.get("c1")))  # ResponseValidationError
        fake.fail_next(403, site="storage", message="Access Denied")
        errors.append(await caught(linq.upload(path)))  # UploadError from storage
        fake.drop_upload(after_bytes=10)
        errors.append(await caught(linq.upload(path)))  # a dropped connection
        grow = sparse(tmp_path, "grow.pdf", 8 * CHUNK_SIZE)

        def append(sent: int, total: int) -> None:
            with grow.open("ab") as handle:
                handle.write(b"more")

        errors.append(await caught(linq.upload(grow, on_progress=append)))  # file changed
        slot = await linq.attachments.create(
            filename="a.pdf", content_type="application/pdf", size_bytes=5
        )
        fake.expire_upload_urls()
        errors.append(await caught(linq.attachments.upload(slot, b"12345")))  # expired
        assert isinstance(errors[-1], UploadExpiredError)
        fake.fail_next(401, method="POST", path="/v3/chats")
        errors.append(
            await caught(via_caller.broadcast(from_=SENDER, recipients=[RECIPIENT], text="x"))
        )
        await via_caller.close()
    async with (
        FakeLinqServer() as other,
        LinqSession("revoked-" + key, base_url=other.base_url) as revoked,
    ):
        errors.append(
            await caught(revoked.broadcast(from_=SENDER, recipients=[RECIPIENT], text="x"))
        )
    async with FakeLinqServer() as closed:
        gone = closed.base_url
    async with LinqSession(key, base_url=gone, retry=RetryPolicy(attempts=2, sleep=sleeps)) as dead:
        errors.append(await caught(dead.chats.get("c1")))  # LinqConnectionError
        errors.append(await caught(dead.broadcast(from_=SENDER, recipients=[RECIPIENT], text="x")))
    async with (
        SilentServer() as silent,
        LinqSession(
            key, base_url=silent.base_url, timeout=Timeouts(total=0.05), retry=never_retry
        ) as slow,
    ):
        errors.append(await caught(slow.chats.get("c1")))  # LinqTimeoutError
        pending = asyncio.ensure_future(slow.chats.create(from_=SENDER, to=RECIPIENT, text="x"))
        await within(silent.arrived.wait())
        await slow.close()
        errors.append(await caught(pending))  # LinqClosedError, in flight
        errors.append(await caught(slow.chats.get("c1")))  # LinqClosedError, after
    async with (
        StandInStorage(stall_after=0) as storage,
        LinqSession(key, timeout=Timeouts(upload_read=0.2), retry=never_retry) as s,
    ):
        slot = stand_in_slot(storage.url(), 4 * 1024 * 1024)
        errors.append(
            await caught(s.attachments.upload(slot, sparse(tmp_path, "s.pdf", 4 * 1024 * 1024)))
        )

    async def usage(call: Callable[[], object]) -> BaseException:
        try:
            call()
        except LinqUsageError as exc:
            return exc
        raise AssertionError("no usage error")

    environ = {"LINQ_API_KEY": key}
    errors.append(await usage(lambda: LinqSession(key, retry=3)))  # type: ignore[arg-type]
    errors.append(await usage(lambda: LinqSession(f" {key} ")))
    errors.append(await usage(lambda: LinqSession.from_env(environ, timeout=5)))

    kinds = {type(error).__name__ for error in errors}
    assert kinds >= {
        "BadRequestError",
        "AuthenticationError",
        "PermissionDeniedError",
        "OptedOutError",
        "LineIneligibleError",
        "NotFoundError",
        "ConflictError",
        "RateLimitError",
        "ServerError",
        "APIStatusError",
        "ResponseValidationError",
        "UploadError",
        "UploadExpiredError",
        "BroadcastInterruptedError",
        "LinqConnectionError",
        "LinqTimeoutError",
        "LinqClosedError",
        "LinqUsageError",
    }, kinds
    queries = [request.query_string for request in storage_requests(fake)]
    secrets = [key, CALLER_SECRET, SIGNATURE, *filter(None, queries)]
    printed = []
    for error in errors:
        assert isinstance(error, LinqError), error
        printed.append(assert_keeps_secrets(error, secrets))
    # Not vacuous: the package's frames were printed, with their locals.
    assert all("    self = <" in text or "    key = <secret>" in text for text in printed)


async def test_loop_error_keeps_secrets() -> None:
    """The loop error, raised from a second loop, keeps the key out of its traceback too."""
    key = "sk-loop-" + uuid.uuid4().hex
    linq = LinqSession(key, base_url="http://127.0.0.1:1")
    await linq.open()
    error = await asyncio.to_thread(asyncio.run, caught(linq.chats.get("c1")))
    await linq.close()
    assert isinstance(error, LinqLoopError)
    assert_keeps_secrets(error, [key])


# 6. uploads starve API calls


async def test_uploads_do_not_starve_api_calls(tmp_path: Path, sleeps: SleepRecorder) -> None:
    """Uploads held by storage fill only the upload lanes: API calls still go through."""
    async with HoldingStorage() as storage, FakeLinqServer(storage=storage) as fake:
        retry = RetryPolicy(sleep=sleeps)
        timeout = Timeouts(total=10, connect=1)
        async with LinqSession(
            fake.api_key, base_url=fake.base_url, timeout=timeout, retry=retry
        ) as linq:
            files = [
                sparse(tmp_path, f"f{n}.pdf", 64 * 1024) for n in range(3 * UPLOAD_CONNECTIONS)
            ]
            sends = [
                asyncio.ensure_future(
                    linq.upload_and_send(path, from_=SENDER, to=f"+1555000{n:04d}")
                )
                for n, path in enumerate(files)
            ]
            while storage.held < UPLOAD_CONNECTIONS:
                storage.changed.clear()
                await within(storage.changed.wait())
            # Every upload lane is held by storage; more uploads wait for theirs (and have
            # not asked for a slot yet, so their 15 minutes have not started).
            assert len(fake.attachments) == UPLOAD_CONNECTIONS
            chats = await within(
                asyncio.gather(
                    *(linq.chats.create(from_=SENDER, to=RECIPIENT, text=f"{n}") for n in range(40))
                )
            )
            assert len(chats) == 40
            storage.release.set()
            results = await within(asyncio.gather(*sends))
    assert storage.most_held == UPLOAD_CONNECTIONS
    assert len(results) == len(files)
    assert sleeps.delays == []


async def test_waiting_for_a_connection_is_not_a_timeout() -> None:
    """A call queued behind 100 busy ones starts its timeouts only once it has a connection."""
    release = asyncio.Event()
    arrived = 0
    all_busy = asyncio.Event()

    async def chat(request: web.Request) -> web.Response:
        nonlocal arrived
        chat_id = request.match_info["chat_id"]
        if chat_id == "slow":
            arrived += 1
            if arrived == 100:
                all_busy.set()
            await release.wait()
        return web.json_response({"id": chat_id})

    app = web.Application()
    app.router.add_get("/v3/chats/{chat_id}", chat)
    runner = web.AppRunner(app, shutdown_timeout=0)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        async with LinqSession("key", base_url=base_url, retry=RetryPolicy.never()) as linq:
            busy = [asyncio.ensure_future(linq.chats.get("slow")) for _ in range(100)]
            await within(all_busy.wait())
            quick = linq.with_options(timeout=Timeouts(total=0.5, connect=0.5))
            queued = asyncio.ensure_future(quick.chats.get("fast"))
            # The stand-in API holds every connection for longer than the queued call's
            # timeouts (the server's pace; nothing is measured).
            await asyncio.sleep(1.0)
            assert not queued.done()
            release.set()
            assert (await within(queued)).id == "fast"
            assert {chat.id for chat in await within(asyncio.gather(*busy))} == {"slow"}
    finally:
        release.set()
        await runner.cleanup()


# 7. file descriptors

FD_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))
    from linq_async import LinqSession

    base_url, key, folder = sys.argv[1:4]
    paths = [os.path.join(folder, name) for name in sorted(os.listdir(folder))]

    async def main():
        outcome = {}
        async with LinqSession(key, base_url=base_url) as linq:
            async def each(call):
                results = await asyncio.gather(*map(call, range(len(paths))),
                                               return_exceptions=True)
                return sorted({type(r).__name__ + ": " + str(r) for r in results
                               if isinstance(r, BaseException)})
            outcome["upload"] = await each(lambda n: linq.upload(paths[n]))
            outcome["upload_and_send"] = await each(lambda n: linq.upload_and_send(
                paths[n], from_="+12223334444", to=f"+1555100{n:04d}"))
            outcome["broadcast"] = await each(lambda n: linq.broadcast(
                paths[n], from_="+12223334444", recipients=[f"+1555200{n:04d}"]))
            slots = await asyncio.gather(*(linq.attachments.create(
                filename="f.pdf", content_type="application/pdf",
                size_bytes=os.path.getsize(p)) for p in paths))
            outcome["attachments.upload"] = await each(
                lambda n: linq.attachments.upload(slots[n], paths[n]))
        print(json.dumps(outcome))

    asyncio.run(main())
    """
)


async def test_file_descriptors_are_opened_only_to_stream(
    fake: FakeLinqServer, tmp_path: Path
) -> None:
    """200 concurrent uploads under RLIMIT_NOFILE 256, on every upload path: no EMFILE."""
    folder = tmp_path / "files"
    folder.mkdir()
    for n in range(200):
        sparse(folder, f"file{n:03d}.pdf", 256 * 1024)
    script = tmp_path / "fds.py"
    script.write_text(FD_SCRIPT)
    env = python_env()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(script),
        fake.base_url,
        fake.api_key,
        str(folder),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    out, err = await within(proc.communicate(), 240)
    assert proc.returncode == 0, err.decode()[-3000:]
    outcome = json.loads(out)
    assert outcome == {
        "upload": [],
        "upload_and_send": [],
        "broadcast": [],
        "attachments.upload": [],
    }
    complete = [a for a in fake.attachments.values() if a.status == "complete"]
    assert len(complete) == 800


# 8. caller session defaults


async def test_caller_session_defaults(fake: FakeLinqServer, tmp_path: Path) -> None:
    """raise_for_status=True still gives OptedOutError once; nothing of it reaches storage."""
    caller = aiohttp.ClientSession(
        raise_for_status=True,
        headers={"X-Api-Key": CALLER_SECRET},
        cookies={"session": "caller-cookie"},
    )
    async with caller:
        retry = RetryPolicy(sleep=SleepRecorder())
        async with LinqSession(
            fake.api_key, base_url=fake.base_url, retry=retry, session=caller
        ) as linq:
            fake.fail_next(403, code=2024, message="Recipient has opted out", path="/v3/chats")
            with pytest.raises(OptedOutError) as info:
                await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
            assert info.value.code == 2024
            assert len([r for r in api_requests(fake) if r.path.endswith("/v3/chats")]) == 1
            result = await linq.upload_and_send(
                sparse(tmp_path, "report.pdf", 3000), from_=SENDER, to=RECIPIENT
            )
        assert not caller.closed
    assert result.message.id in fake.messages
    (put,) = storage_requests(fake)
    assert "X-Api-Key" not in put.headers
    assert "Cookie" not in put.headers
    assert "Authorization" not in put.headers
    # The API calls did go through the caller's session.
    assert all(r.headers["X-Api-Key"] == CALLER_SECRET for r in api_requests(fake))


async def test_caller_session_closed_by_its_owner(fake: FakeLinqServer) -> None:
    """A caller's session closed under the SDK gives LinqClosedError, not aiohttp's error."""
    caller = aiohttp.ClientSession()
    async with LinqSession(fake.api_key, base_url=fake.base_url, session=caller) as linq:
        await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hi")
        await caller.close()
        with pytest.raises(LinqClosedError, match="ClientSession given to LinqSession"):
            await linq.chats.get("c1")


async def test_caller_session_that_cannot_work_is_refused_at_construction() -> None:
    """A closed session, auto_decompress=False or a non-session: LinqUsageError, now."""
    async with aiohttp.ClientSession(auto_decompress=False) as raw:
        with pytest.raises(LinqUsageError, match="auto_decompress"):
            LinqSession("key", session=raw)
    closed = aiohttp.ClientSession()
    await closed.close()
    with pytest.raises(LinqUsageError, match="closed"):
        LinqSession("key", session=closed)
    with pytest.raises(LinqUsageError, match="ClientSession"):
        LinqSession("key", session="http://proxy")  # type: ignore[arg-type]


# 9. user callbacks


class CallbackFailure(Exception):
    """The user's own error, raised from a callback."""


async def test_user_callbacks_that_raise(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """A raising on_progress ends the upload with that very exception, unretried."""
    path = sparse(tmp_path, "report.pdf", 4 * CHUNK_SIZE)
    raised: list[CallbackFailure] = []

    def on_progress(sent: int, total: int) -> None:
        raised.append(CallbackFailure("the progress bar broke"))
        raise raised[-1]

    error = await caught(
        linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=on_progress)
    )
    assert error is raised[0]
    assert len(raised) == 1
    assert len(storage_requests(fake)) <= 1  # cut off at once, maybe before storage saw it
    assert sleeps.delays == []
    assert fake.messages == {}
    assert all(a.status != "complete" for a in fake.attachments.values())


async def test_on_recipient_that_raises_stops_the_broadcast(
    linq: LinqSession, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A raising on_recipient stops the broadcast: its exception surfaces, a re-run resumes."""
    recipients = [f"+1555300{n:04d}" for n in range(10)]
    seen: list[RecipientOutcome] = []

    def on_recipient(outcome: RecipientOutcome) -> None:
        seen.append(outcome)
        if len(seen) == 3:
            raise CallbackFailure("the report file is full")

    error = await caught(
        linq.broadcast(
            from_=SENDER,
            recipients=recipients,
            text="hi",
            concurrency=1,
            broadcast_id="run-9",
            on_recipient=on_recipient,
        )
    )
    assert type(error) is CallbackFailure
    assert len(fake.messages) == 3
    assert len(seen) == 3
    assert sleeps.delays == []
    if sys.version_info >= (3, 11):
        assert any("run-9" in note for note in error.__notes__)
    report = await linq.broadcast(
        from_=SENDER, recipients=recipients, text="hi", broadcast_id="run-9"
    )
    assert report.sent == 10
    assert len(fake.messages) == 10


# 10. resumable broadcasts


async def test_resumable_broadcast_after_cancellation(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A cancelled broadcast, run again with the caller's id, sends nobody anything twice."""
    recipients = [f"+1555400{n:04d}" for n in range(60)]
    run_id = str(uuid.uuid4())
    twenty = asyncio.Event()

    def on_recipient(outcome: RecipientOutcome) -> None:
        if len(fake.messages) >= 20:
            twenty.set()

    task = asyncio.ensure_future(
        linq.broadcast(
            from_=SENDER,
            recipients=recipients,
            text="hi",
            concurrency=2,
            broadcast_id=run_id,
            on_recipient=on_recipient,
        )
    )
    await within(twenty.wait())
    task.cancel()
    error = await caught(task)
    assert isinstance(error, asyncio.CancelledError)
    first = len(fake.messages)
    assert first < len(recipients)
    report = await linq.broadcast(
        from_=SENDER, recipients=recipients, text="hi", broadcast_id=run_id
    )
    assert report.sent == len(recipients)
    assert len(fake.messages) == len(recipients)
    per_recipient = sorted(h for chat in fake.chats.values() for h in chat.handles if h != SENDER)
    assert per_recipient == sorted(recipients)


async def test_interrupted_broadcast_exposes_its_id(fake: FakeLinqServer) -> None:
    """Closing the session mid-broadcast raises BroadcastInterruptedError with the id."""
    recipients = [f"+1555500{n:04d}" for n in range(40)]
    sleeper = Sleeper(expected=4)
    linq = LinqSession(fake.api_key, base_url=fake.base_url, retry=RetryPolicy(sleep=sleeper))
    fake.fail_next(503, method="POST", path="/v3/chats", times=1000)
    task = asyncio.ensure_future(
        linq.broadcast(from_=SENDER, recipients=recipients, text="hi", concurrency=4)
    )
    await within(sleeper.waiting.wait())  # four sends, each waiting to retry
    await linq.close()
    error = await within(caught(task))
    assert isinstance(error, BroadcastInterruptedError)
    assert isinstance(error.__cause__, LinqClosedError)
    assert error.broadcast_id in str(error)
    assert error.report.broadcast_id == error.broadcast_id
    assert len(error.report.outcomes) == 4
    assert len(error.remaining) == 36
    assert fake.messages == {}


# 11. broadcast hygiene


async def test_broadcast_hygiene_dedupes_handles(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Emails dedupe whatever their case; the key follows the handle, not its spelling."""
    report = await linq.broadcast(
        from_=SENDER,
        recipients=["Ana@Example.com", "ana@example.com", "+15556667777", "+15556667777"],
        text="hi",
        broadcast_id="hygiene",
    )
    assert [o.recipient for o in report.outcomes] == ["Ana@Example.com", "+15556667777"]
    assert len(fake.messages) == 2
    again = await linq.broadcast(
        from_=SENDER, recipients=["ANA@EXAMPLE.COM"], text="hi", broadcast_id="hygiene"
    )
    assert again.sent == 1
    assert len(fake.messages) == 2


async def test_broadcast_hygiene_stops_on_a_revoked_key(fake: FakeLinqServer) -> None:
    """A refused key stops the broadcast after the sends in flight, not one recipient at a time."""
    recipients = [f"+1555600{n:04d}" for n in range(50)]
    async with LinqSession("revoked-key", base_url=fake.base_url) as linq:
        error = await caught(
            linq.broadcast(from_=SENDER, recipients=recipients, text="hi", concurrency=4)
        )
    assert isinstance(error, BroadcastInterruptedError)
    assert isinstance(error.__cause__, AuthenticationError)
    sends = [r for r in api_requests(fake) if r.path.endswith("/v3/chats")]
    assert len(sends) <= 4
    assert len(error.remaining) >= 46
    assert all(isinstance(o.error, AuthenticationError) for o in error.report.outcomes)


async def test_broadcast_hygiene_stops_when_the_api_is_unreachable(sleeps: SleepRecorder) -> None:
    """An API that cannot be reached stops the broadcast early, with its id."""
    async with FakeLinqServer() as gone:
        base_url = gone.base_url
    retry = RetryPolicy(attempts=2, sleep=sleeps)
    recipients = [f"+1555700{n:04d}" for n in range(50)]
    async with LinqSession("key", base_url=base_url, retry=retry) as linq:
        error = await caught(
            linq.broadcast(from_=SENDER, recipients=recipients, text="hi", concurrency=4)
        )
    assert isinstance(error, BroadcastInterruptedError)
    assert isinstance(error.__cause__, LinqConnectionError)
    assert len(error.report.outcomes) <= 4
    assert len(sleeps.delays) <= 4


# 12. Retry-After dates


@pytest.fixture(params=["Asia/Tokyo", "America/Los_Angeles"])
def process_tz(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The process's local time zone, set for the test (time.tzset) and restored after."""
    monkeypatch.setenv("TZ", request.param)
    time.tzset()
    yield request.param
    monkeypatch.undo()
    time.tzset()


def http_dates(when: float) -> dict[str, str]:
    """``when`` in each HTTP-date form of RFC 9110."""
    gmt = time.gmtime(when)
    return {
        "IMF-fixdate": email.utils.formatdate(when, usegmt=True),
        "RFC 850": time.strftime("%A, %d-%b-%y %H:%M:%S GMT", gmt),
        "asctime": time.strftime(f"%a %b {gmt.tm_mday:2d} %H:%M:%S %Y", gmt),
    }


@pytest.mark.parametrize("form", ["IMF-fixdate", "RFC 850", "asctime"])
async def test_retry_after_dates_are_gmt(
    process_tz: str, form: str, fake: FakeLinqServer, sleeps: SleepRecorder
) -> None:
    """A Retry-After date 30 s ahead waits about 30 s, in every form and any local time zone.

    (A zone misread shifts it by hours; 30 s leaves room for the whole second the date
    format drops and for a slow machine, both of which only shorten the wait.)
    """
    ahead = http_dates(time.time() + 30)[form]
    fake.fail_next(503, headers={"Retry-After": ahead})
    async with LinqSession(
        fake.api_key, base_url=fake.base_url, retry=RetryPolicy(sleep=sleeps)
    ) as linq:
        with pytest.raises(APIStatusError):
            await linq.chats.get("c1")
    (delay,) = sleeps.delays
    assert 20 <= delay <= 31, (form, process_tz, ahead, delay)


# 13. invented headers on the PUT

PATHS = [
    "upload",
    "upload_and_send",
    "broadcast",
    "attachments.upload",
    "bytes",
    "retry after 503",
    "retry after a drop",
    "fresh slot after expiry",
]


@pytest.mark.parametrize("signed_type", [True, False], ids=["slot-signs-type", "slot-without-type"])
@pytest.mark.parametrize("path_kind", PATHS)
async def test_put_carries_no_invented_headers(
    signed_type: bool, path_kind: str, tmp_path: Path, sleeps: SleepRecorder
) -> None:
    """Every PUT sends the slot's headers and Content-Length; no Content-Type aiohttp made up."""
    path = sparse(tmp_path, "report.pdf", 2 * CHUNK_SIZE + 7)
    async with FakeLinqServer(sign_content_type=signed_type) as fake:
        retry = RetryPolicy(sleep=sleeps)
        async with LinqSession(fake.api_key, base_url=fake.base_url, retry=retry) as linq:
            if path_kind == "upload":
                await linq.upload(path)
            elif path_kind == "upload_and_send":
                await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
            elif path_kind == "broadcast":
                await linq.broadcast(path, from_=SENDER, recipients=[RECIPIENT, "+15550001111"])
            elif path_kind == "attachments.upload":
                slot = await linq.attachments.create(
                    filename="report.pdf",
                    content_type="application/pdf",
                    size_bytes=path.stat().st_size,
                )
                await linq.attachments.upload(slot, path)
            elif path_kind == "bytes":
                await linq.upload(memoryview(bytearray(1000)), filename="report.pdf")
            elif path_kind == "retry after 503":
                fake.fail_next(503, method="PUT")
                await linq.upload(path)
            elif path_kind == "retry after a drop":
                fake.drop_upload(after_bytes=CHUNK_SIZE)
                await linq.upload(path)
            else:
                slot = await linq.attachments.create(
                    filename="report.pdf",
                    content_type="application/pdf",
                    size_bytes=path.stat().st_size,
                )
                fake.expire_upload_urls()
                with pytest.raises(UploadExpiredError):
                    await linq.attachments.upload(slot, path)
                await linq.upload(path)  # a slot issued after the expiry
        puts = storage_requests(fake)
        assert puts
        assert any(fake.attachments[a].status == "complete" for a in fake.attachments)
        allowed = {"host", "content-length", "user-agent", "accept", "accept-encoding"}
        if signed_type:
            allowed.add("content-type")
        for put in puts:
            assert {name.lower() for name in put.headers} <= allowed, put.headers
            attachment = fake.attachments[put.path.split("/")[2]]
            assert put.headers["Content-Length"] == str(attachment.size_bytes)
            assert put.headers.get("Content-Type") == (
                attachment.content_type if signed_type else None
            )


# 14. filenames


async def test_filenames_are_nfc_text(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """NFD names are sent as NFC (and counted so); undecodable names are refused locally."""
    nfd = unicodedata.normalize("NFD", "Résumé café.pdf")
    path = tmp_path / nfd
    path.write_bytes(b"%PDF-1.4 resume")
    upload = await linq.upload(path)
    nfc = unicodedata.normalize("NFC", nfd)
    assert nfd != nfc
    assert upload.filename == nfc
    (create,) = api_requests(fake)
    assert json.loads(create.body)["filename"] == nfc
    # 250 accented letters: 500 code points as macOS spells them, 250 characters really.
    long_name = unicodedata.normalize("NFD", "é" * 250) + ".pdf"
    assert (await linq.upload(b"%PDF", filename=long_name)).filename == "é" * 250 + ".pdf"

    fake.requests.clear()
    raw = os.path.join(os.fsencode(tmp_path), b"caf\xe9.pdf")  # Latin-1 bytes, not UTF-8
    undecodable = os.fsdecode(raw)
    write(Path(undecodable), b"%PDF-1.4 latin")
    with pytest.raises(LinqUsageError, match="not valid UTF-8"):
        await linq.upload(undecodable)
    with pytest.raises(LinqUsageError, match="surrogate"):
        await linq.upload(b"%PDF", filename="caf\udce9.pdf")
    with pytest.raises(LinqUsageError, match="surrogate"):
        await linq.attachments.create(
            filename="caf\udce9.pdf", content_type="application/pdf", size_bytes=4
        )

    class BytesPath:
        def __fspath__(self) -> bytes:
            return raw

    with pytest.raises(LinqUsageError, match="not valid UTF-8"):
        await linq.upload(BytesPath())  # type: ignore[arg-type]
    assert fake.requests == []
    assert (await linq.upload(undecodable, filename="cafe.pdf")).filename == "cafe.pdf"
    assert (await linq.upload(BytesPath(), filename="cafe.pdf")).filename == "cafe.pdf"  # type: ignore[arg-type]


async def test_filenames_storage_accepts_what_s3_accepts(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """A newline in the name (a key S3 stores) uploads to the fake's storage."""
    upload = await linq.upload(b"two lines", filename="two\nlines.txt")
    assert fake.attachments[upload.attachment_id].status == "complete"
    (put,) = storage_requests(fake)
    assert put.path.endswith("/two%0Alines.txt")


# 15. checks before any request


def drop_file_access_override() -> None:
    """In a child of root: give up the capabilities that let root read any file."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


UNREADABLE_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from linq_async import LinqSession, LinqUsageError

    async def main():
        async with LinqSession(sys.argv[2], base_url=sys.argv[1]) as linq:
            for call in (linq.upload(sys.argv[3]),
                         linq.upload_and_send(sys.argv[3], from_="+12223334444",
                                              to="+15556667777"),
                         linq.broadcast(sys.argv[3], from_="+12223334444",
                                        recipients=["+15556667777"])):
                try:
                    await call
                except LinqUsageError as exc:
                    print("LinqUsageError:", exc)
                else:
                    print("no error")

    asyncio.run(main())
    """
)


async def run_unprivileged(*args: str) -> tuple[int | None, str, str]:
    """Run ``python ARGS`` as a reader without root's power to read any file."""
    env = {name: value for name, value in python_env().items() if not name.startswith("LINQ_")}
    env.update(dict(arg.split("=", 1) for arg in args if arg.startswith("LINQ_")))
    argv = [arg for arg in args if not arg.startswith("LINQ_")]
    preexec = drop_file_access_override if os.geteuid() == 0 else None
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
        preexec_fn=preexec,
    )
    out, err = await within(proc.communicate())
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="drops Linux capabilities")
async def test_unreadable_file_is_refused_before_any_request(
    fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A mode-000 file: LinqUsageError (CLI exit 2) before a slot is asked for."""
    path = tmp_path / "secret.pdf"
    path.write_bytes(b"%PDF-1.4 nobody may read this")
    path.chmod(0)
    script = tmp_path / "unreadable.py"
    script.write_text(UNREADABLE_SCRIPT)
    code, out, err = await run_unprivileged(str(script), fake.base_url, fake.api_key, str(path))
    assert code == 0, err
    assert out.splitlines() == [f"LinqUsageError: cannot read {str(path)!r}: Permission denied"] * 3
    env = [f"LINQ_API_KEY={fake.api_key}", f"LINQ_BASE_URL={fake.base_url}"]
    code, out, err = await run_unprivileged("-m", "linq_async", "upload", str(path), *env)
    assert code == 2, err
    assert "cannot read" in err
    code, out, err = await run_unprivileged(
        "-m", "linq_async", "send", "--from", SENDER, "--to", RECIPIENT, "--file", str(path), *env
    )
    assert code == 2, err
    assert fake.requests == []


# 16. results tell the truth


async def test_results_tell_the_truth_on_a_repeated_send(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A repeated keyed send leaves no orphan upload and names the attachment it sent."""
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 " + os.urandom(5000))
    first = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, idempotency_key="k-16")
    second = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, idempotency_key="k-16")
    assert second.message.id == first.message.id
    assert second.upload == first.upload
    assert list(fake.attachments) == [first.upload.attachment_id]
    (part,) = [p for p in second.message.parts if isinstance(p, MediaPart)]
    assert part.id == second.upload.attachment_id
    assert len(fake.messages) == 1
    # Without a key of the caller's, two calls are two sends, each with its own upload.
    third = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
    assert third.upload.attachment_id in fake.attachments
    assert len(fake.attachments) == 2


async def test_results_tell_the_truth_on_a_rerun_broadcast(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """A broadcast re-run with its file, when everyone was served, deletes its new upload."""
    path = tmp_path / "flyer.pdf"
    path.write_bytes(b"%PDF-1.4 " + os.urandom(3000))
    recipients = [RECIPIENT, "+15550001111"]
    first = await linq.broadcast(path, from_=SENDER, recipients=recipients, broadcast_id="b-16")
    again = await linq.broadcast(path, from_=SENDER, recipients=recipients, broadcast_id="b-16")
    assert again.upload == first.upload
    assert list(fake.attachments) == [first.upload.attachment_id]
    assert len(fake.messages) == 2


# 17. clock skew


async def test_clock_skew_is_judged_on_the_server_clock(
    linq: LinqSession, fake: FakeLinqServer, tmp_path: Path
) -> None:
    """With the client's clock 16 minutes fast, the upload is tried, and storage takes it."""
    fake.shift_clock(-dt.timedelta(minutes=16))
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 " + os.urandom(3000))
    result = await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT)
    attachment = fake.attachments[result.upload.attachment_id]
    assert attachment.status == "complete"
    # The premise: by the local clock the slot had expired before it was used.
    assert attachment.upload_expires_at is not None
    assert attachment.upload_expires_at < dt.datetime.now(dt.timezone.utc)
    assert len(fake.attachments) == 1


# 18. configuration errors


@pytest.mark.parametrize(
    "make",
    [
        lambda: LinqSession("key", retry=3),
        lambda: LinqSession("key", timeout=5),
        lambda: LinqSession("key", session="http://proxy:3128"),
        lambda: LinqSession("key", base_url=5),
        lambda: RetryPolicy(jitter=2),
        lambda: RetryPolicy(attempts="3"),
        lambda: RetryPolicy(attempts=2.5),
        lambda: RetryPolicy(wait_max=None),
        lambda: RetryPolicy(wait_initial=float("nan")),
        lambda: RetryPolicy(deadline="60"),
        lambda: RetryPolicy(sleep=None),
        lambda: RetryPolicy(sleep=time.sleep),
        lambda: Timeouts(total="5"),
        lambda: Timeouts(total=-1),
        lambda: Timeouts(connect=float("nan")),
        lambda: Timeouts(upload_read=0),
        lambda: Timeouts(upload_read=float("inf")),
        lambda: Timeouts(connect=True),
        lambda: Timeouts(total=10**400),  # no float holds it
        lambda: RetryPolicy(wait_max=10**400),
        lambda: RetryPolicy(deadline=10**400),
        lambda: RetryPolicy(jitter=10**400),
    ],
    ids=lambda make: "",
)
def test_configuration_errors_at_construction(make: Callable[[], object]) -> None:
    """Nonsense configuration is a LinqUsageError when it is made, not at the first outage."""
    with pytest.raises(LinqUsageError):
        make()


async def test_configuration_errors_at_call_time(linq: LinqSession, fake: FakeLinqServer) -> None:
    """Bad arguments are LinqUsageError (never a bare TypeError) before any request."""
    calls: list[Awaitable[object]] = [
        linq.upload(memoryview(b"abcdef")[::2], filename="a.txt"),
        linq.upload_and_send(b"x", filename="a.txt", from_=SENDER, to=None),  # type: ignore[arg-type]
        linq.broadcast(from_=SENDER, recipients=None, text="hi"),  # type: ignore[arg-type]
        linq.broadcast(from_=SENDER, recipients=5, text="hi"),  # type: ignore[arg-type]
        linq.upload(b"x", filename="a.txt", on_progress=5),  # type: ignore[arg-type]
        linq.broadcast(from_=SENDER, recipients=[RECIPIENT], text="hi", on_recipient="print"),  # type: ignore[arg-type]
        linq.attachments.upload("a slot", b"x"),  # type: ignore[arg-type]
        linq.upload(b"x", filename=5),  # type: ignore[arg-type]
        linq.upload(b"x", filename="a.txt", content_type=5),  # type: ignore[arg-type]
        linq.broadcast(from_=SENDER, recipients=[RECIPIENT], text="hi", concurrency="2"),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(LinqUsageError):
            await call
    assert fake.requests == []


async def test_a_sleep_that_is_not_async_is_a_usage_error(fake: FakeLinqServer) -> None:
    """A retry sleep returning no awaitable is named as such at its first use."""
    retry = RetryPolicy(sleep=lambda delay: None)  # type: ignore[arg-type,return-value]
    async with LinqSession(fake.api_key, base_url=fake.base_url, retry=retry) as linq:
        fake.fail_next(503)
        with pytest.raises(LinqUsageError, match="awaitable"):
            await linq.chats.get("c1")


# The command line


@pytest.fixture
def cli_env(fake: FakeLinqServer) -> dict[str, str]:
    return make_env(LINQ_API_KEY=fake.api_key, LINQ_BASE_URL=fake.base_url)


async def test_cli_broadcast_interrupted_then_resumed(
    fake: FakeLinqServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """Ctrl-C after some sends; the id printed first resumes it, and nobody gets two messages."""
    recipients = [f"+1555800{n:04d}" for n in range(200)]
    csv_path = write(tmp_path / "list.csv", ("phone\n" + "\n".join(recipients) + "\n").encode())
    args = ("broadcast", "--from", SENDER, "--recipients", str(csv_path), "--text", "Sale!")
    proc = await start_cli(*args, "--concurrency", "1", env=cli_env)
    assert proc.stderr is not None
    first_line = (await within(proc.stderr.readline())).decode()
    assert first_line.startswith("linq-async: broadcast ")
    broadcast_id = first_line.split()[2]
    assert f"--broadcast-id {broadcast_id}" in first_line
    # Let some sends through, then hold the rest in retries (a 503 storm) and press Ctrl-C.
    while len(fake.messages) < 72:
        await within(asyncio.sleep(0.005))  # the fake runs in this loop
    fake.fail_next(503, method="POST", path="/v3/chats", times=10_000)
    proc.send_signal(signal.SIGINT)
    interrupted = await finish(proc)
    assert interrupted.code == 130, interrupted.err
    assert f"to resume, run the same command with --broadcast-id {broadcast_id}" in interrupted.err
    sent_first = len(fake.messages)
    assert 72 <= sent_first < 200
    fake.reset_faults()
    resumed = await run_cli(*args, "--broadcast-id", broadcast_id, "--json", env=cli_env)
    assert resumed.code == 0, resumed.err
    assert resumed.json()["sent"] == 200
    assert len(fake.messages) == 200
    handles = sorted(h for chat in fake.chats.values() for h in chat.handles if h != SENDER)
    assert handles == sorted(recipients)


async def test_cli_debug_logs_each_request(
    fake: FakeLinqServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """--debug logs method, path, status, attempt and time of each request; no secret."""
    path = write(tmp_path / "report.pdf", b"%PDF-1.4 " + os.urandom(2000))
    fake.fail_next(503, method="POST", path="/v3/chats")
    result = await run_cli(
        "--debug", "send", "--from", SENDER, "--to", RECIPIENT, "--file", str(path), env=cli_env
    )
    assert result.code == 0, result.err
    lines = result.err.splitlines()
    assert any("POST /v3/attachments -> 200 (attempt 1, " in line for line in lines)
    assert any("POST /v3/chats -> 503 (attempt 1, " in line for line in lines)
    assert any("POST /v3/chats -> 200 (attempt 2, " in line for line in lines)
    (put,) = [line for line in lines if " PUT http://127.0.0.1:" in line]
    assert "-> 200 (attempt 1, " in put
    assert "?" not in put
    (attachment,) = fake.attachments.values()
    assert attachment.upload_url.partition("?")[2] not in result.err
    assert fake.api_key not in result.err
    assert "Bearer" not in result.err


async def test_cli_attachment_id_is_usable(
    fake: FakeLinqServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """The id `upload` prints is what send and broadcast take as --attachment-id."""
    path = write(tmp_path / "report.pdf", b"%PDF-1.4 " + os.urandom(2000))
    uploaded = await run_cli("upload", str(path), "--json", env=cli_env)
    assert uploaded.code == 0, uploaded.err
    attachment_id = uploaded.json()["attachment_id"]
    sent = await run_cli(
        "send", "--from", SENDER, "--to", RECIPIENT, "--attachment-id", attachment_id,
        "--text", "here", "--json", env=cli_env,
    )  # fmt: skip
    assert sent.code == 0, sent.err
    assert sent.json()["attachment"]["attachment_id"] == attachment_id
    csv_path = write(tmp_path / "list.csv", f"{RECIPIENT}\n+15550001111\n".encode())
    broadcast = await run_cli(
        "broadcast", "--from", SENDER, "--recipients", str(csv_path),
        "--attachment-id", attachment_id, "--json", env=cli_env,
    )  # fmt: skip
    assert broadcast.code == 0, broadcast.err
    assert len(fake.attachments) == 1
    assert len(fake.messages) == 3
    for message in fake.messages.values():
        assert {"type": "media", "attachment_id": attachment_id} in message.parts
    both = await run_cli(
        "send", "--from", SENDER, "--to", RECIPIENT, "--attachment-id", attachment_id,
        "--file", str(path), env=cli_env,
    )  # fmt: skip
    assert both.code == 2


@pytest.mark.parametrize("header", ["E164", "phone1", "Phone Number", "mobile_2"])
async def test_cli_csv_header_cells_with_digits(
    fake: FakeLinqServer, cli_env: dict[str, str], tmp_path: Path, header: str
) -> None:
    """A header cell such as E164 or phone1 is a header, not a bad phone number."""
    rows = f"{header},name\n{RECIPIENT},Ana\nAna@Example.com,Ana\nana@example.com,Ana again\n"
    csv_path = write(tmp_path / "list.csv", rows.encode())
    result = await run_cli(
        "broadcast", "--from", SENDER, "--recipients", str(csv_path), "--text", "hi", "--json",
        env=cli_env,
    )  # fmt: skip
    assert result.code == 0, result.err
    assert [o["recipient"] for o in result.json()["outcomes"]] == [RECIPIENT, "Ana@Example.com"]
    assert "1 duplicate row(s)" in result.err


async def test_cli_csv_malformed_first_handle_is_still_an_error(
    fake: FakeLinqServer, cli_env: dict[str, str], tmp_path: Path
) -> None:
    """A first cell that looks like a handle but is not one is reported, not skipped."""
    csv_path = write(tmp_path / "list.csv", b"+1 555 CALL NOW\n+15556667777\n")
    result = await run_cli(
        "broadcast", "--from", SENDER, "--recipients", str(csv_path), "--text", "hi", env=cli_env
    )
    assert result.code == 2
    assert "line 1" in result.err
    assert fake.requests == []
