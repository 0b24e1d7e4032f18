"""Fault injection: queued rules that make the next matching requests fail or drop.

Rules are consumed first come, first served: the oldest rule that matches a request is the
one applied, and it is removed once it has been applied ``times`` times.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
from aiohttp import web

from ._envelope import (
    api_error_body,
    default_api_code,
    default_s3_code,
    reason,
    s3_error_body,
)
from ._state import Site


def _is_text(rule: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{attribute.name} must be a non-empty string or None, got {value!r}")


def _is_int(rule: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{attribute.name} must be an int or None, got {value!r}")


def _is_bytes(rule: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not isinstance(value, bytes):
        raise ValueError(f"{attribute.name} must be bytes, str or None, got {value!r}")


def _is_headers(rule: Any, attribute: attrs.Attribute[Any], value: dict[Any, Any]) -> None:
    for name, text in value.items():
        if not (isinstance(name, str) and isinstance(text, str)):
            raise ValueError(f"headers must map str to str, got {name!r}: {text!r}")


@attrs.define(kw_only=True, eq=False)
class _Rule:
    site: Site | None = attrs.field(validator=attrs.validators.in_((None, "api", "storage")))
    method: str | None = attrs.field(validator=attrs.validators.optional(_is_text))
    path: str | None = attrs.field(validator=attrs.validators.optional(_is_text))
    remaining: int

    def matches(self, site: Site, method: str, path: str) -> bool:
        return (
            (self.site is None or self.site == site)
            and (self.method is None or self.method.upper() == method.upper())
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
        )


@attrs.define(kw_only=True, eq=False)
class Failure(_Rule):
    """An injected error response."""

    status: int
    code: int | None = attrs.field(default=None, validator=attrs.validators.optional(_is_int))
    message: str | None = attrs.field(default=None, validator=attrs.validators.optional(_is_text))
    body: bytes | None = attrs.field(default=None, validator=_is_bytes)
    content_type: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(_is_text)
    )
    headers: dict[str, str] = attrs.field(factory=dict, validator=_is_headers)
    extra: dict[str, Any] = attrs.field(factory=dict)

    def response(self, site: Site) -> web.Response:
        """Build the response for a request on ``site``."""
        message = self.message or reason(self.status)
        if self.body is not None:
            return web.Response(
                status=self.status,
                body=self.body,
                content_type=self.content_type or "application/octet-stream",
                headers=self.headers,
            )
        if site == "storage":
            return web.Response(
                status=self.status,
                body=s3_error_body(default_s3_code(self.status), message),
                content_type="application/xml",
                headers=self.headers,
            )
        code = self.code if self.code is not None else default_api_code(self.status)
        return web.Response(
            status=self.status,
            body=api_error_body(self.status, code, message, extra=self.extra),
            content_type="application/json",
            headers=self.headers,
        )


_R = TypeVar("_R", bound=_Rule)


@attrs.define(kw_only=True, eq=False)
class _Cut:
    """Cut the next ``remaining`` uploads (or downloads) after ``after_bytes`` bytes."""

    after_bytes: int
    remaining: int


def _times(times: int) -> int:
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ValueError(f"times must be a positive integer, got {times!r}")
    return times


class FaultPlan:
    """The queued faults of one fake server."""

    def __init__(self) -> None:
        self._failures: list[Failure] = []
        self._drops: list[_Rule] = []
        self._upload_drops: list[_Cut] = []
        self._download_cuts: list[_Cut] = []

    def add_failure(
        self,
        status: int,
        *,
        times: int,
        site: Site | None,
        method: str | None,
        path: str | None,
        code: int | None = None,
        message: str | None = None,
        body: bytes | str | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Queue an error response for the next ``times`` matching requests."""
        # 1xx is never a final answer: a client would wait for one forever.
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"status must be an HTTP status code from 200 to 599, got {status!r}")
        self._failures.append(
            Failure(
                site=site,
                method=method,
                path=path,
                remaining=_times(times),
                status=status,
                code=code,
                message=message,
                body=body.encode() if isinstance(body, str) else body,
                content_type=content_type,
                headers=dict(headers or {}),
                extra=dict(extra or {}),
            )
        )

    def add_drop(
        self, *, times: int, site: Site | None, method: str | None, path: str | None
    ) -> None:
        """Queue a dropped response for the next ``times`` matching requests."""
        self._drops.append(_Rule(site=site, method=method, path=path, remaining=_times(times)))

    def add_upload_drop(self, *, after_bytes: int, times: int) -> None:
        """Queue ``times`` uploads that are cut after ``after_bytes`` body bytes."""
        self._upload_drops.append(_cut(after_bytes, times))

    def add_download_cut(self, *, after_bytes: int, times: int) -> None:
        """Queue ``times`` downloads that are cut after ``after_bytes`` bytes of the file."""
        self._download_cuts.append(_cut(after_bytes, times))

    def take_failure(self, site: Site, method: str, path: str) -> Failure | None:
        """Consume and return the failure for this request, if one matches."""
        return _take(self._failures, site, method, path)

    def take_drop(self, site: Site, method: str, path: str) -> bool:
        """Consume a drop rule for this request; return whether one matched."""
        return _take(self._drops, site, method, path) is not None

    def take_upload_drop(self) -> int | None:
        """Consume an upload drop; return its byte threshold, or ``None``."""
        return _take_cut(self._upload_drops)

    def take_download_cut(self) -> int | None:
        """Consume a download cut; return its byte threshold, or ``None``."""
        return _take_cut(self._download_cuts)

    def reset(self) -> None:
        """Forget every queued fault."""
        self._failures.clear()
        self._drops.clear()
        self._upload_drops.clear()
        self._download_cuts.clear()


def _cut(after_bytes: int, times: int) -> _Cut:
    if isinstance(after_bytes, bool) or not isinstance(after_bytes, int) or after_bytes < 0:
        raise ValueError(f"after_bytes must be a non-negative integer, got {after_bytes!r}")
    return _Cut(after_bytes=after_bytes, remaining=_times(times))


def _take_cut(cuts: list[_Cut]) -> int | None:
    if not cuts:
        return None
    cut = cuts[0]
    cut.remaining -= 1
    if cut.remaining == 0:
        del cuts[0]
    return cut.after_bytes


def _take(rules: list[_R], site: Site, method: str, path: str) -> _R | None:
    for index, rule in enumerate(rules):
        if rule.matches(site, method, path):
            rule.remaining -= 1
            if rule.remaining == 0:
                del rules[index]
            return rule
    return None
