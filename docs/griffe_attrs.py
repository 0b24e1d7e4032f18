"""A griffe extension for the API reference: give attrs classes their ``__init__`` signature.

attrs writes a class's ``__init__`` at import time, so griffe's static analysis sees none:
the reference would show ``RetryPolicy`` without parameters, and the ``Args:`` section of its
docstring would be reported as documenting parameters that do not exist (which fails
``mkdocs build --strict``). This extension adds the ``__init__`` attrs would generate, built
from the class's annotated attributes, so signatures render and ``Args:`` sections check out.

Scope: the classes of this project, decorated with ``attrs.frozen``/``attrs.define`` (or
``attr.s``-style aliases). Fields with ``init=False`` and ``ClassVar`` annotations are
skipped; inherited fields are not collected, since no class here inherits attrs fields.
Loaded from ``mkdocs.yml`` (``extensions: [docs/griffe_attrs.py:AttrsInit]``); not part of
the package.
"""

from __future__ import annotations

import ast
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


def _field(value: str | griffe.Expr | None) -> tuple[bool, str | None]:
    """From an attribute's value: whether it goes into ``__init__``, and its default."""
    if value is None:
        return True, None
    tree = ast.parse(str(value), mode="eval").body
    if not (isinstance(tree, ast.Call) and ast.unparse(tree.func) in _FIELD_CALLS):
        return True, str(value)  # a plain default: ``jitter: float = 0.25``
    keywords = {keyword.arg: keyword.value for keyword in tree.keywords}
    init = keywords.get("init")
    if isinstance(init, ast.Constant) and init.value is False:
        return False, None
    if "default" in keywords:
        return True, ast.unparse(keywords["default"])
    if "factory" in keywords:
        return True, f"{ast.unparse(keywords['factory'])}()"
    return True, None


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
        for member in cls.members.values():
            if not isinstance(member, griffe.Attribute) or member.annotation is None:
                continue
            if str(member.annotation).startswith(("ClassVar", "typing.ClassVar")):
                continue
            in_init, default = _field(member.value)
            if in_init:
                parameters.append(
                    griffe.Parameter(
                        member.name.lstrip("_"),
                        annotation=member.annotation,
                        kind=kind,
                        default=default,
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
