"""One receiver process of the multi-process dedupe test: claims keys once Redis says go.

Run as ``python tests/_dedupe_claimer.py URL PREFIX GO_KEY KEY...``: prints ``ready``, waits
for ``GO_KEY`` to exist (so every process starts claiming at once), claims every key
concurrently through `RedisDedupe`, and prints the keys it won as one JSON list.
"""

from __future__ import annotations

import asyncio
import json
import sys

from redis.asyncio import Redis

from linq_async.contrib.redis import RedisDedupe


async def main(url: str, prefix: str, go_key: str, keys: list[str]) -> None:
    """Claim ``keys`` as soon as ``go_key`` exists; print the winners."""
    redis = Redis.from_url(url)
    try:
        dedupe = RedisDedupe(redis, prefix=prefix, min_ttl=0)
        print("ready", flush=True)
        for _ in range(2000):  # 10 s at most
            if await redis.exists(go_key):
                break
            await asyncio.sleep(0.005)
        won = await asyncio.gather(*(dedupe.claim(key, 60) for key in keys))
        print(json.dumps([key for key, first in zip(keys, won, strict=True) if first]), flush=True)
    finally:
        await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]))
