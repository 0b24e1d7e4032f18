"""The account: lines, their reputation, contact cards, blocked handles, capability checks and
app-card experiences.

The fact sheet names the fields of lines, capability checks and available lines; the shapes of
reputation audits, contact cards, blocked handles and experiences follow the field names of the
official SDK's models (v0.65.0). Every field but the identifying ones is optional, so an answer
that leaves one out still loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from .._model import WireModel

__all__ = [
    "AvailableNumber",
    "BlockedHandle",
    "CapabilityCheck",
    "ContactCardInfo",
    "ExperienceAction",
    "ExperienceField",
    "ExperienceInfo",
    "LineReputation",
    "PhoneNumber",
    "ReputationActionItem",
    "ReputationAudit",
    "ReputationChat",
    "ReputationDriver",
    "ReputationEvidence",
    "ReputationReport",
]


@attrs.frozen(kw_only=True)
class LineReputation(WireModel):
    """A line's current reputation (beta).

    Attributes:
        status: ``HEALTHY``, ``AT_RISK`` or ``CRITICAL`` (lines start ``HEALTHY``).
        doc_url: the Linq guide's section on this status.
    """

    status: str
    doc_url: str | None = None


@attrs.frozen(kw_only=True)
class PhoneNumber(WireModel):
    """One of your lines, as ``phone_numbers.list()`` and ``phone_numbers.update()`` return it.

    Attributes:
        id: the line's id (what ``phone_numbers.update`` takes).
        phone_number: the line, E.164.
        reputation: its current reputation; the list always has it, the answer to an update
            may not.
        forwarding_number: where calls to the line are forwarded (E.164), or ``None``.
        line_type: ``iMessage`` or ``RCS``, when the API says.
    """

    id: str
    phone_number: str
    reputation: LineReputation | None = None
    forwarding_number: str | None = None
    line_type: str | None = None


@attrs.frozen(kw_only=True)
class AvailableNumber(WireModel):
    """The line the API suggests sending from (``phone_numbers.available()``).

    Attributes:
        phone_number: the suggested line, E.164. It is not reserved: pass it as ``from_``.
        vcf_url: a short-lived link to a vCard of the line, to share with recipients; call
            again for a fresh one.
    """

    phone_number: str
    vcf_url: str | None = None


@attrs.frozen(kw_only=True)
class ReputationDriver(WireModel):
    """What drags a line's reputation down.

    Attributes:
        key: ``low_engagement``, ``overall_conversation_health``, ``volume_spike``,
            ``new_conversation_rate``, ``opt_out_handling``, ``flagged`` or ``other``.
        metric: an observed figure or a short note.
        summary: one sentence.
    """

    key: str | None = None
    metric: str | None = None
    summary: str | None = None


@attrs.frozen(kw_only=True)
class ReputationActionItem(WireModel):
    """Something to do about a line's reputation.

    Attributes:
        priority: 1 is first.
        title: a short label.
        detail: what to do.
        expected_impact: ``high``, ``medium`` or ``low``.
    """

    priority: int | None = None
    title: str | None = None
    detail: str | None = None
    expected_impact: str | None = None


@attrs.frozen(kw_only=True)
class ReputationChat(WireModel):
    """A conversation cited as evidence in a reputation report.

    Attributes:
        chat_id: the chat (``chats.get`` shows its health).
        messages_after_stop: in ``opt_out_chats``: messages sent after the recipient asked to
            stop.
        status: in ``unhealthy_chats``: ``AT_RISK``, ``CRITICAL`` or ``OPTED_OUT``.
        driver_keys: in ``unhealthy_chats``: what drags it down (`ReputationDriver.key`
            values).
    """

    chat_id: str | None = None
    messages_after_stop: int | None = None
    status: str | None = None
    driver_keys: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ReputationEvidence(WireModel):
    """The conversations behind a report's drivers, worst first."""

    opt_out_chats: tuple[ReputationChat, ...] = ()
    unhealthy_chats: tuple[ReputationChat, ...] = ()


@attrs.frozen(kw_only=True)
class ReputationReport(WireModel):
    """The findings of a completed reputation audit.

    Attributes:
        severity: ``HEALTHY``, ``AT_RISK`` or ``CRITICAL``.
        primary_driver: the key of the main driver (empty when there is nothing to act on).
        drivers: ranked, highest impact first.
        action_items: by priority.
        evidence: the conversations behind the drivers.
        summary_markdown: the report rendered as Markdown.
    """

    severity: str | None = None
    primary_driver: str | None = None
    drivers: tuple[ReputationDriver, ...] = ()
    action_items: tuple[ReputationActionItem, ...] = ()
    evidence: ReputationEvidence | None = None
    summary_markdown: str | None = None


@attrs.frozen(kw_only=True)
class ReputationAudit(WireModel):
    """A line's reputation audit: started, then polled until it is done.

    Attributes:
        audit_id: the audit's id.
        status: ``pending`` until the report is ready, then ``complete`` or ``error``.
        phone: the audited line, E.164.
        generated_at: when the report was made.
        report: the findings, once ``complete``.
        error: a short reason, when ``error``.
    """

    audit_id: str
    status: str
    phone: str | None = None
    generated_at: datetime | None = None
    report: ReputationReport | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class ContactCardInfo(WireModel):
    """The contact card (Name and Photo) a line shares.

    Attributes:
        phone_number: the line, E.164.
        first_name: the first name shown.
        last_name: the last name shown, if any.
        image_url: the photo (rehosted by Linq), if any.
        is_active: whether the card was applied to the line's device.
    """

    phone_number: str
    first_name: str | None = None
    last_name: str | None = None
    image_url: str | None = None
    is_active: bool | None = None


@attrs.frozen(kw_only=True)
class BlockedHandle(WireModel):
    """A handle your lines do not message directly.

    Attributes:
        handle: the handle as the API normalised it (E.164, or a lowercased email).
        blocked_at: when it was blocked.
        reason: the note given when it was blocked.
    """

    handle: str
    blocked_at: datetime | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class CapabilityCheck(WireModel):
    """Whether an address can be reached over iMessage or RCS.

    Attributes:
        address: the checked address.
        available: ``True`` or ``False``; ``None`` when the API could not tell (only from
            ``capability.check_rcs``, see `error_code`).
        reason: why not, when the API says; for an unknown result, the API's error message.
        selected_service: the service a send to the address would use, when the API says.
        error_code: not on the wire: the Linq code of the 503 answer when ``available`` is
            ``None`` (4004: RCS is off for the line, 4009: the line has no RCS account, 4010:
            the check could not run).
    """

    address: str
    available: bool | None
    reason: str | None = None
    selected_service: str | None = None
    error_code: int | None = None


@attrs.frozen(kw_only=True)
class ExperienceField(WireModel):
    """One parameter an experience action takes in ``params``.

    Attributes:
        type: ``string``, ``cents`` or ``int``.
        required: whether it must be given.
        max: the longest string allowed.
    """

    type: str | None = None
    required: bool | None = None
    max: int | None = None


@attrs.frozen(kw_only=True)
class ExperienceAction(WireModel):
    """An action of an experience (``request_payment`` of ``agentpay``).

    Attributes:
        name: the action's name, for ``experience.action`` in a message.
        summary: what it does.
        fields: its ``params``, by the exact name to send.
    """

    name: str | None = None
    summary: str | None = None
    fields: Mapping[str, ExperienceField] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class ExperienceInfo(WireModel):
    """A Linq app-card experience you can send in a message.

    Attributes:
        experience: its name, for ``experience.name`` in a message (e.g. ``agentpay``).
        display_name: a human-readable name.
        actions: what it can do.
    """

    experience: str | None = None
    display_name: str | None = None
    actions: tuple[ExperienceAction, ...] = ()
