"""``LinqSession``: configuration, the ClientSession's lifetime, and the API namespaces."""

from __future__ import annotations

import os
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import aiohttp
from yarl import URL

from ._errors import LinqUsageError
from ._retry import RetryPolicy
from ._transport import Timeouts, Transport
from .resources import Attachments, Chats, Messages

__all__ = ["DEFAULT_BASE_URL", "LinqSession"]

DEFAULT_BASE_URL = "https://api.linqapp.com/api/partner"
"""The production API root; paths such as ``/v3/chats`` are appended to it."""

_KEY_VARS = ("LINQ_API_KEY", "LINQ_API_V3_API_KEY")
_BASE_URL_VARS = ("LINQ_BASE_URL", "LINQ_API_V3_BASE_URL")


def _check_base_url(base_url: str) -> str:
    url = URL(base_url) if isinstance(base_url, str) else None
    if url is None or url.scheme not in ("http", "https") or not url.host or url.query_string:
        raise LinqUsageError(
            f"base_url must be an http(s) URL without a query, such as {DEFAULT_BASE_URL!r}; "
            f"got {base_url!r}"
        )
    return base_url.rstrip("/")


class LinqSession:
    """An async client of the Linq Partner API v3. Use it as an async context manager.

    One ``LinqSession`` owns one aiohttp ``ClientSession`` (created inside the running event
    loop on ``async with`` or on first use) and shares its connection pool across every call,
    so make one per application, not one per request.

    Example::

        async with LinqSession(api_key) as linq:
            result = await linq.upload_and_send(
                "report.pdf", from_="+12223334444", to="+15556667777", text="Your report"
            )

    Args:
        api_key: your Linq API key (bearer token). Required; :meth:`from_env` reads it from
            the environment instead.
        base_url: the API root, ``https://api.linqapp.com/api/partner`` by default. Its path
            is kept: ``/v3/chats`` is appended to it.
        timeout: timeouts for API calls and uploads.
        retry: which failures are retried and how long to wait.
        session: an aiohttp ``ClientSession`` of yours to send through. It is used as given
            and never closed by this object.

    Raises:
        LinqUsageError: the API key is missing or empty, or ``base_url`` is not an http(s) URL.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        base_url: str | None = None,
        timeout: Timeouts | None = None,
        retry: RetryPolicy | None = None,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        if not isinstance(api_key, str) or not api_key.strip() or api_key != api_key.strip():
            raise LinqUsageError(
                "an API key is required: pass LinqSession(api_key) or use "
                "LinqSession.from_env(), which reads LINQ_API_KEY "
                "(the key must be a non-empty string without surrounding whitespace)"
            )
        self._transport = Transport(
            api_key=api_key,
            base_url=_check_base_url(base_url or DEFAULT_BASE_URL),
            timeouts=timeout or Timeouts(),
            retry=retry or RetryPolicy(),
            session=session,
        )
        self.attachments = Attachments(self._transport)
        """Presigned upload slots and attachment metadata."""
        self.chats = Chats(self._transport)
        """Chats, and ``chats.messages`` for messages inside one chat."""
        self.messages = Messages(self._transport)
        """Messages by id."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **options: Any) -> LinqSession:
        """Build a session from environment variables.

        Reads the key from ``LINQ_API_KEY`` (or the official SDK's ``LINQ_API_V3_API_KEY``)
        and the API root from ``LINQ_BASE_URL`` (or ``LINQ_API_V3_BASE_URL``), if set.

        Args:
            environ: the mapping to read instead of ``os.environ``.
            **options: passed on to :class:`LinqSession` (``timeout``, ``retry`` ...).

        Raises:
            LinqUsageError: no API key variable is set.
        """
        env = os.environ if environ is None else environ
        api_key = next((env[name] for name in _KEY_VARS if env.get(name)), None)
        if api_key is None:
            raise LinqUsageError(f"no API key in the environment: set {' or '.join(_KEY_VARS)}")
        base_url = next((env[name] for name in _BASE_URL_VARS if env.get(name)), None)
        options.setdefault("base_url", base_url)
        return cls(api_key.strip(), **options)

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._transport.base_url

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called. A closed session cannot be reopened."""
        return self._transport.state == "closed"

    async def open(self) -> None:
        """Create the connection pool now rather than on first use.

        Raises:
            LinqClosedError: the session was closed.
        """
        await self._transport.open()

    async def close(self) -> None:
        """Close the connection pool (unless it is the caller's). Safe to call twice."""
        await self._transport.close()

    async def __aenter__(self) -> LinqSession:
        await self.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return f"<LinqSession {self.base_url} {self._transport.state}>"
