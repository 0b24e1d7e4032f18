"""``linq.messages``: messages by id."""

from __future__ import annotations

import attrs

from .._errors import LinqUsageError
from .._validation import check_bool, check_string
from ..models import Experience, IMessageApp, IMessageAppLayout, Message
from ..models._parts import check_app_url
from ._base import RequestBody, Resource

__all__ = ["Messages"]


@attrs.frozen(kw_only=True)
class _UpdateAppCard(RequestBody):
    layout: IMessageAppLayout
    app: IMessageApp | None = None
    experience: Experience | None = None
    url: str | None = None
    fallback_text: str | None = None
    interactive: bool | None = None


class Messages(Resource):
    """Messages by id, whatever chat they are in: ``linq.messages``."""

    async def get(self, message_id: str) -> Message:
        """Fetch one message (``GET /v3/messages/{messageId}``).

        Raises:
            NotFoundError: no such message, or it left the API after its retention window.
        """
        return await self._request("GET", "/v3/messages/{messageId}", message_id, cast_to=Message)

    async def update_app_card(
        self,
        message_id: str,
        *,
        layout: IMessageAppLayout,
        app: IMessageApp | None = None,
        experience: Experience | None = None,
        url: str | None = None,
        fallback_text: str | None = None,
        interactive: bool | None = None,
    ) -> Message:
        """Replace an app card (``POST /v3/messages/{messageId}/update``).

        The updated card is sent as a new message in the same chat (the original stays);
        what is not given here keeps the original card's value.

        Not retried once the request may have reached the API: the body carries no
        idempotency key, so a repeat could send the card twice. A dropped connection
        raises; check the chat before calling again.

        Args:
            message_id: the message holding the card (an ``imessage_app`` part or an
                experience).
            layout: what the new card shows (`IMessageAppLayout`).
            app: the app that renders it (`IMessageApp`), when it changes.
            experience: for a card sent as a Linq `Experience`, the new experience.
            url: the URL the app opens: ``https://`` (at most 2048 characters) or ``data:``
                (at most 16384).
            fallback_text: what recipients without the app see.
            interactive: whether tapping the card opens the app.

        Returns:
            The new message, with ``chat_id`` set.

        Raises:
            LinqUsageError: an argument is invalid (before anything is sent).
            NotFoundError: no such message.
            BadRequestError: the message is not an app card, or the API refused the card.
        """
        if not isinstance(layout, IMessageAppLayout):
            raise LinqUsageError(f"layout must be an IMessageAppLayout, got {layout!r}")
        if app is not None and not isinstance(app, IMessageApp):
            raise LinqUsageError(f"app must be an IMessageApp, got {app!r}")
        if experience is not None and not isinstance(experience, Experience):
            raise LinqUsageError(f"experience must be an Experience, got {experience!r}")
        if fallback_text is not None:
            check_string(fallback_text, what="fallback_text")
        body = _UpdateAppCard(
            layout=layout,
            app=app,
            experience=experience,
            url=check_app_url(url),
            fallback_text=fallback_text,
            interactive=check_bool(interactive, what="interactive"),
        )
        return await self._request(
            "POST",
            "/v3/messages/{messageId}/update",
            message_id,
            body=body,
            cast_to=Message,
            envelope="message",
            carry=("chat_id",),
        )
