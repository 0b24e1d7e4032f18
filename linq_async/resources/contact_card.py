"""``linq.contact_card``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["ContactCard"]


class ContactCard(Resource):
    """Your lines' shared contact card (Name and Photo): ``linq.contact_card``."""
