"""Every declared endpoint of the fake, gathered from the area modules."""

from __future__ import annotations

from ._declare import Endpoint
from ._routes_chats import ENDPOINTS as CHATS

__all__ = ["ENDPOINTS"]

ENDPOINTS: list[Endpoint] = [*CHATS]
