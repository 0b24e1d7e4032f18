"""Declared endpoints of the account area, and its state: `FakeAccount` (``fake.account``).

Lines, contact cards, blocked handles, capability checks and experiences. Statuses and codes
follow the fact sheet; where it is silent the choice is marked *(choice)*:

```text
GET    /v3/phone_numbers                 200 {phone_numbers: [{id, phone_number, reputation
                                         {status, doc_url}, forwarding_number, line_type}]}
PUT    /v3/phone_numbers/{phoneNumberId} 200 {id, phone_number, forwarding_number};
                                         body {forwarding_number R: E.164, or "" to clear};
                                         unknown id 404/2001 (choice)
POST   /v3/phone_numbers/{phoneNumber}/reputation_audit
                                         202 {audit_id, status: "pending"}; a number that is
                                         not a line of the account 404/2001 (choice)
GET    /v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}
                                         200 {audit_id, status, phone, generated_at?, report?,
                                         error?}; audits stay pending until the test calls
                                         `FakeAccount.finish_reputation_audit`
GET    /v3/available_number              200 {phone_number, vcf_url}; query to (E.164 or
                                         email), exclude_from (E.164), both repeatable (the
                                         key repeated, or values joined by commas), type (the
                                         line_type to pick, choice); a line with a chat with
                                         exactly ``to`` wins, else the healthiest, least
                                         recently suggested one; none left 400/1005 (choice)
POST   /v3/contact_card                  200 card (choice); 409/2014 when the line has one
GET    /v3/contact_card[?phone_number]   200 {contact_cards: [card]}; 404/2012 when the line
                                         has no card
PATCH  /v3/contact_card?phone_number     200 card; only the fields sent change; 404/2012
                                         when the line has no card
         POST and PATCH: 3 calls per line in 10 minutes, every call counted but those the
         limit refuses; then 429/1007 with Retry-After and error.retry_after (the seconds
         until the oldest call leaves the window)
GET    /v3/blocked_handles               200 {blocked_handles: [{handle, blocked_at,
                                         reason?}]}, newest first
POST   /v3/blocked_handles               200 {blocked_handle} (choice); blocking again
                                         returns the first block unchanged (idempotent)
DELETE /v3/blocked_handles               204, also for a handle that is not blocked (choice:
                                         a repeated DELETE must not turn into an error)
POST   /v3/capability/check_imessage     200 {address, available, reason?,
                                         selected_service?}; address E.164 or email
POST   /v3/capability/check_rcs          the same, address E.164 only (an email: 400/1002);
                                         from a line with RCS off 503/4004, without an RCS
                                         account 503/4009 (4010: inject with ``fail_next``)
GET    /v3/experiences                   200 {experiences: [...]} (a sample catalogue)
GET    /v3/experiences/{experience}      200 the experience; unknown 404/2001
```

Every route that names a line (``from``, ``phone_number``) answers 404/2001 when the number
is not a line of the account *(choice; the API hides what is not yours behind 404s)*; a
check without ``from`` on an account with no line answers 400/1005 *(choice)*. Handles are
compared as the API normalises them: emails lowercased.

A direct send (a chat with one recipient) to a blocked handle is refused with 403/2026 by
``POST /v3/chats`` and ``POST /v3/chats/{chatId}/messages`` (`refuse_blocked_direct_send`).
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import math
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

import attrs

from ._declare import (
    Call,
    Endpoint,
    Field,
    bad,
    email_or_phone,
    https_url,
    obj,
    opt,
    phone,
    repeated,
    req,
    string,
)
from ._envelope import ApiError
from ._render import iso
from ._state import Store, utcnow

__all__ = [
    "ENDPOINTS",
    "FakeAccount",
    "FakeBlockedHandle",
    "FakeContactCard",
    "FakeLine",
    "FakeReputationAudit",
    "refuse_blocked_direct_send",
]

CARD_CALLS_PER_WINDOW = 3
CARD_WINDOW_SECONDS = 600.0
_REPUTATIONS = ("HEALTHY", "AT_RISK", "CRITICAL")
_RCS_LINE_ERRORS = {
    4004: "RCS is not enabled for this line",
    4009: "This line has no RCS account",
}
_REPUTATION_DOC_URL = "https://docs.linqapp.com/guides/phone-numbers/phone-reputation"
_VCF_ORIGIN = "https://cdn.fake-linq.invalid/vcards"
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")

# A sample catalogue: the fact sheet names agentpay / request_payment, not its params.
_EXPERIENCES: dict[str, dict[str, Any]] = {
    "agentpay": {
        "experience": "agentpay",
        "display_name": "Agent Pay",
        "actions": [
            {
                "name": "request_payment",
                "summary": "Ask the recipient to pay an amount through a checkout card.",
                "fields": {
                    "amount": {"type": "cents", "required": True},
                    "description": {"type": "string", "required": False, "max": 200},
                },
            }
        ],
    }
}


@attrs.define(kw_only=True, eq=False)
class FakeLine:
    """A line of the fake account (made by `FakeAccount.add_line`).

    Attributes:
        id: the line's id (a UUID string), as ``PUT /v3/phone_numbers/{phoneNumberId}`` takes.
        phone_number: the line, E.164.
        line_type: ``iMessage`` or ``RCS`` (any string: ``available_number?type=`` matches it).
        reputation: ``HEALTHY``, ``AT_RISK`` or ``CRITICAL``.
        forwarding_number: where calls are forwarded, or ``None``.
        rcs_error: ``None``, or the code ``check_rcs`` from this line answers with a 503:
            4004 (RCS off for the line) or 4009 (no RCS account).
        last_suggested: order of the latest ``available_number`` answer naming the line (0:
            never), for least-recently-used selection.
    """

    id: str
    phone_number: str
    line_type: str = "iMessage"
    reputation: str = "HEALTHY"
    forwarding_number: str | None = None
    rcs_error: int | None = None
    last_suggested: int = 0


@attrs.define(kw_only=True, eq=False)
class FakeContactCard:
    """A line's contact card, set by ``POST /v3/contact_card``.

    Attributes:
        phone_number: the line.
        first_name: the first name, or ``None``.
        last_name: the last name, or ``None``.
        image_url: the photo URL as sent, or ``None``.
        is_active: whether the card is active (always, once created).
        updated_at: the latest create or update (aware UTC).
    """

    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None
    is_active: bool = True
    updated_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class FakeBlockedHandle:
    """A blocked handle.

    Attributes:
        handle: the handle, normalised (emails lowercased).
        reason: the note sent with the block, or ``None``.
        blocked_at: when it was first blocked (aware UTC).
    """

    handle: str
    reason: str | None = None
    blocked_at: dt.datetime


@attrs.define(kw_only=True, eq=False)
class FakeReputationAudit:
    """A reputation audit started by ``POST .../reputation_audit``.

    Attributes:
        id: the audit id (a UUID string).
        phone_number: the audited line.
        status: ``pending``, then ``complete`` or ``error`` (`FakeAccount.finish_reputation_audit`).
        generated_at: when it finished, or ``None``.
        report: the report answered once ``complete`` (a JSON object), or ``None``.
        error: the reason answered once ``error``, or ``None``.
    """

    id: str
    phone_number: str
    status: str = "pending"
    generated_at: dt.datetime | None = None
    report: dict[str, Any] | None = None
    error: str | None = None


def normalize_handle(handle: str) -> str:
    """A handle as the API keys it: emails lowercased, phone numbers as they are."""
    return handle.lower() if "@" in handle else handle


class FakeAccount:
    """The account area of a `FakeLinqServer`: ``fake.account``.

    Holds the account's lines, contact cards, blocked handles and reputation audits (live
    records: read them, configure through the methods), and which addresses are reachable
    over iMessage or RCS. A new fake has the lines given as ``FakeLinqServer(lines=...)``;
    add more (or reconfigure one) with `add_line`.
    """

    def __init__(self) -> None:
        self.lines: dict[str, FakeLine] = {}
        """Lines by phone number, in the order they were added."""
        self.contact_cards: dict[str, FakeContactCard] = {}
        """Contact cards by line."""
        self.blocked_handles: dict[str, FakeBlockedHandle] = {}
        """Blocked handles by normalised handle, oldest first."""
        self.reputation_audits: dict[str, FakeReputationAudit] = {}
        """Reputation audits by id."""
        self.experiences: dict[str, dict[str, Any]] = copy.deepcopy(_EXPERIENCES)
        """The experience catalogue by name (JSON objects as answered)."""
        self._imessage: set[str] = set()
        self._rcs: set[str] = set()
        self._card_calls: dict[str, list[float]] = {}
        self._clock_offset = 0.0
        self._suggestions = itertools.count(1)

    def __repr__(self) -> str:
        return f"<FakeAccount {len(self.lines)} lines>"

    # Configuration

    def add_line(
        self,
        phone_number: str,
        *,
        line_type: str = "iMessage",
        reputation: str = "HEALTHY",
        forwarding_number: str | None = None,
        rcs_error: int | None = None,
    ) -> FakeLine:
        """Give the account a line, or reconfigure one it has (keeping its id).

        A fake starts with the lines given as ``FakeLinqServer(lines=...)``.

        Args:
            phone_number: the line, E.164.
            line_type: ``iMessage`` or ``RCS``.
            reputation: ``HEALTHY``, ``AT_RISK`` or ``CRITICAL``.
            forwarding_number: where its calls are forwarded, E.164, or ``None``.
            rcs_error: make ``check_rcs`` from this line answer 503 with 4004 (RCS off) or
                4009 (no RCS account).

        Returns:
            The line's record.

        Raises:
            ValueError: a number is not E.164, or a value is not one of those listed.
        """
        if not isinstance(phone_number, str) or not _E164.fullmatch(phone_number):
            raise ValueError(f"phone_number must be E.164, got {phone_number!r}")
        if reputation not in _REPUTATIONS:
            raise ValueError(f"reputation must be one of {_REPUTATIONS}, got {reputation!r}")
        if rcs_error is not None and rcs_error not in _RCS_LINE_ERRORS:
            raise ValueError(f"rcs_error must be None, 4004 or 4009, got {rcs_error!r}")
        if forwarding_number is not None and not _E164.fullmatch(forwarding_number):
            raise ValueError(f"forwarding_number must be E.164, got {forwarding_number!r}")
        existing = self.lines.get(phone_number)
        line = FakeLine(
            id=existing.id if existing is not None else str(uuid.uuid4()),
            phone_number=phone_number,
            line_type=line_type,
            reputation=reputation,
            forwarding_number=forwarding_number,
            rcs_error=rcs_error,
        )
        self.lines[phone_number] = line
        return line

    def set_capable(
        self, address: str, *, imessage: bool | None = None, rcs: bool | None = None
    ) -> None:
        """Say whether ``address`` can receive iMessage and RCS (``None`` leaves it as is).

        Every address starts unreachable over both.
        """
        key = normalize_handle(address)
        for enabled, reachable in ((imessage, self._imessage), (rcs, self._rcs)):
            if enabled is True:
                reachable.add(key)
            elif enabled is False:
                reachable.discard(key)

    def finish_reputation_audit(
        self, audit_id: str, *, error: str | None = None
    ) -> FakeReputationAudit:
        """Complete an audit (its report reflects the line's reputation now), or fail it.

        Args:
            audit_id: the audit.
            error: fail the audit with this reason instead.

        Raises:
            KeyError: no such audit.
        """
        audit = self.reputation_audits[audit_id]
        audit.generated_at = utcnow()
        if error is not None:
            audit.status, audit.error = "error", error
        else:
            audit.status = "complete"
            audit.report = _report(self.lines[audit.phone_number].reputation)
        return audit

    def advance_clock(self, seconds: float) -> None:
        """Move the account's clock forward by ``seconds``, without a real wait.

        Contact-card calls that are then older than 10 minutes stop counting against the
        rate limit.
        """
        if seconds < 0:
            raise ValueError(f"seconds must be >= 0, got {seconds!r}")
        self._clock_offset += seconds

    # Queries the routes share

    def is_blocked(self, handle: str) -> bool:
        """Whether ``handle`` is blocked (emails compared case-insensitively)."""
        return normalize_handle(handle) in self.blocked_handles

    def line(self, phone_number: str) -> FakeLine:
        """The line ``phone_number``; 404/2001 when it is not one of the account's."""
        line = self.lines.get(phone_number)
        if line is None:
            raise ApiError(404, 2001, f"{phone_number} is not a line of this account")
        return line

    def _now(self) -> float:
        return time.monotonic() + self._clock_offset

    def _count_card_call(self, line: str) -> None:
        now = self._now()
        recent = [at for at in self._card_calls.get(line, []) if now - at < CARD_WINDOW_SECONDS]
        if len(recent) >= CARD_CALLS_PER_WINDOW:
            wait = max(1, math.ceil(CARD_WINDOW_SECONDS - (now - recent[0])))
            raise ApiError(
                429,
                1007,
                f"Contact card changes for {line} are limited to {CARD_CALLS_PER_WINDOW} "
                "per 10 minutes",
                headers={"Retry-After": str(wait)},
                extra={"retry_after": wait},
            )
        recent.append(now)
        self._card_calls[line] = recent


def refuse_blocked_direct_send(store: Store, recipients: Sequence[str]) -> None:
    """Refuse a direct send (exactly one recipient) to a blocked handle: 403, code 2026.

    Group chats are not refused: the API documents the code for direct sends only.
    """
    if len(recipients) == 1 and store.area(FakeAccount).is_blocked(recipients[0]):
        raise ApiError(403, 2026, f"{recipients[0]} is blocked: direct sends to it are refused")


# Phone numbers


def _line_json(line: FakeLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "phone_number": line.phone_number,
        "reputation": {
            "status": line.reputation,
            "doc_url": f"{_REPUTATION_DOC_URL}#{line.reputation.lower().replace('_', '-')}",
        },
        "forwarding_number": line.forwarding_number,
        "line_type": line.line_type,
    }


def list_lines(call: Call) -> dict[str, Any]:
    """``GET /v3/phone_numbers``."""
    return {"phone_numbers": [_line_json(line) for line in call.area(FakeAccount).lines.values()]}


def update_line(call: Call) -> dict[str, Any]:
    """``PUT /v3/phone_numbers/{phoneNumberId}``: ``""`` clears the forwarding number."""
    account = call.area(FakeAccount)
    line_id = call.params["phoneNumberId"]
    line = next((line for line in account.lines.values() if line.id == line_id), None)
    if line is None:
        raise ApiError(404, 2001, f"Phone number {line_id} not found")
    line.forwarding_number = call.body["forwarding_number"] or None
    call.emit(
        "phone_number.forwarding_updated",
        {"phone_number": line.phone_number, "forwarding_number": line.forwarding_number},
    )
    return {
        "id": line.id,
        "phone_number": line.phone_number,
        "forwarding_number": line.forwarding_number,
    }


def _forwarding(value: Any, where: str) -> str:
    if value == "":
        return ""
    return phone(value, where)


def _report(severity: str) -> dict[str, Any]:
    healthy = severity == "HEALTHY"
    drivers = (
        []
        if healthy
        else [
            {
                "key": "volume_spike",
                "metric": "daily sends 6x the line's usual volume",
                "summary": "The line's sending volume jumped far above its normal level.",
            }
        ]
    )
    action = (
        {
            "priority": 1,
            "title": "Keep sending as you do",
            "detail": "The line is in good standing.",
            "expected_impact": "low",
        }
        if healthy
        else {
            "priority": 1,
            "title": "Ramp volume gradually",
            "detail": "Spread large sends across days instead of spiking.",
            "expected_impact": "high",
        }
    )
    return {
        "severity": severity,
        "primary_driver": "" if healthy else "volume_spike",
        "drivers": drivers,
        "action_items": [action],
        "evidence": {"opt_out_chats": [], "unhealthy_chats": []},
        "summary_markdown": f"# Line reputation: {severity}\n\n- {action['title']}\n",
    }


def _audit_json(audit: FakeReputationAudit) -> dict[str, Any]:
    data: dict[str, Any] = {
        "audit_id": audit.id,
        "status": audit.status,
        "phone": audit.phone_number,
    }
    if audit.generated_at is not None:
        data["generated_at"] = iso(audit.generated_at)
    if audit.report is not None:
        data["report"] = audit.report
    if audit.error is not None:
        data["error"] = audit.error
    return data


def start_audit(call: Call) -> dict[str, Any]:
    """``POST /v3/phone_numbers/{phoneNumber}/reputation_audit``: 202, pending."""
    account = call.area(FakeAccount)
    line = account.line(call.params["phoneNumber"])
    audit = FakeReputationAudit(id=call.new_id(), phone_number=line.phone_number)
    account.reputation_audits[audit.id] = audit
    return {"audit_id": audit.id, "status": audit.status}


def get_audit(call: Call) -> dict[str, Any]:
    """``GET /v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}``."""
    account = call.area(FakeAccount)
    line = account.line(call.params["phoneNumber"])
    audit = account.reputation_audits.get(call.params["auditId"])
    if audit is None or audit.phone_number != line.phone_number:
        raise ApiError(404, 2001, f"Reputation audit {call.params['auditId']} not found")
    return _audit_json(audit)


_RANK = {name: rank for rank, name in enumerate(_REPUTATIONS)}


def available_number(call: Call) -> dict[str, Any]:
    """``GET /v3/available_number``: sticky to a chat with ``to``, else healthiest, LRU."""
    account = call.area(FakeAccount)
    excluded = set(call.query.get("exclude_from", ()))
    kind = call.query.get("type")
    candidates = {
        number: line
        for number, line in account.lines.items()
        if number not in excluded and (kind is None or line.line_type == kind)
    }
    if not candidates:
        raise bad(1005, "No line is available: every line is excluded or of another type")
    chosen = None
    if "to" in call.query:
        wanted = frozenset(normalize_handle(handle) for handle in call.query["to"])
        for chat in reversed(list(call.store.chats.values())):
            same = frozenset(normalize_handle(handle) for handle in chat.handles) == wanted
            if same and chat.from_handle in candidates:
                chosen = candidates[chat.from_handle]
                break
    if chosen is None:
        chosen = min(
            candidates.values(), key=lambda line: (_RANK[line.reputation], line.last_suggested)
        )
    chosen.last_suggested = next(account._suggestions)
    expires = int(time.time()) + 900
    return {
        "phone_number": chosen.phone_number,
        "vcf_url": f"{_VCF_ORIGIN}/{chosen.id}.vcf?expires={expires}",
    }


# Contact cards


def _card_json(card: FakeContactCard) -> dict[str, Any]:
    data: dict[str, Any] = {"phone_number": card.phone_number, "is_active": card.is_active}
    for name in ("first_name", "last_name", "image_url"):
        value = getattr(card, name)
        if value is not None:
            data[name] = value
    return data


def _card_event(card: FakeContactCard) -> dict[str, Any]:
    return {"summary": f"Contact card of {card.phone_number}", "contact_card": _card_json(card)}


def create_card(call: Call) -> dict[str, Any]:
    """``POST /v3/contact_card``: 409/2014 when the line already has an active card."""
    account = call.area(FakeAccount)
    line = account.line(call.body["phone_number"]).phone_number
    account._count_card_call(line)
    existing = account.contact_cards.get(line)
    if existing is not None and existing.is_active:
        raise ApiError(409, 2014, f"{line} already has an active contact card: use PATCH")
    card = FakeContactCard(
        phone_number=line,
        first_name=call.body.get("first_name"),
        last_name=call.body.get("last_name"),
        image_url=call.body.get("image_url"),
        updated_at=call.now(),
    )
    account.contact_cards[line] = card
    call.emit("contact_card.created", _card_event(card))
    return _card_json(card)


def _active_card(account: FakeAccount, line: str) -> FakeContactCard:
    card = account.contact_cards.get(line)
    if card is None or not card.is_active:
        raise ApiError(404, 2012, f"{line} has no active contact card")
    return card


def get_cards(call: Call) -> dict[str, Any]:
    """``GET /v3/contact_card``: one line's card (404/2012 when none), or every card."""
    account = call.area(FakeAccount)
    line = call.query.get("phone_number")
    if line is None:
        cards = [card for card in account.contact_cards.values() if card.is_active]
    else:
        cards = [_active_card(account, line)]
    return {"contact_cards": [_card_json(card) for card in cards]}


def update_card(call: Call) -> dict[str, Any]:
    """``PATCH /v3/contact_card?phone_number=``: changes only the fields sent."""
    account = call.area(FakeAccount)
    line = account.line(call.query["phone_number"]).phone_number
    account._count_card_call(line)
    card = _active_card(account, line)
    for name, value in call.body.items():
        setattr(card, name, value)
    card.updated_at = call.now()
    call.emit("contact_card.updated", _card_event(card))
    return _card_json(card)


# Blocked handles


def _blocked_json(entry: FakeBlockedHandle) -> dict[str, Any]:
    data: dict[str, Any] = {"handle": entry.handle, "blocked_at": iso(entry.blocked_at)}
    if entry.reason is not None:
        data["reason"] = entry.reason
    return data


def list_blocked(call: Call) -> dict[str, Any]:
    """``GET /v3/blocked_handles``: newest first."""
    entries = reversed(list(call.area(FakeAccount).blocked_handles.values()))
    return {"blocked_handles": [_blocked_json(entry) for entry in entries]}


def block(call: Call) -> dict[str, Any]:
    """``POST /v3/blocked_handles``: idempotent, a repeat answers the first block."""
    account = call.area(FakeAccount)
    handle = normalize_handle(call.body["handle"])
    entry = account.blocked_handles.get(handle)
    if entry is None:
        entry = FakeBlockedHandle(
            handle=handle, reason=call.body.get("reason"), blocked_at=call.now()
        )
        account.blocked_handles[handle] = entry
    return {"blocked_handle": _blocked_json(entry)}


def unblock(call: Call) -> None:
    """``DELETE /v3/blocked_handles`` (JSON body): 204, blocked or not."""
    call.area(FakeAccount).blocked_handles.pop(normalize_handle(call.body["handle"]), None)


# Capability checks


def _checking_line(call: Call, account: FakeAccount) -> FakeLine | None:
    sender = call.body.get("from")
    if sender is not None:
        return account.line(sender)
    if not account.lines:
        raise bad(1005, "The account has no line to check from")
    return None


def check_imessage(call: Call) -> dict[str, Any]:
    """``POST /v3/capability/check_imessage``."""
    account = call.area(FakeAccount)
    _checking_line(call, account)
    address = call.body["address"]
    if normalize_handle(address) in account._imessage:
        return {"address": address, "available": True, "selected_service": "iMessage"}
    return {"address": address, "available": False, "reason": "not registered with iMessage"}


def check_rcs(call: Call) -> dict[str, Any]:
    """``POST /v3/capability/check_rcs``: 503 4004/4009 from a line without working RCS."""
    account = call.area(FakeAccount)
    line = _checking_line(call, account)
    if line is None:
        # The API picks a line: one with working RCS if it can.
        lines = list(account.lines.values())
        line = next((line for line in lines if line.rcs_error is None), lines[0])
    if line.rcs_error is not None:
        raise ApiError(503, line.rcs_error, _RCS_LINE_ERRORS[line.rcs_error])
    address = call.body["address"]
    if address in account._rcs:
        return {"address": address, "available": True, "selected_service": "RCS"}
    return {"address": address, "available": False, "reason": "RCS is not available"}


# Experiences


def list_experiences(call: Call) -> dict[str, Any]:
    """``GET /v3/experiences``."""
    return {"experiences": list(call.area(FakeAccount).experiences.values())}


def get_experience(call: Call) -> dict[str, Any]:
    """``GET /v3/experiences/{experience}``: 404/2001 for an unknown name."""
    name = call.params["experience"]
    experience = call.area(FakeAccount).experiences.get(name)
    if experience is None:
        raise ApiError(404, 2001, f"Experience {name} not found")
    return experience


_NAME = string(max_len=200)
_CARD_FIELDS: dict[str, Field] = {
    "first_name": opt(_NAME),
    "last_name": opt(_NAME),
    "image_url": opt(https_url()),
}
_CHECK = {"address": req(email_or_phone), "from": opt(phone)}

ENDPOINTS: list[Endpoint] = [
    Endpoint(method="GET", route="/v3/phone_numbers", handler=list_lines),
    Endpoint(
        method="PUT",
        route="/v3/phone_numbers/{phoneNumberId}",
        handler=update_line,
        body=obj({"forwarding_number": req(_forwarding)}),
    ),
    Endpoint(
        method="POST",
        route="/v3/phone_numbers/{phoneNumber}/reputation_audit",
        handler=start_audit,
        status=202,
    ),
    Endpoint(
        method="GET",
        route="/v3/phone_numbers/{phoneNumber}/reputation_audit/{auditId}",
        handler=get_audit,
    ),
    Endpoint(
        method="GET",
        route="/v3/available_number",
        handler=available_number,
        query={
            "to": repeated(email_or_phone),
            "exclude_from": repeated(phone),
            "type": opt(string()),
        },
    ),
    Endpoint(
        method="POST",
        route="/v3/contact_card",
        handler=create_card,
        body=obj({"phone_number": req(phone), **_CARD_FIELDS}),
    ),
    Endpoint(
        method="GET",
        route="/v3/contact_card",
        handler=get_cards,
        query={"phone_number": opt(phone)},
    ),
    Endpoint(
        method="PATCH",
        route="/v3/contact_card",
        handler=update_card,
        body=obj(_CARD_FIELDS),
        query={"phone_number": req(phone)},
    ),
    Endpoint(method="GET", route="/v3/blocked_handles", handler=list_blocked),
    Endpoint(
        method="POST",
        route="/v3/blocked_handles",
        handler=block,
        body=obj({"handle": req(email_or_phone), "reason": opt(string(max_len=500))}),
    ),
    Endpoint(
        method="DELETE",
        route="/v3/blocked_handles",
        handler=unblock,
        body=obj({"handle": req(email_or_phone)}),
    ),
    Endpoint(
        method="POST",
        route="/v3/capability/check_imessage",
        handler=check_imessage,
        body=obj(_CHECK),
    ),
    Endpoint(
        method="POST",
        route="/v3/capability/check_rcs",
        handler=check_rcs,
        body=obj({**_CHECK, "address": req(phone)}),
    ),
    Endpoint(method="GET", route="/v3/experiences", handler=list_experiences),
    Endpoint(method="GET", route="/v3/experiences/{experience}", handler=get_experience),
]
