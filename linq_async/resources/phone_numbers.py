"""``linq.phone_numbers``: your lines, their call forwarding, reputation audits, and the line
the API suggests sending from."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import attrs

from .._validation import check_phone, check_phones, check_recipients, check_string
from ..models import AvailableNumber, PhoneNumber, ReputationAudit
from ._base import RequestBody, Resource

__all__ = ["PhoneNumbers"]


@attrs.define(kw_only=True)
class _Forwarding(RequestBody):
    forwarding_number: str


class PhoneNumbers(Resource):
    """Your lines: ``linq.phone_numbers``."""

    async def list(self) -> list[PhoneNumber]:
        """Every line of your account, with its reputation (``GET /v3/phone_numbers``).

        Returns:
            The lines; use one's ``phone_number`` as ``from_`` when sending.
        """
        return await self._request_list(
            "GET", "/v3/phone_numbers", item=PhoneNumber, envelope="phone_numbers"
        )

    async def update(self, phone_number_id: str, *, forwarding_number: str | None) -> PhoneNumber:
        """Set or clear where calls to a line are forwarded.

        ``PUT /v3/phone_numbers/{phoneNumberId}``.

        Args:
            phone_number_id: the line's ``id`` (from `list`), not its number.
            forwarding_number: the number to forward calls to, E.164; ``None`` (or ``""``)
                clears forwarding (the API's ``""``).

        Returns:
            The line with its new ``forwarding_number`` (``None`` once cleared).

        Raises:
            LinqUsageError: ``forwarding_number`` is not E.164 (nothing is sent).
            NotFoundError: no such line on your account.
        """
        if forwarding_number is None or forwarding_number == "":
            forwarding_number = ""
        else:
            check_phone(forwarding_number, what="forwarding_number")
        return await self._request(
            "PUT",
            "/v3/phone_numbers/{phoneNumberId}",
            phone_number_id,
            body=_Forwarding(forwarding_number=forwarding_number),
            cast_to=PhoneNumber,
        )

    async def start_reputation_audit(self, phone_number: str) -> ReputationAudit:
        """Start an audit of a line's reputation.

        ``POST /v3/phone_numbers/{phoneNumber}/reputation_audit``. The API answers 202 at
        once with a ``pending`` audit; poll `get_reputation_audit` until its ``status`` is
        ``complete`` or ``error``. A lost answer is not retried: a second attempt would start
        (and be counted as) a second audit.

        Args:
            phone_number: the line, E.164 (it goes in the path as is, ``+`` included).

        Returns:
            The audit, ``status="pending"``, with its ``audit_id``.

        Raises:
            LinqUsageError: ``phone_number`` is not E.164 (nothing is sent).
            NotFoundError: the number is not a line of your account.
            RateLimitError: too many audits of this line.
        """
        return await self._request(
            "POST",
            "/v3/phone_numbers/{phoneNumber}/reputation_audit",
            check_phone(phone_number, what="phone_number"),
            cast_to=ReputationAudit,
        )

    async def get_reputation_audit(self, phone_number: str, audit_id: str) -> ReputationAudit:
        """Read a reputation audit.

        ``GET /v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}``.

        Args:
            phone_number: the audited line, E.164.
            audit_id: the ``audit_id`` that `start_reputation_audit` returned.

        Returns:
            The audit: its ``report`` once ``status`` is ``complete``, its ``error`` if
            ``error``.

        Raises:
            LinqUsageError: ``phone_number`` is not E.164 (nothing is sent).
            NotFoundError: no such audit of this line.
        """
        return await self._request(
            "GET",
            "/v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}",
            check_phone(phone_number, what="phone_number"),
            audit_id,
            cast_to=ReputationAudit,
        )

    async def available(
        self,
        *,
        to: str | Iterable[str] | None = None,
        exclude_from: str | Iterable[str] | None = None,
        type: str | None = None,
    ) -> AvailableNumber:
        """The best line to send from right now (``GET /v3/available_number``).

        With ``to``, a line that already has a chat with those recipients is preferred, so
        the conversation stays on one line; otherwise the least recently used line, the
        healthiest first. The line is not reserved: send with its number as ``from_``.

        Lists go out as a repeated query key (``to=a&to=b``), as the endpoint's
        documentation says (the official SDK joins them with commas instead).

        Args:
            to: the recipients, E.164 or email (one, or several for a group).
            exclude_from: lines not to suggest, E.164.
            type: the kind of line to suggest (e.g. ``iMessage`` or ``RCS``). The API does not
                publish its values, so any non-empty string is sent as is.

        Returns:
            The line's number and a short-lived vCard link for it.

        Raises:
            LinqUsageError: a handle is not E.164 (or an email, in ``to``), a list is empty
                or repeats itself, or ``type`` is empty (nothing is sent).
            BadRequestError: no line is left to suggest.
        """
        query: dict[str, str | Sequence[str]] = {}
        if to is not None:
            query["to"] = check_recipients(to)
        if exclude_from is not None:
            query["exclude_from"] = check_phones(exclude_from, what="exclude_from")
        if type is not None:
            query["type"] = check_string(type, what="type")
        return await self._request(
            "GET", "/v3/available_number", query=query, cast_to=AvailableNumber
        )
