"""``linq.capability``: can an address be reached over iMessage, or over RCS?"""

from __future__ import annotations

import attrs

from .._errors import ServerError
from .._validation import check_handle, check_phone
from ..models import CapabilityCheck
from ._base import RequestBody, Resource

__all__ = ["Capability"]

_SAFE = "a capability check changes nothing"
# 503 codes of check_rcs that mean "cannot tell": RCS is off for the line (4004), the line has
# no RCS account (4009), the check could not run (4010).
_RCS_UNKNOWN = frozenset({4004, 4009, 4010})
# The first two are states of the line: asking again at once gives the same answer.
_RCS_LINE_STATES = frozenset({4004, 4009})


@attrs.define(kw_only=True)
class _Check(RequestBody):
    address: str
    from_: str | None = None


class Capability(Resource):
    """iMessage and RCS capability checks: ``linq.capability``.

    Both checks only read, so they are retried after a 5xx or a lost answer.
    """

    async def check_imessage(self, address: str, *, from_: str | None = None) -> CapabilityCheck:
        """Whether ``address`` can receive iMessage (``POST /v3/capability/check_imessage``).

        Args:
            address: a phone number (E.164) or an email (Apple ID).
            from_: your line to check from, E.164; the API picks one when omitted.

        Returns:
            The check: ``available`` is ``True`` or ``False``.

        Raises:
            LinqUsageError: ``address`` is not E.164 or an email, or ``from_`` is not E.164
                (nothing is sent).
        """
        body = _Check(
            address=check_handle(address, what="address"),
            from_=None if from_ is None else check_phone(from_, what="from_"),
        )
        return await self._request(
            "POST",
            "/v3/capability/check_imessage",
            body=body,
            cast_to=CapabilityCheck,
            safe_reason=_SAFE,
        )

    async def check_rcs(self, address: str, *, from_: str | None = None) -> CapabilityCheck:
        """Whether ``address`` can receive RCS (``POST /v3/capability/check_rcs``).

        When the API cannot tell, it answers 503 with code 4004 (RCS is off for the line),
        4009 (the line has no RCS account) or 4010 (the check could not run). That is not
        an error here: the result has ``available=None``, the code in ``error_code`` and the
        API's message in ``reason``. 4004 and 4009 describe the line, so they are returned
        at once; 4010 is retried like any 503 first.

        Args:
            address: a phone number, E.164 (emails cannot have RCS).
            from_: your line to check from, E.164; the API picks one when omitted.

        Returns:
            The check: ``available`` is ``True``, ``False`` or ``None`` (unknown).

        Raises:
            LinqUsageError: ``address`` or ``from_`` is not E.164 (nothing is sent).
            ServerError: any other 5xx, after retries.
        """
        body = _Check(
            address=check_phone(address, what="address"),
            from_=None if from_ is None else check_phone(from_, what="from_"),
        )
        try:
            return await self._request(
                "POST",
                "/v3/capability/check_rcs",
                body=body,
                cast_to=CapabilityCheck,
                safe_reason=_SAFE,
                final_codes=_RCS_LINE_STATES,
            )
        except ServerError as error:
            if error.status != 503 or error.code not in _RCS_UNKNOWN:
                raise
            return CapabilityCheck(
                address=body.address, available=None, reason=error.message, error_code=error.code
            )
