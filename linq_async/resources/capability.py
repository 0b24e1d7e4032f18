"""``linq.capability``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Capability"]


class Capability(Resource):
    """iMessage and RCS capability checks: ``linq.capability``."""
