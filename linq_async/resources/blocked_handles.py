"""``linq.blocked_handles``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["BlockedHandles"]


class BlockedHandles(Resource):
    """Handles your lines never message: ``linq.blocked_handles``."""
