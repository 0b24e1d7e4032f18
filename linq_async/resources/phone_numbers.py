"""``linq.phone_numbers``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["PhoneNumbers"]


class PhoneNumbers(Resource):
    """Your lines: ``linq.phone_numbers``."""
