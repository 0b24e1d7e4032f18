"""``linq.experiences``."""

from __future__ import annotations

from ._base import Resource

__all__ = ["Experiences"]


class Experiences(Resource):
    """Linq app-card experiences: ``linq.experiences``."""
