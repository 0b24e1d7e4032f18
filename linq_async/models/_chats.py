"""Chats, their participants, and the answers of the chat-level endpoints."""

from __future__ import annotations

from datetime import datetime

import attrs

from .._errors import ResponseValidationError
from .._model import WireModel

__all__ = [
    "Chat",
    "ChatHandle",
    "ChatUpdate",
    "HealthStatus",
    "LocationCollection",
    "LocationFeature",
    "LocationPoint",
    "LocationProperties",
    "VoiceMemo",
    "VoiceMemoFile",
]


@attrs.frozen(kw_only=True)
class HealthStatus(WireModel):
    """A chat's health (beta): ``HEALTHY``, ``AT_RISK``, ``CRITICAL`` or ``OPTED_OUT``."""

    status: str
    doc_url: str | None = None
    updated_at: datetime | None = None


@attrs.frozen(kw_only=True)
class ChatHandle(WireModel):
    """A participant of a chat."""

    id: str
    handle: str
    joined_at: datetime | None = None
    service: str | None = None
    """``iMessage``, ``SMS`` or ``RCS``."""
    is_me: bool | None = None
    left_at: datetime | None = None
    status: str | None = None
    """``active``, ``left`` or ``removed``."""
    line_type: str | None = None


@attrs.frozen(kw_only=True)
class Chat(WireModel):
    """A chat: a direct conversation (one other handle) or a group."""

    id: str
    handles: tuple[ChatHandle, ...] = ()
    is_group: bool = False
    display_name: str | None = None
    service: str | None = None
    health_status: HealthStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_archived: bool | None = None
    group_chat_icon: str | None = None
    is_active: bool | None = None
    """Sent only in some answers (the chat of a voice memo)."""


@attrs.frozen(kw_only=True)
class ChatUpdate(WireModel):
    """The answer to `Chats.update`: the change is queued, not yet made.

    Its outcome comes as a webhook: ``chat.group_name_updated`` or
    ``chat.group_icon_updated``, or their ``*_update_failed`` twins.

    Two shapes are documented. The current API reference answers ``{chat_id, status}``
    (``status="pending"``); the older OpenAPI description answers the whole updated `Chat`.
    Both load without loss: the first fills ``chat_id`` and ``status``, the second ``id``
    and the chat's own fields (the others stay ``None``). ``chat_id or id`` names the chat
    either way.
    """

    chat_id: str | None = None
    status: str | None = None
    """``pending`` while the change is on its way."""
    trace_id: str | None = None
    id: str | None = None
    """The chat's id, when the API answered with the whole chat."""
    display_name: str | None = None
    group_chat_icon: str | None = None
    handles: tuple[ChatHandle, ...] | None = None
    is_group: bool | None = None
    service: str | None = None
    health_status: HealthStatus | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    is_archived: bool | None = None


@attrs.frozen(kw_only=True)
class VoiceMemoFile(WireModel):
    """The audio of a voice memo, as the API stored it."""

    id: str
    url: str | None = None
    """A short-lived download URL."""
    filename: str | None = None
    mime_type: str | None = None
    size_bytes: int | None = None
    duration_ms: int | None = None


@attrs.frozen(kw_only=True)
class VoiceMemo(WireModel):
    """A voice memo sent with `Chats.send_voice_memo` (the ``voice_memo`` of the answer).

    Only ``id`` is guaranteed: the shape comes from the API's older OpenAPI description.
    """

    id: str
    status: str | None = None
    """The delivery status, ``queued`` right after sending."""
    from_: str | None = None
    """Your sending line."""
    to: tuple[str, ...] = ()
    service: str | None = None
    voice_memo: VoiceMemoFile | None = None
    created_at: datetime | None = None
    chat: Chat | None = None


@attrs.frozen(kw_only=True)
class LocationPoint(WireModel):
    """A GeoJSON ``Point``: ``coordinates`` are ``[longitude, latitude]`` (and altitude).

    Mind the order: GeoJSON puts the longitude first. `longitude`, `latitude` and
    `altitude` read them by name.
    """

    type: str = "Point"
    coordinates: tuple[float, ...]

    @property
    def longitude(self) -> float:
        """Degrees east (the first coordinate)."""
        return self._position()[0]

    @property
    def latitude(self) -> float:
        """Degrees north (the second coordinate)."""
        return self._position()[1]

    @property
    def altitude(self) -> float | None:
        """Metres, when the API knows it (the third coordinate), else ``None``."""
        coordinates = self._position()
        return coordinates[2] if len(coordinates) > 2 else None

    def _position(self) -> tuple[float, ...]:
        coordinates = self.coordinates
        if len(coordinates) < 2:
            route = getattr(self, "_route", None)
            where = f"the response to {route}" if route else "the value"
            raise ResponseValidationError(
                f"{where} did not fit: LocationPoint.coordinates holds {len(coordinates)} "
                "number(s); a GeoJSON position has at least a longitude and a latitude"
            )
        return coordinates


@attrs.frozen(kw_only=True)
class LocationProperties(WireModel):
    """Who is sharing a location, and where that is in words."""

    handle: str
    """The phone number or email of the person sharing."""
    address: str | None = None
    """The full street address."""
    locality: str | None = None
    """The city or locality."""
    updated_at: datetime | None = None
    """When the location was last updated."""


@attrs.frozen(kw_only=True)
class LocationFeature(WireModel):
    """One person's shared location: a GeoJSON ``Feature`` with a point geometry."""

    type: str = "Feature"
    geometry: LocationPoint
    properties: LocationProperties


@attrs.frozen(kw_only=True)
class LocationCollection(WireModel):
    """The locations shared in a chat: a GeoJSON ``FeatureCollection``.

    One feature per participant sharing with you; empty when nobody is (or no position
    has arrived yet).
    """

    type: str = "FeatureCollection"
    features: tuple[LocationFeature, ...] = ()

    def of(self, handle: str) -> LocationFeature | None:
        """The feature of ``handle``, or ``None`` when that person is not sharing."""
        for feature in self.features:
            if feature.properties.handle == handle:
                return feature
        return None
