"""``linq.messages``: messages by id."""

from __future__ import annotations

from .._converter import structure
from .._transport import path
from ..models import Message
from ._base import Resource


class Messages(Resource):
    """Messages by id, whatever chat they are in."""

    async def get(self, message_id: str) -> Message:
        """Fetch one message (``GET /v3/messages/{messageId}``).

        Raises:
            NotFoundError: no such message, or it left the API after its retention window.
        """
        api_path = path("/v3/messages/{}", message_id)
        data = await self._transport.request("GET", api_path, idempotent=True)
        return structure(data, Message, what=f"GET {api_path}")
