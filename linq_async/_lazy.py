"""Packages whose names import their home module when first asked for.

``linq_async.models`` and ``linq_async.resources`` name every model and namespace, but a
session that only sends messages needs a third of them. Importing the rest would cost import
time and memory, and every full garbage collection of the application would scan their
classes and functions for as long as it runs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, homes: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package that imports its names lazily.

    Args:
        package: the package's ``__name__``.
        homes: each module (relative to the package, e.g. ``"._chats"``) and the names
            the package takes from it.

    The first look-up of a name imports its module and stores the name in the package,
    so later look-ups do not come here.
    """
    where = {name: home for home, names in homes.items() for name in names}
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str) -> Any:
        home = where.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *where})

    return __getattr__, __dir__
