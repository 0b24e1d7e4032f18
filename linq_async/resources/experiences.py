"""``linq.experiences``: the app-card experiences a message can carry."""

from __future__ import annotations

from ..models import ExperienceInfo
from ._base import Resource

__all__ = ["Experiences"]


class Experiences(Resource):
    """Linq app-card experiences: ``linq.experiences``.

    A message carries one as ``experience={"name": ..., "action": ..., "params": ...}``
    (e.g. ``agentpay`` / ``request_payment``); these calls say which exist and what
    ``params`` each action takes.
    """

    async def list(self) -> list[ExperienceInfo]:
        """Every experience you can send (``GET /v3/experiences``)."""
        return await self._request_list(
            "GET", "/v3/experiences", item=ExperienceInfo, envelope="experiences"
        )

    async def get(self, name: str) -> ExperienceInfo:
        """One experience, with its actions and their ``params``.

        ``GET /v3/experiences/{experience}``.

        Args:
            name: the experience's name, e.g. ``agentpay``.

        Raises:
            LinqUsageError: ``name`` is empty or not a single path segment (nothing is sent).
            NotFoundError: no such experience.
        """
        return await self._request(
            "GET", "/v3/experiences/{experience}", name, cast_to=ExperienceInfo
        )
