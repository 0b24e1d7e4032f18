"""A griffe extension for the API reference: give attrs classes their ``__init__`` signature.

attrs writes a class's ``__init__`` at import time, so griffe's static analysis sees none:
the reference would show ``RetryPolicy`` without parameters, and the ``Args:`` section of its
docstring would be reported as documenting parameters that do not exist (which fails
``mkdocs build --strict``). This extension adds the ``__init__`` attrs would generate, built
from the class's annotated attributes, so signatures render and ``Args:`` sections check out.

Scope: the classes of this project, decorated with ``attrs.frozen``/``attrs.define`` (or
``attr.s``-style aliases). Fields with ``init=False``, ``ClassVar`` annotations and
properties (which griffe lists as attributes) are skipped; fields inherited from an attrs
base class in the same module come first, as attrs orders them. ``docs/check_signatures.py``
compares every signature this produces with the real class's, so a case this misses fails
the build.
Loaded from ``mkdocs.yml`` (``extensions: [docs/griffe_attrs.py:AttrsInit]``); not part of
the package.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

import griffe

_DECORATORS = {
    "attrs.define",
    "attrs.frozen",
    "attrs.mutable",
    "attr.s",
    "attr.attrs",
    "attr.define",
    "attr.frozen",
    "attr.mutable",
    "define",
    "frozen",
    "mutable",
}
_FIELD_CALLS = {"attrs.field", "attr.field", "attr.ib", "attr.attrib", "field"}


def _attrs_options(cls: griffe.Class) -> dict[str, Any] | None:
    """The keyword options of the class's attrs decorator, or ``None`` if it has none."""
    for decorator in cls.decorators:
        tree = ast.parse(str(decorator.value), mode="eval").body
        call = tree if isinstance(tree, ast.Call) else None
        name = ast.unparse(call.func if call else tree)
        if name in _DECORATORS:
            options: dict[str, Any] = {}
            for keyword in call.keywords if call else []:
                if keyword.arg is not None:
                    try:
                        options[keyword.arg] = ast.literal_eval(keyword.value)
                    except ValueError:
                        options[keyword.arg] = ast.unparse(keyword.value)
            return options
    return None


@dataclass(frozen=True)
class _Field:
    """What an attribute contributes to the attrs ``__init__``."""

    in_init: bool = True
    default: str | None = None
    kw_only: bool = False
    alias: str | None = None


def _field(value: str | griffe.Expr | None) -> _Field:
    """From an attribute's value: whether it goes into ``__init__``, and how."""
    if value is None:
        return _Field()
    tree = ast.parse(str(value), mode="eval").body
    if not (isinstance(tree, ast.Call) and ast.unparse(tree.func) in _FIELD_CALLS):
        return _Field(default=str(value))  # a plain default: ``jitter: float = 0.25``
    keywords = {keyword.arg: keyword.value for keyword in tree.keywords}

    def true(name: str) -> bool:
        node = keywords.get(name)
        return isinstance(node, ast.Constant) and node.value is True

    init = keywords.get("init")
    if isinstance(init, ast.Constant) and init.value is False:
        return _Field(in_init=False)
    default = None
    if "default" in keywords:
        default = ast.unparse(keywords["default"])
    elif "factory" in keywords:
        factory = keywords["factory"]
        # ``factory=lambda: X(...)`` reads best as its body; ``factory=dict`` as ``dict()``.
        body = factory.body if isinstance(factory, ast.Lambda) else None
        default = ast.unparse(body) if body is not None else f"{ast.unparse(factory)}()"
    alias = keywords.get("alias")
    return _Field(
        default=default,
        kw_only=true("kw_only"),
        alias=alias.value if isinstance(alias, ast.Constant) else None,
    )


def _attrs_bases(cls: griffe.Class) -> list[griffe.Class]:
    """The attrs classes ``cls`` inherits from that are defined in its own module, oldest
    first (the ones attrs collects fields from; this project's attrs bases live beside their
    subclasses)."""
    found: list[griffe.Class] = []
    module = cls.parent
    for base in cls.bases:
        candidate = module.members.get(str(base)) if module is not None else None
        if isinstance(candidate, griffe.Class) and _attrs_options(candidate) is not None:
            found += [*_attrs_bases(candidate), candidate]
    return found


class AttrsInit(griffe.Extension):
    """Add a synthetic ``__init__`` to attrs classes (see the module docstring)."""

    def on_class_members(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        cls: griffe.Class,
        agent: griffe.Visitor | griffe.Inspector,
        **kwargs: Any,
    ) -> None:
        if "__init__" in cls.members:
            return
        options = _attrs_options(cls)
        if options is None:
            return
        kind = (
            griffe.ParameterKind.keyword_only
            if options.get("kw_only") is True
            else griffe.ParameterKind.positional_or_keyword
        )
        parameters = [griffe.Parameter("self", kind=griffe.ParameterKind.positional_or_keyword)]
        # attrs puts a base class's fields first, then the class's own (an own field of the
        # same name replaces the base's, in the base's place).
        members: dict[str, griffe.Attribute] = {}
        for owner in [*_attrs_bases(cls), cls]:
            for member in owner.members.values():
                if isinstance(member, griffe.Attribute):
                    members[member.name] = member
        for member in members.values():
            if not isinstance(member, griffe.Attribute) or member.annotation is None:
                continue
            if "property" in member.labels:  # ``@property def ok(self) -> bool``: not a field
                continue
            if str(member.annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            field = _field(member.value)
            if field.in_init:
                parameters.append(
                    griffe.Parameter(
                        field.alias or member.name.lstrip("_"),
                        annotation=member.annotation,
                        kind=griffe.ParameterKind.keyword_only if field.kw_only else kind,
                        default=field.default,
                    )
                )
        init = griffe.Function(
            "__init__",
            lineno=cls.lineno,
            endlineno=cls.lineno,
            parameters=griffe.Parameters(*parameters),
            returns="None",
        )
        init.labels.add("synthetic")
        cls.set_member("__init__", init)
