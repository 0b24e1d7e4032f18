"""Every declared endpoint of the fake, gathered from the area modules."""

from __future__ import annotations

from ._declare import Endpoint
from ._routes_account import ENDPOINTS as ACCOUNT
from ._routes_app_cards import ENDPOINTS as APP_CARDS
from ._routes_chats import ENDPOINTS as CHATS
from ._routes_messages import ENDPOINTS as MESSAGES
from ._routes_payments import ENDPOINTS as PAYMENTS
from ._routes_webhooks import ENDPOINTS as WEBHOOKS

__all__ = ["ENDPOINTS"]

ENDPOINTS: list[Endpoint] = [*CHATS, *MESSAGES, *APP_CARDS, *ACCOUNT, *PAYMENTS, *WEBHOOKS]
