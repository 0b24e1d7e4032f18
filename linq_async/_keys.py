"""The idempotency key of one recipient's message in a campaign or broadcast.

Kept apart from `linq_async.campaigns` so that ``import linq_async`` can export `campaign_key`
without loading the campaign machinery.
"""

from __future__ import annotations

import hashlib
import os
import uuid

from ._errors import LinqUsageError
from ._validation import check_handle, check_no_lone_surrogates, plain_str, recipient_key

__all__ = [
    "MAX_CAMPAIGN_ID_CHARS",
    "campaign_key",
    "canonical_recipient",
    "check_campaign_id",
    "derive_key",
    "mint_idempotency_key",
]

MAX_CAMPAIGN_ID_CHARS = 255

# Fixed forever: changing it changes every key, and a re-run after an upgrade would then
# send again to recipients already served.
_NAMESPACE = uuid.UUID("5d3c0f54-8b7e-4f3a-9a51-2f0a3c6e9b10")


def mint_idempotency_key() -> str:
    """A fresh random idempotency key (32 hex digits), for a message sent once."""
    return os.urandom(16).hex()


def check_campaign_id(value: object, *, what: str = "a campaign id") -> str:
    """Return ``value`` if it can name a campaign (or a broadcast): 1 to 255 characters, no
    lone surrogates."""
    value = plain_str(value)
    if type(value) is not str or not value or len(value) > MAX_CAMPAIGN_ID_CHARS:
        got = f"{len(value):,} characters" if type(value) is str and value else repr(value)
        raise LinqUsageError(
            f"{what} must be a string of 1 to {MAX_CAMPAIGN_ID_CHARS} characters, got {got}"
        )
    return check_no_lone_surrogates(value, what=what)


def canonical_recipient(recipient: str) -> str:
    """The one spelling of a recipient that keys, records and sends use.

    Phone numbers must already be E.164 (``+`` and 8 to 15 ASCII digits) and are returned as
    given: E.164 has one spelling. Email addresses (Apple IDs) are lowercased as a whole, so
    ``Ann@Example.COM`` and ``ann@example.com`` are one recipient: Apple IDs ignore case,
    and so does every mail provider the API can reach (RFC 5321 allows a case-sensitive local
    part, but no Apple ID uses one).

    Args:
        recipient: an E.164 phone number or an email address.

    Returns:
        The canonical form.

    Raises:
        LinqUsageError: ``recipient`` is neither an E.164 phone number nor an email address.
    """
    # The email pattern is ASCII-only, so str.lower() cannot change its length or meaning.
    return recipient_key(check_handle(recipient, what="recipient"))


def campaign_key(campaign_id: str, recipient: str) -> str:
    """The idempotency key of ``recipient``'s message in campaign ``campaign_id``.

    It is a UUID (version 5) of the campaign id and the `canonical_recipient`, so every
    process that sends that message, a `LinqSession.broadcast` (whose ``broadcast_id`` is the
    campaign id) or any number of workers, sends the same key, and the API creates the
    message once.

    Args:
        campaign_id: the campaign (or broadcast) id, a non-empty string.
        recipient: an E.164 phone number or an email address, in any letter case.

    Returns:
        The key, a UUID string such as ``"0f8a...-..."`` (36 characters).

    Raises:
        LinqUsageError: ``campaign_id`` cannot name a campaign (`check_campaign_id`: 1 to
            255 characters), or ``recipient`` is not a handle.
    """
    campaign_id = check_campaign_id(campaign_id, what="campaign_id")
    return derive_key(campaign_id, canonical_recipient(recipient))


_NAMESPACE_SHA1 = hashlib.sha1(_NAMESPACE.bytes)
_VARIANT = {digit: f"{int(digit, 16) & 0x3 | 0x8:x}" for digit in "0123456789abcdef"}


def derive_key(campaign_id: str, canonical: str) -> str:
    """`campaign_key` of arguments already checked (``canonical``: a `canonical_recipient`).

    The UUID version 5 of RFC 4122 (SHA-1 of the namespace and the name), written out
    directly: the same string as ``str(uuid.uuid5(...))``, for a fraction of its cost in a
    broadcast's per-recipient loop.
    """
    sha1 = _NAMESPACE_SHA1.copy()  # the namespace hashed once
    # (join reads a str subclass's own characters; an f-string would call its __str__.)
    sha1.update("\n".join((campaign_id, canonical)).encode())
    text = sha1.hexdigest()
    # The version (5) replaces the 13th hex digit; the RFC 4122 variant sets the top two
    # bits of the 17th to 10.
    return f"{text[:8]}-{text[8:12]}-5{text[13:16]}-{_VARIANT[text[16]]}{text[17:20]}-{text[20:32]}"
