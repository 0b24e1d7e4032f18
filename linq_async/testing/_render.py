"""The JSON shapes the fake answers with, built from its records as plain dicts.

Kept apart from the SDK's models on purpose: the fake checks the client, so it must not share
the client's idea of the wire format.
"""

from __future__ import annotations

import datetime as dt
import mimetypes
import posixpath
import urllib.parse
import uuid
from typing import Any

from ._state import FakeAttachment, FakeChat, FakeMessage

CDN_ORIGIN = "https://cdn.fake-linq.invalid"
_HEALTH_DOC_URL = "https://docs.linqapp.com/"


def iso(value: dt.datetime) -> str:
    """Format an aware datetime as ISO-8601 UTC with milliseconds and a ``Z``."""
    text = value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def download_url(attachment: FakeAttachment) -> str:
    """Return an attachment's download URL: the one issued on the storage site, if any."""
    if attachment.download_url is not None:
        return attachment.download_url
    name = urllib.parse.quote(attachment.filename, safe="")
    return f"{CDN_ORIGIN}/attachments/partners/fake-partner/{attachment.id}/{name}"


def attachment(record: FakeAttachment) -> dict[str, Any]:
    """``GET /v3/attachments/{id}``."""
    return {
        "id": record.id,
        "filename": record.filename,
        "content_type": record.content_type,
        "size_bytes": record.size_bytes,
        "status": record.status,
        "download_url": download_url(record),
        "created_at": iso(record.created_at),
    }


def response_part(
    part: dict[str, Any],
    attachments: dict[str, FakeAttachment],
    part_id: str,
    *,
    me: str | None = None,
) -> dict[str, Any]:
    """Render one sent part as the API returns it.

    Args:
        part: The part as the client sent it (already validated).
        attachments: The fake's attachments, to describe media parts and inline stickers.
        part_id: The id to give a media part sent by ``url``.
        me: The sending line, to tell which mentions are ``is_me``.

    Returns:
        The response part.
    """
    kind = part["type"]
    if kind == "text":
        return _text_part(part, attachments, me)
    if kind == "media":
        if part.get("attachment_id") is not None:
            record = attachments[part["attachment_id"]]
            return {
                "type": "media",
                "id": record.id,
                "filename": record.filename,
                "mime_type": record.content_type,
                "size_bytes": record.size_bytes,
                "url": download_url(record),
            }
        url = part["url"]
        filename, mime_type = _name_and_type(url)
        # The real API downloads the file; the fake never fetches it, so the size is unknown.
        return {
            "type": "media",
            "id": part_id,
            "filename": filename,
            "mime_type": mime_type,
            "size_bytes": 0,
            "url": url,
        }
    if kind == "link":
        return {"type": kind, "value": part["value"]}
    if kind == "app_clip":
        # The real API fills these from the clip's metadata, which the fake never fetches.
        return {
            "type": kind,
            "value": part["value"],
            "title": None,
            "description": None,
            "image_url": None,
        }
    rendered = {
        "type": kind,
        "app": part["app"],
        "layout": part["layout"],
        "url": part.get("url"),
    }
    if part.get("fallback_text") is not None:
        rendered["fallback_text"] = part["fallback_text"]
    return rendered


def _name_and_type(url: str) -> tuple[str, str]:
    filename = posixpath.basename(urllib.parse.urlsplit(url).path) or "file"
    return filename, mimetypes.guess_type(filename)[0] or "application/octet-stream"


def _text_part(
    part: dict[str, Any], attachments: dict[str, FakeAttachment], me: str | None
) -> dict[str, Any]:
    rendered: dict[str, Any] = {"type": "text", "value": part["value"], "reactions": None}
    if part.get("text_decorations") is not None:
        rendered["text_decorations"] = part["text_decorations"]
    mention = part.get("mention")
    if mention is not None:
        whole = [0, len(part["value"].encode("utf-16-le")) // 2]
        span = part.get("mention_range") or whole
        rendered["mentions"] = [{"handle": mention, "is_me": mention == me, "range": span}]
        # Deprecated in responses, still sent.
        rendered["mention"] = mention
        if part.get("mention_range") is not None:
            rendered["mention_range"] = part["mention_range"]
    if part.get("inline_stickers") is not None:
        rendered["inline_stickers"] = [
            _sticker(sticker, attachments) for sticker in part["inline_stickers"]
        ]
    return rendered


def _sticker(sticker: dict[str, Any], attachments: dict[str, FakeAttachment]) -> dict[str, Any]:
    if sticker.get("attachment_id") is not None:
        record = attachments[sticker["attachment_id"]]
        return {
            "range": sticker["range"],
            "id": record.id,
            "file_name": record.filename,
            "mime_type": record.content_type,
            "url": download_url(record),
        }
    file_name, mime_type = _name_and_type(sticker["url"])
    return {
        "range": sticker["range"],
        "id": str(uuid.uuid4()),
        "file_name": file_name,
        "mime_type": mime_type,
        "url": sticker["url"],
    }


def health_status(chat: FakeChat) -> dict[str, Any]:
    """The (always healthy) ``health_status`` object."""
    return {"status": "HEALTHY", "doc_url": _HEALTH_DOC_URL, "updated_at": iso(chat.created_at)}


def chat_handle(chat: FakeChat, handle: str) -> dict[str, Any]:
    """A ``ChatHandle`` object (your own line shows ``status: left`` once it left)."""
    rendered: dict[str, Any] = {
        "id": chat.handle_ids[handle],
        "handle": handle,
        "joined_at": iso(chat.created_at),
        "service": chat.service,
        "is_me": handle == chat.from_handle,
    }
    if handle == chat.from_handle and chat.left_at is not None:
        rendered["status"] = "left"
        rendered["left_at"] = iso(chat.left_at)
    return rendered


def _handles(chat: FakeChat) -> list[dict[str, Any]]:
    return [chat_handle(chat, handle) for handle in [chat.from_handle, *chat.handles]]


def _optional(record: FakeMessage) -> dict[str, Any]:
    optional = {
        "effect": record.effect,
        "preferred_service": record.preferred_service,
        "reply_to": record.reply_to,
    }
    return {key: value for key, value in optional.items() if value is not None}


def sent_message(record: FakeMessage, chat: FakeChat) -> dict[str, Any]:
    """A ``SentMessage`` object (the answer to a send)."""
    return {
        "id": record.id,
        "created_at": iso(record.created_at),
        "delivery_status": "queued",
        "is_read": False,
        "parts": record.response_parts,
        "sent_at": None,
        "delivered_at": None,
        "from_handle": chat_handle(chat, chat.from_handle),
        "service": chat.service,
        **_optional(record),
    }


def message(record: FakeMessage, chat: FakeChat) -> dict[str, Any]:
    """A ``Message`` object (``GET /v3/messages/{id}`` and message lists)."""
    return {
        "id": record.id,
        "chat_id": record.chat_id,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.created_at),
        "delivery_status": "received" if record.sender else "queued",
        "is_from_me": record.sender is None,
        "is_delivered": False,
        "is_read": False,
        "parts": record.response_parts,
        "from_handle": chat_handle(chat, record.sender or chat.from_handle),
        "service": chat.service,
        **_optional(record),
    }


def chat(record: FakeChat) -> dict[str, Any]:
    """A ``Chat`` object (``GET /v3/chats/{id}`` and chat lists)."""
    rendered = {
        "id": record.id,
        "created_at": iso(record.created_at),
        "updated_at": iso(record.updated_at),
        "display_name": record.display_name,
        "handles": _handles(record),
        "health_status": health_status(record),
        "is_group": record.is_group,
        "is_archived": False,
        "service": record.service,
    }
    if record.group_chat_icon is not None:
        rendered["group_chat_icon"] = record.group_chat_icon
    return rendered


def created_chat(record: FakeChat, sent: FakeMessage) -> dict[str, Any]:
    """The ``POST /v3/chats`` answer: the chat with the message just sent."""
    return {
        "chat": {
            "id": record.id,
            "display_name": record.display_name,
            "handles": _handles(record),
            "is_group": record.is_group,
            "service": record.service,
            "health_status": health_status(record),
            "message": sent_message(sent, record),
        }
    }
