"""Campaigns: one message to many recipients, sent by any number of workers, once each.

A `Campaign` is the message (a sending line, a text and/or an uploaded file) under an id.
`send_campaign_message` sends it to one recipient with the idempotency key
`campaign_key` derives from (campaign id, recipient), and returns a `CampaignOutcome`
instead of raising. Because the key is derived, not random, any process can send (or re-send)
any recipient's message and the API still creates it once: a job queue only has to run each
job at least once, and exactly once follows from the key. `LinqSession.broadcast` derives its
keys the same way (its ``broadcast_id`` is the campaign id), so a campaign started with
``broadcast()`` can be finished by workers.

Nothing here depends on a job queue; `linq_async.contrib.arq` runs campaigns on arq, and the
same coroutine is the body of a taskiq or saq task (see the "Campaigns at scale" guide).

How errors map to outcomes (after the session's own retries):

- ``"sent"``: the API created the message (now, or on an earlier attempt). Record it. When
  the earlier attempt's message has since been deleted or has expired (the ephemeral
  messages tier), the API answers the key with 404 (code 2002) and sends nothing: that is
  ``"sent"`` too, without chat and message ids.
- ``"failed"``, permanent, so record it and do not retry: `LinqUsageError` (a bad handle),
  `BadRequestError`, `OptedOutError`, any other `PermissionDeniedError` (a blocked handle,
  2026), `NotFoundError` (a deleted attachment, 2003), `ConflictError`,
  `ResponseValidationError`, and any error status not listed below.
- ``"transient"``, so try again later with backoff: `LinqConnectionError` (and
  `LinqTimeoutError`), `LinqClosedError`, `RateLimitError` (429), `ServerError` (5xx),
  408, `LineIneligibleError` (2027, "temporarily ineligible"), `AuthenticationError` (401).

401 is transient on purpose: a revoked or mistyped key fails every recipient at once, and
marking a whole campaign failed would make the fix (a new key, restarted workers) send
nothing. A `ResponseValidationError` means the API answered 2xx in a shape the models do
not know: the message was probably created, so it is not retried; it is reported as failed
for a person to look at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import attrs

from ._errors import (
    APIStatusError,
    AuthenticationError,
    LineIneligibleError,
    LinqClosedError,
    LinqConnectionError,
    LinqError,
    LinqUsageError,
    NotFoundError,
    RateLimitError,
    ServerError,
)
from ._keys import campaign_key, canonical_recipient, check_campaign_id
from ._validation import as_given, check_phone, check_string, check_text
from .models import MediaPart, Part, TextPart, Upload

if TYPE_CHECKING:
    from ._session import LinqSession

__all__ = [
    "Campaign",
    "CampaignOutcome",
    "OutcomeStatus",
    "campaign_key",
    "canonical_recipient",
    "is_transient",
    "send_campaign_message",
]

OutcomeStatus = Literal["sent", "failed", "transient"]
"""What happened to one recipient: sent, failed for good, or failed for now."""


def _check_from(from_: object) -> str:
    return check_phone(from_, what="from_")


def _check_upload(upload: object) -> Upload | None:
    """An `Upload` whose attachment id is a plain string (it is compared and sent)."""
    if upload is None:
        return None
    if not isinstance(upload, Upload):
        raise LinqUsageError(f"upload must be an Upload or None, got {upload!r}")
    attachment_id = check_string(upload.attachment_id, what="upload.attachment_id")
    if attachment_id is upload.attachment_id:
        return upload
    return attrs.evolve(upload, attachment_id=attachment_id)


@attrs.frozen(kw_only=True)
class Campaign:
    """One message for many recipients: a sending line, a text and/or an uploaded file.

    Upload the file once (`LinqSession.upload`) and pass the `Upload`: every recipient's
    message then refers to the same attachment. The message is the text part (if any)
    followed by the media part (if any), as in `LinqSession.broadcast`.

    Args:
        id: identifies the campaign (1 to 255 characters); with the recipient, it derives
            each message's idempotency key, so it must never be reused for another message.
            A broadcast's ``broadcast_id`` is a campaign id.
        from_: the sending line, E.164.
        text: the text, or ``None``.
        upload: the file, or ``None``.

    Raises:
        LinqUsageError: an argument is invalid, or there is neither a text nor a file.
    """

    id: str = attrs.field(converter=check_campaign_id)
    from_: str = attrs.field(converter=_check_from)
    text: str | None = attrs.field(default=None, converter=check_text)
    upload: Upload | None = attrs.field(default=None, converter=_check_upload)

    def __attrs_post_init__(self) -> None:
        if self.text is None and self.upload is None:
            raise LinqUsageError("a campaign needs a text, an upload or both")

    @property
    def parts(self) -> list[Part]:
        """The message's parts: the text, then the media."""
        parts: list[Part] = [] if self.text is None else [TextPart(value=self.text)]
        if self.upload is not None:
            parts.append(MediaPart(attachment_id=self.upload.attachment_id))
        return parts

    def key_for(self, recipient: str) -> str:
        """The idempotency key of ``recipient``'s message (see `campaign_key`).

        Raises:
            LinqUsageError: ``recipient`` is not an E.164 phone number or an email address.
        """
        return campaign_key(self.id, recipient)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of the campaign (for a job queue or a store); see `from_dict`."""
        return {
            "id": self.id,
            "from": self.from_,
            "text": self.text,
            "upload": None if self.upload is None else attrs.asdict(self.upload),
        }

    @classmethod
    def from_dict(cls, data: Any) -> Campaign:
        """The campaign `to_dict` described.

        Raises:
            LinqUsageError: ``data`` is not such a dict.
        """
        if not isinstance(data, dict):
            raise LinqUsageError(f"a campaign must be a dict, got {type(data).__name__}")
        upload = data.get("upload")
        try:
            return cls(
                id=data.get("id"),
                from_=data.get("from", ""),
                text=data.get("text"),
                upload=None if upload is None else Upload(**upload),
            )
        except TypeError as exc:  # an upload dict with missing or unknown keys
            raise LinqUsageError(f"not a campaign: {exc}") from None


@attrs.frozen(kw_only=True)
class CampaignOutcome:
    """What sending a campaign's message to one recipient did.

    Attributes:
        campaign_id: the campaign.
        recipient: the recipient in canonical form (see `canonical_recipient`), or as given
            when it is not a handle.
        status: ``"sent"``, ``"failed"`` (permanent: retrying cannot help) or
            ``"transient"`` (try again later).
        idempotency_key: the key the message was sent with; ``None`` when the recipient is
            not a handle.
        chat_id: the chat the message went into, when sent (``None`` when the API no
            longer holds the message: deleted or expired since it was sent).
        message_id: the message, when sent (``None`` likewise).
        error: the error, when not sent.
    """

    campaign_id: str
    recipient: str
    status: OutcomeStatus
    idempotency_key: str | None = None
    chat_id: str | None = None
    message_id: str | None = None
    error: LinqError | None = attrs.field(default=None, eq=False)

    @property
    def ok(self) -> bool:
        """Whether the message was sent (now, or by an earlier attempt)."""
        return self.status == "sent"

    @property
    def retry_after(self) -> float | None:
        """The seconds to wait before trying again, when the error says (429 ``Retry-After``)."""
        value = getattr(self.error, "retry_after", None)
        return float(value) if isinstance(value, (int, float)) and value >= 0 else None


def is_transient(error: LinqError) -> bool:
    """Whether sending again later may succeed where ``error`` failed (see the module doc)."""
    if isinstance(
        error,
        (
            LinqConnectionError,
            LinqClosedError,
            RateLimitError,
            ServerError,
            LineIneligibleError,
            AuthenticationError,
        ),
    ):
        return True
    return isinstance(error, APIStatusError) and (error.status == 408 or error.status >= 500)


def _already_sent_and_gone(error: LinqError) -> bool:
    """Whether ``error`` says the key's message was sent, then deleted or expired.

    The API answers a reused key whose message is gone with 404 and sends nothing. A
    campaign message names no other message (no ``reply_to``), so "message not found"
    (2002) can only be that one. A deleted attachment is 2003: a real failure.
    """
    return isinstance(error, NotFoundError) and error.code == 2002


async def send_campaign_message(
    linq: LinqSession, campaign: Campaign, recipient: str
) -> CampaignOutcome:
    """Send ``campaign``'s message to ``recipient`` in a direct chat, at most once ever.

    The message goes out with the key `campaign_key` derives, so calling this again for the
    same recipient, from this process or any other, now or after a crash, makes no second
    message: the API answers with the first one (for as long as it keeps the key). The
    session's retry policy applies first; what fails after it is returned, not raised.

    Args:
        linq: an open `LinqSession`.
        campaign: the message.
        recipient: an E.164 phone number or an email address (any letter case).

    Returns:
        The outcome: ``"sent"`` with the chat and message ids, or ``"failed"`` /
        ``"transient"`` with the error (see the module doc for which is which).
    """
    try:
        handle = canonical_recipient(recipient)
    except LinqUsageError as exc:
        return CampaignOutcome(
            campaign_id=campaign.id, recipient=as_given(recipient), status="failed", error=exc
        )
    key = campaign_key(campaign.id, handle)
    try:
        created = await linq.chats.create(
            from_=campaign.from_, to=handle, parts=campaign.parts, idempotency_key=key
        )
        chat_id, message_id = created.chat.id, created.message.id
    except LinqError as exc:
        if _already_sent_and_gone(exc):
            return CampaignOutcome(
                campaign_id=campaign.id, recipient=handle, status="sent", idempotency_key=key
            )
        return CampaignOutcome(
            campaign_id=campaign.id,
            recipient=handle,
            status="transient" if is_transient(exc) else "failed",
            idempotency_key=key,
            error=exc,
        )
    return CampaignOutcome(
        campaign_id=campaign.id,
        recipient=handle,
        status="sent",
        idempotency_key=key,
        chat_id=chat_id,
        message_id=message_id,
    )
