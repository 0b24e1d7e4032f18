"""The API surface, one row per endpoint: (namespace, method, HTTP verb, path under /v3).

The tests' own copy (tests never read ../shared/). `test_endpoint_table.py` checks that every
public method of every namespace is a row and every row a method; the area tests check each
row's verb and path on the wire. Helpers (``chats.typing.keep``, ``attachments.download``)
have the verb and path of the request they make, or ``None`` for none of their own.
"""

from __future__ import annotations

# ruff: noqa: E501  (one row per line reads best)

Row = tuple[str, str, str | None, str | None]

ENDPOINTS: list[Row] = [
    # chats
    ("chats", "create", "POST", "/chats"),
    ("chats", "create_with", "POST", "/chats"),  # create, its message already composed
    ("chats", "get", "GET", "/chats/{chatId}"),
    ("chats", "list", "GET", "/chats"),
    ("chats", "update", "PUT", "/chats/{chatId}"),
    ("chats", "leave", "POST", "/chats/{chatId}/leave"),
    ("chats", "mark_read", "POST", "/chats/{chatId}/read"),
    ("chats", "send_voice_memo", "POST", "/chats/{chatId}/voicememo"),
    ("chats", "share_contact_card", "POST", "/chats/{chatId}/share_contact_card"),
    ("chats.participants", "add", "POST", "/chats/{chatId}/participants"),
    ("chats.participants", "remove", "DELETE", "/chats/{chatId}/participants"),
    ("chats.typing", "start", "POST", "/chats/{chatId}/typing"),
    ("chats.typing", "stop", "DELETE", "/chats/{chatId}/typing"),
    ("chats.typing", "keep", None, None),
    ("chats.messages", "send", "POST", "/chats/{chatId}/messages"),
    ("chats.messages", "list", "GET", "/chats/{chatId}/messages"),
    ("chats.location", "get", "GET", "/chats/{chatId}/location"),
    ("chats.location", "request", "POST", "/chats/{chatId}/location/request"),
    ("chats.location", "stop", "DELETE", "/chats/{chatId}/location"),
    ("chats.polls", "create", "POST", "/chats/{chatId}/polls"),
    ("chats.background", "set", "POST", "/chats/{chatId}/background"),
    ("chats.background", "reset", "DELETE", "/chats/{chatId}/background"),
    # messages
    ("messages", "send", "POST", "/messages"),
    ("messages", "get", "GET", "/messages/{messageId}"),
    ("messages", "edit", "PATCH", "/messages/{messageId}"),
    ("messages", "delete", "DELETE", "/messages/{messageId}"),
    ("messages", "react", "POST", "/messages/{messageId}/reactions"),
    ("messages", "unreact", "POST", "/messages/{messageId}/reactions"),
    ("messages", "move_sticker", "PATCH", "/messages/{messageId}/reactions/{reactionId}"),
    ("messages", "thread", "GET", "/messages/{messageId}/thread"),
    ("messages", "update_app_card", "POST", "/messages/{messageId}/update"),
    ("messages.poll", "get", "GET", "/messages/{messageId}/poll"),
    ("messages.poll", "add_options", "POST", "/messages/{messageId}/poll/options"),
    ("messages.poll", "vote", "POST", "/messages/{messageId}/poll/votes"),
    ("messages.poll", "unvote", "POST", "/messages/{messageId}/poll/votes"),
    # attachments
    ("attachments", "create", "POST", "/attachments"),
    ("attachments", "get", "GET", "/attachments/{attachmentId}"),
    ("attachments", "delete", "DELETE", "/attachments/{attachmentId}"),
    ("attachments", "upload", "PUT", None),  # the presigned PUT to the slot's upload_url
    ("attachments", "download", "GET", None),  # the attachment's download_url
    # phone numbers
    ("phone_numbers", "list", "GET", "/phone_numbers"),
    ("phone_numbers", "update", "PUT", "/phone_numbers/{phoneNumberId}"),
    ("phone_numbers", "start_reputation_audit", "POST", "/phone_numbers/{phoneNumber}/reputation_audit"),
    ("phone_numbers", "get_reputation_audit", "GET", "/phone_numbers/{phoneNumber}/reputation_audit/{auditId}"),
    ("phone_numbers", "available", "GET", "/available_number"),
    # contact card
    ("contact_card", "create", "POST", "/contact_card"),
    ("contact_card", "get", "GET", "/contact_card"),
    ("contact_card", "update", "PATCH", "/contact_card"),
    # blocked handles
    ("blocked_handles", "list", "GET", "/blocked_handles"),
    ("blocked_handles", "block", "POST", "/blocked_handles"),
    ("blocked_handles", "unblock", "DELETE", "/blocked_handles"),
    # capability
    ("capability", "check_imessage", "POST", "/capability/check_imessage"),
    ("capability", "check_rcs", "POST", "/capability/check_rcs"),
    # payment requests
    ("payment_requests", "create", "POST", "/payment_requests"),
    ("payment_requests", "list", "GET", "/payment_requests"),
    ("payment_requests", "get", "GET", "/payment_requests/{paymentRequestId}"),
    ("payment_requests", "cancel", "POST", "/payment_requests/{paymentRequestId}/cancel"),
    # payments
    ("payments", "create", "POST", "/payments"),
    ("payments", "get", "GET", "/payments/{paymentId}"),
    ("payments", "cancel", "POST", "/payments/{paymentId}/cancel"),
    ("payments", "credentials", "GET", "/payments/{paymentId}/credentials"),
    ("payments.providers", "get", "GET", "/payments/providers/{provider}"),
    ("payments.providers", "connect", "POST", "/payments/providers/{provider}/connect"),
    ("payments.handles", "connect", "POST", "/payments/handles/{handle}/connect"),
    ("payments.handles", "verify", "POST", "/payments/handles/{handle}/verify"),
    ("payments.handles", "get_connection", "GET", "/payments/handles/{handle}/connection"),
    ("payments.handles", "revoke", "DELETE", "/payments/handles/{handle}/connection"),
    # experiences
    ("experiences", "list", "GET", "/experiences"),
    ("experiences", "get", "GET", "/experiences/{experience}"),
    # webhook subscriptions
    ("webhook_subscriptions", "create", "POST", "/webhook-subscriptions"),
    ("webhook_subscriptions", "list", "GET", "/webhook-subscriptions"),
    ("webhook_subscriptions", "get", "GET", "/webhook-subscriptions/{subscriptionId}"),
    ("webhook_subscriptions", "update", "PUT", "/webhook-subscriptions/{subscriptionId}"),
    ("webhook_subscriptions", "delete", "DELETE", "/webhook-subscriptions/{subscriptionId}"),
    ("webhook_subscriptions", "event_types", "GET", "/webhook-events"),
]  # fmt: skip

API_ENDPOINTS = [row for row in ENDPOINTS if row[3] is not None]
"""The rows that are API routes (69: the helpers are not counted)."""
