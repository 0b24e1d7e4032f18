"""One receiver pod of the multi-process webhook test: a Router behind RedisDedupe.

Run as ``python tests/_webhook_receiver.py REDIS_URL DEDUPE_PREFIX LOG_KEY`` with
``LINQ_WEBHOOK_SECRET`` set. Serves ``POST /hook`` on 127.0.0.1 (a free port, printed on the
first line of stdout), dispatches every event to one handler that appends
``"<event_id> <pid>"`` to the Redis list ``LOG_KEY``, and stops when stdin closes.
"""

from __future__ import annotations

import asyncio
import os
import sys

from aiohttp import web
from redis.asyncio import Redis

from linq_async.contrib.redis import RedisDedupe
from linq_async.webhooks import Router, Verifier, WebhookEvent, setup_aiohttp


async def main(redis_url: str, prefix: str, log_key: str) -> None:
    """Serve until stdin closes."""
    redis = Redis.from_url(redis_url)
    # The answer waits for the handler, so the test sees every dispatch once the fake has
    # its answers.
    router = Router(
        Verifier.from_env(), dedupe=RedisDedupe(redis, prefix=prefix), wait_for_handlers=True
    )

    @router.on("*")
    async def record(event: WebhookEvent) -> None:
        await redis.rpush(log_key, f"{event.event_id} {os.getpid()}")

    app = web.Application()
    setup_aiohttp(app, router, "/hook")
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    print(runner.addresses[0][1], flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3]))
