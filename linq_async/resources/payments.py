"""``linq.payments``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Payments"]


class Payments(Resource):
    """Agent virtual-card payments: ``linq.payments``."""
