"""``linq.contact_card``: the Name and Photo card each of your lines shares."""

from __future__ import annotations

import attrs

from .._errors import LinqUsageError
from .._validation import check_https_url, check_phone, check_string
from ..models import ContactCardInfo
from ._base import RequestBody, Resource

__all__ = ["ContactCard"]


@attrs.define(kw_only=True)
class _NewCard(RequestBody):
    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None


@attrs.define(kw_only=True)
class _CardChanges(RequestBody):
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None


def _names(
    first_name: str | None, last_name: str | None, image_url: str | None
) -> tuple[str | None, str | None, str | None]:
    return (
        None if first_name is None else check_string(first_name, what="first_name"),
        None if last_name is None else check_string(last_name, what="last_name"),
        None if image_url is None else check_https_url(image_url, what="image_url"),
    )


class ContactCard(Resource):
    """The contact card (Name and Photo) your lines share: ``linq.contact_card``.

    Creating and updating share one limit: 3 calls per line in 10 minutes. Beyond it the API
    answers 429 with ``Retry-After`` (`RateLimitError.retry_after`). A `ServerError` with
    code 2022 means the card's setup on the device did not finish: call again. One with
    code 4004 (503) means Linq's upstream was rate limited.
    """

    async def create(
        self,
        *,
        phone_number: str,
        first_name: str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCardInfo:
        """Set up a line's contact card (``POST /v3/contact_card``).

        Not retried once it may have reached the API (a repeat may answer 409): after a
        `ServerError` with code 2022, or a lost answer, call `get` or `update`.

        Args:
            phone_number: your line, E.164.
            first_name: the first name shown.
            last_name: the last name shown.
            image_url: a public https URL of the photo (Linq rehosts it).

        Returns:
            The card.

        Raises:
            LinqUsageError: ``phone_number`` is not E.164, a name is empty or ``image_url``
                is not an https URL (nothing is sent).
            ConflictError: the line already has an active card (code 2014): use `update`.
            RateLimitError: more than 3 creates and updates of this line in 10 minutes.
            ServerError: code 2022, the setup did not finish (call again).
        """
        first, last, image = _names(first_name, last_name, image_url)
        body = _NewCard(
            phone_number=check_phone(phone_number, what="phone_number"),
            first_name=first,
            last_name=last,
            image_url=image,
        )
        return await self._request("POST", "/v3/contact_card", body=body, cast_to=ContactCardInfo)

    async def get(self, *, phone_number: str | None = None) -> list[ContactCardInfo]:
        """Read contact cards (``GET /v3/contact_card``).

        Args:
            phone_number: one line, E.164; every line's card when omitted.

        Returns:
            The cards: one for ``phone_number``, or all of them (the API answers a list
            either way).

        Raises:
            LinqUsageError: ``phone_number`` is not E.164 (nothing is sent).
            NotFoundError: the line has no active card (code 2012).
        """
        query = (
            {}
            if phone_number is None
            else {"phone_number": check_phone(phone_number, what="phone_number")}
        )
        return await self._request_list(
            "GET", "/v3/contact_card", item=ContactCardInfo, envelope="contact_cards", query=query
        )

    async def update(
        self,
        *,
        phone_number: str,
        first_name: str | None = None,
        last_name: str | None = None,
        image_url: str | None = None,
    ) -> ContactCardInfo:
        """Change some fields of a line's contact card (``PATCH /v3/contact_card``).

        Fields left ``None`` stay as they are; the line goes in the query. Retried after a
        5xx or a lost answer: setting the same fields twice leaves the same card (each
        attempt still counts against the limit).

        Args:
            phone_number: your line, E.164.
            first_name: a new first name.
            last_name: a new last name.
            image_url: a new photo, a public https URL.

        Returns:
            The updated card.

        Raises:
            LinqUsageError: ``phone_number`` is not E.164, no field is given, a name is empty
                or ``image_url`` is not an https URL (nothing is sent).
            NotFoundError: the line has no active card (code 2012): use `create`.
            RateLimitError: more than 3 creates and updates of this line in 10 minutes.
        """
        line = check_phone(phone_number, what="phone_number")
        first, last, image = _names(first_name, last_name, image_url)
        if first is None and last is None and image is None:
            raise LinqUsageError("update needs first_name, last_name or image_url")
        return await self._request(
            "PATCH",
            "/v3/contact_card",
            body=_CardChanges(first_name=first, last_name=last, image_url=image),
            query={"phone_number": line},
            cast_to=ContactCardInfo,
            safe_reason="setting the same card fields again leaves the same card",
        )
