"""Integrations with other libraries, each behind an optional extra.

- `linq_async.contrib.redis` (``pip install 'linq-async[redis]'``): campaign records,
  per-line rate limits and webhook dedupe shared through Redis.
- `linq_async.contrib.arq` (``pip install 'linq-async[arq]'``): campaigns on arq workers.

Nothing here is imported by ``import linq_async``.
"""
