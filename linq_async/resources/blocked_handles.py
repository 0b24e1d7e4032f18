"""``linq.blocked_handles``: handles your lines never message directly."""

from __future__ import annotations

import attrs

from .._validation import check_handle, check_string
from ..models import BlockedHandle
from ._base import RequestBody, Resource

__all__ = ["BlockedHandles"]


@attrs.define(kw_only=True)
class _Block(RequestBody):
    handle: str
    reason: str | None = None


@attrs.define(kw_only=True)
class _Unblock(RequestBody):
    handle: str


class BlockedHandles(Resource):
    """Handles your lines never message directly: ``linq.blocked_handles``.

    A direct send to a blocked handle (a new or existing chat with that handle alone) is
    refused with `PermissionDeniedError`, code 2026. Group chats are not affected.
    """

    async def list(self) -> list[BlockedHandle]:
        """Every blocked handle, newest first (``GET /v3/blocked_handles``)."""
        return await self._request_list(
            "GET", "/v3/blocked_handles", item=BlockedHandle, envelope="blocked_handles"
        )

    async def block(self, handle: str, *, reason: str | None = None) -> BlockedHandle:
        """Block a handle (``POST /v3/blocked_handles``).

        Blocking an already blocked handle is accepted and changes nothing, so the call is
        retried after a 5xx or a lost answer.

        Args:
            handle: E.164 or email.
            reason: a note kept with the block.

        Returns:
            The block, with the handle as the API normalised it.

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email, or ``reason`` is empty
                (nothing is sent).
        """
        body = _Block(
            handle=check_handle(handle, what="handle"),
            reason=None if reason is None else check_string(reason, what="reason"),
        )
        return await self._request(
            "POST",
            "/v3/blocked_handles",
            body=body,
            cast_to=BlockedHandle,
            envelope="blocked_handle",
            safe_reason="blocking a handle is idempotent",
        )

    async def unblock(self, handle: str) -> None:
        """Unblock a handle (``DELETE /v3/blocked_handles``, the handle in a JSON body).

        Args:
            handle: E.164 or email.

        Raises:
            LinqUsageError: ``handle`` is not E.164 or an email (nothing is sent).
        """
        await self._request(
            "DELETE",
            "/v3/blocked_handles",
            body=_Unblock(handle=check_handle(handle, what="handle")),
            cast_to=None,
        )
