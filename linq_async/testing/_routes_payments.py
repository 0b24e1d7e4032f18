"""Declared endpoints of the payments area."""

from __future__ import annotations

from ._declare import Endpoint

__all__ = ["ENDPOINTS"]

ENDPOINTS: list[Endpoint] = []
