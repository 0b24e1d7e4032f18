"""Benchmarks: every linq-async send path beside a bare aiohttp client and the official SDK.

Run ``python -m bench --help`` (or ``nox -s bench``). Every measurement runs the client in its
own process against a fake Linq API in another (``bench.lean_fake``, which replays
``linq_async.testing.FakeLinqServer``'s answers, or that fake itself), so the client's CPU
time and peak RSS are its own. See ``bench/README.md``.

This package's ``__init__`` imports nothing on purpose: client processes start as
``python -m bench.<client>`` and must not pay for modules they do not use.
"""
