"""``linq.messages``: messages by id."""

from __future__ import annotations

from ..models import Message
from ._base import Resource

__all__ = ["Messages"]


class Messages(Resource):
    """Messages by id, whatever chat they are in: ``linq.messages``."""

    async def get(self, message_id: str) -> Message:
        """Fetch one message (``GET /v3/messages/{messageId}``).

        Raises:
            NotFoundError: no such message, or it left the API after its retention window.
        """
        return await self._request("GET", "/v3/messages/{messageId}", message_id, cast_to=Message)
