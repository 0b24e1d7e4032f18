"""Small answers shared by several endpoints."""

from __future__ import annotations

import attrs

from .._model import WireModel

__all__ = ["OperationResult"]


@attrs.frozen(kw_only=True)
class OperationResult(WireModel):
    """The answer of an operation the API queues or acknowledges.

    Participant changes, reactions, leaving a chat and location requests answer with some
    of these fields (all optional on the wire).

    Attributes:
        status: e.g. ``"accepted"`` when the operation was queued.
        message: a human-readable note (``"Participant addition queued"``).
        trace_id: the API's trace id, to quote to Linq support.
        success: set by some endpoints instead of ``status``.
    """

    status: str | None = None
    message: str | None = None
    trace_id: str | None = None
    success: bool | None = None
