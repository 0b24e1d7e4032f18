"""Wire models: how every model turns into JSON and back, decided once for all of them.

Every model in `linq_async.models` (and every private request body) subclasses `WireModel`
and is a frozen, keyword-only attrs class whose field names are the wire's names. The rules:

* **Wire names.** A field's wire name is its own name with one trailing underscore removed
  (``from_`` is ``from``), unless its metadata says otherwise (``wire_name(...)``).
* **Requests.** A model is unstructured by a function generated once per class (also
  registered as the cattrs converter's hook for it): fields equal to their default stay off
  the wire, so optional ``None`` fields are omitted and a field whose default is `UNSET`
  sends an explicit ``None`` as JSON ``null``.
* **Responses are lazy.** `load` wraps the decoded JSON object and converts only its
  required fields (ids, mostly: what callers read first), so a missing or mistyped one
  fails at once. Every other field is converted the first time it is read and then kept,
  so a call whose caller reads two ids never pays for the datetimes, nested handles and
  parts it does not read. Such a field that does not fit its type raises
  `ResponseValidationError` when read, naming the route and the field. Results
  stay typed and complete: every field is there when asked for, and ``repr``, ``==``,
  `attrs.asdict` and pickling read them all.
* **Open unions.** A union tagged by a key (message parts on ``type``, webhook events on
  ``event_type``) maps each known tag to its class and any other tag to a fallback class that
  keeps the payload (`register_open_union`), so an addition by Linq never fails parsing.

Why not cattrs' structuring: it builds every nested object eagerly, and that was most of a
send's client CPU (see ``docs/performance.md``). cattrs unstructures what is not a model
(datetimes, containers of them) and structures any field type the loaders below do not
know; its converter is made on first use (`converter`), so a program that only sends and
reads models never imports cattrs: about 1,600 fewer long-lived objects for each full
garbage collection to walk.
"""

from __future__ import annotations

import contextlib
import functools
import operator
import re
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar, Union

import attrs

from ._errors import ResponseValidationError
from ._secret import is_secret, load_secret

if TYPE_CHECKING:
    from cattrs.preconf.json import JsonConverter

__all__ = [
    "UNSET",
    "JSONObject",
    "OpenUnion",
    "WireModel",
    "converter",
    "json_kind",
    "lazy",
    "load",
    "load_list",
    "loader_of",
    "loader_on",
    "materialize",
    "parse_datetime",
    "register_open_union",
    "response_only",
    "secret_field",
    "slot_setter",
    "unknown_keys",
    "unstructure",
    "whole_object",
    "wire_name",
    "wire_path",
]

M = TypeVar("M", bound="WireModel")

_WIRE = "linq_wire"
_RESPONSE_ONLY = "linq_response_only"
_LAZY = "linq_lazy"
_SECRET = "linq_secret"
_WHOLE = "<whole object>"
_MISSING = object()


class _Unset:
    """The default of a request field whose absence and ``None`` mean different things."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False

    def __reduce__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()
"""Marks an update field that was not given: it stays off the wire, while ``None`` is sent."""

JSONObject = typing.NewType("JSONObject", dict[str, Any])
"""A JSON object already in wire form (built by a checked builder such as ``compose``).

A request model's field of this type is sent as it is, not unstructured again.
"""


def wire_name(name: str) -> dict[str, Any]:
    """Field metadata that sends a field under another wire name.

    ``attrs.field(metadata=wire_name("type"))``.
    """
    return {_WIRE: name}


def wire_path(*keys: str) -> dict[str, Any]:
    """Field metadata for a field nested in the wire object: ``wire_path("chat", "message")``."""
    return {_WIRE: tuple(keys)}


def response_only() -> dict[str, Any]:
    """Field metadata for a field the API fills in answers and never takes in requests.

    Such a field is loaded but never unstructured, so a model read from an answer (a part
    with its ``reactions``, say) can be sent again as it is.
    """
    return {_RESPONSE_ONLY: True}


def secret_field() -> dict[str, Any]:
    """Field metadata for a secret the API sends (a signing secret): loaded at once.

    `load` takes the value out of the decoded answer and converts it before returning, so
    the answer it keeps, and the frames of any later loading error, never hold it. Give
    the field ``repr=False`` too.
    """
    return {_SECRET: True}


def lazy() -> dict[str, Any]:
    """Field metadata that keeps a required object field lazy (converted when first read).

    Required objects are converted with their model, since callers read them (a created
    chat's ``chat`` and ``message``). A webhook event's ``data`` stays lazy instead: an
    authentic delivery whose payload does not fit still reaches its handler, which learns
    of the misfit when it reads ``data``.
    """
    return {_LAZY: True}


def whole_object() -> dict[str, Any]:
    """Field metadata for a field that holds the whole wire object (fallback union members)."""
    return {_WIRE: _WHOLE}


class WireModel:
    """Base of every model: the lazy loading described in the module docstring.

    Subclasses are ``@attrs.frozen(kw_only=True)`` classes. Building one with keywords
    (``TextPart(value="hi")``) sets every field at once, as with any attrs class.
    """

    __slots__ = ("_route", "_wire")

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # attrs builds a slotted class anew with its generated __repr__ already in the class
        # dict, so this sees (and wraps) it.
        generated = cls.__dict__.get("__repr__")
        if generated is not None and getattr(generated, "__wrapped__", None) is None:
            cls.__repr__ = _never_raising_repr(generated)  # type: ignore[method-assign]

    if not TYPE_CHECKING:  # mypy would otherwise accept any attribute name on every model

        def __getattr__(self, name: str) -> Any:
            # Only reached for a slot that was never set: a field of a lazily loaded model.
            cls = type(self)
            lazy = (_SPECS.get(cls) or _spec(cls)).fields.get(name)
            if lazy is None:
                raise AttributeError(f"{cls.__name__!r} object has no attribute {name!r}")
            try:
                wire = _GET_WIRE(self)
            except AttributeError:
                raise AttributeError(name) from None
            value = lazy[0](wire, _GET_ROUTE(self))
            lazy[1](self, value)
            return value


def _never_raising_repr(generated: Callable[[Any], str]) -> Callable[[Any], str]:
    """Wrap an attrs ``__repr__`` so a field that does not fit is shown, not raised.

    ``repr`` runs where nobody expects an error: logging, debuggers, and tracebacks with
    locals (``traceback.TracebackException(..., capture_locals=True)``, error trackers),
    whose frames hold the very model whose field just failed to load (or, in the loader's
    own frame, a model half built: its later fields never set).
    """

    @functools.wraps(generated)
    def __repr__(self: Any) -> str:
        try:
            return generated(self)
        except (ResponseValidationError, AttributeError):
            return _repr_marking_failures(self)

    return __repr__


def _repr_marking_failures(model: Any) -> str:
    shown: list[str] = []
    for field in attrs.fields(type(model)):
        if field.repr is False:
            continue
        try:
            value = getattr(model, field.name)
        except ResponseValidationError:
            shown.append(f"{field.name}=<did not fit>")
            continue
        except AttributeError:  # a model whose loading failed before this field was set
            shown.append(f"{field.name}=<not loaded>")
            continue
        text = field.repr(value) if callable(field.repr) else repr(value)
        shown.append(f"{field.name}={text}")
    return f"{type(model).__qualname__}({', '.join(shown)})"


Loader = Callable[[Any, str], Any]
"""Converts one decoded JSON value; the second argument names the route for errors."""


@attrs.frozen
class _Spec:
    required: tuple[tuple[str, Loader], ...]
    """(field name, loader) of each required field: loaded with the model, not lazily."""
    fields: dict[str, tuple[Loader, Callable[[Any, Any], None]]]
    """Each field's loader and slot setter (the lazy ones are read by `WireModel.__getattr__`)."""
    secrets: tuple[tuple[str, str], ...] = ()
    """(field name, wire key) of each field marked `secret_field`."""


_SPECS: dict[type[Any], _Spec] = {}


def _wire_of(field: attrs.Attribute[Any]) -> str | tuple[str, ...]:
    name: str | tuple[str, ...] | None = field.metadata.get(_WIRE)
    if name is not None:
        return name
    if field.name.endswith("_") and not field.name.endswith("__"):
        return field.name[:-1]
    return field.name


def _spec(cls: type[Any]) -> _Spec:
    spec = _SPECS.get(cls)
    if spec is None:
        spec = _SPECS[cls] = _build_spec(cls)
    return spec


def _build_spec(cls: type[Any]) -> _Spec:
    hints = typing.get_type_hints(cls)
    required: list[tuple[str, Loader]] = []
    loaders: dict[str, Loader] = {}
    secrets: list[tuple[str, str]] = []
    for field in attrs.fields(cls):
        wire = _wire_of(field)
        convert = _loader_for(hints[field.name])
        default = _MISSING if field.default is attrs.NOTHING else field.default
        if field.metadata.get(_SECRET):
            if not isinstance(wire, str) or wire == _WHOLE:
                raise TypeError(f"{cls.__name__}.{field.name}: a secret field must be a plain key")
            secrets.append((field.name, wire))
        loaders[field.name] = loader = _field_loader(cls, field.name, wire, convert, default)
        if default is _MISSING and wire != _WHOLE and not field.metadata.get(_SECRET):
            # A required field (an id, a created chat's message) is loaded with the model:
            # callers read it, and now costs less than a lazy read later. Optional fields,
            # and required ones marked `lazy`, are converted when first read.
            if not field.metadata.get(_LAZY):
                required.append((field.name, loader))
            else:
                key = wire if isinstance(wire, str) else wire[0]
                required.append((field.name, functools.partial(_present, cls.__name__, key)))
    fields = {name: (loader, slot_setter(cls, name)) for name, loader in loaders.items()}
    return _Spec(required=tuple(required), fields=fields, secrets=tuple(secrets))


def _field_loader(
    cls: type[Any], name: str, wire: str | tuple[str, ...], convert: Loader, default: Any
) -> Loader:
    where = f"{cls.__name__}.{name}"
    make_default: Callable[[], Any] | None
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        make_default = default.factory
    elif default is _MISSING:
        make_default = None
    else:

        def make_default() -> Any:
            return default

    def load_field(data: Any, route: str) -> Any:
        if wire == _WHOLE:
            value = data
        elif isinstance(wire, str):
            value = data.get(wire, _MISSING)
        else:
            value = data
            for key in wire:
                value = value.get(key, _MISSING) if type(value) is dict else _MISSING
        if value is _MISSING or (value is None and make_default is not None):
            if make_default is None:
                _fail(route, f"{where}: the key {wire!r} is missing")
            return make_default()
        try:
            return convert(value, route)
        except ResponseValidationError:
            raise
        except (TypeError, ValueError, KeyError, AttributeError, ArithmeticError) as e:
            _fail(route, f"{where}: {e}", e)
        except Exception as e:
            if not _is_cattrs_error(e):
                raise
            _fail(route, f"{where}: {e}", e)

    # Fast paths for the commonest fields (a string id, a nested object): the value is
    # taken when it fits, and anything else goes through the general loader above. Each
    # says its ``shape``, which `_make_loader` inlines.
    if isinstance(wire, tuple) and getattr(convert, "func", None) is _load_nested:
        # A nested object under a path (a created chat's ``chat.message``).
        load_field.shape = ("object", wire, convert.args[0])  # type: ignore[attr-defined]
        return load_field
    if isinstance(wire, str) and wire != _WHOLE:
        if convert is _is_str:

            def load_str(data: Any, route: str) -> Any:
                value = data.get(wire)
                return value if type(value) is str else load_field(data, route)

            load_str.shape = ("str", wire)  # type: ignore[attr-defined]
            return load_str
        nested = getattr(convert, "func", None) is _load_nested
        if nested:
            model: type[Any] = convert.args[0]  # type: ignore[attr-defined]

            def load_object(data: Any, route: str) -> Any:
                value = data.get(wire)
                if type(value) is dict:
                    return load(value, model, route)
                return load_field(data, route)

            load_object.shape = ("object", (wire,), model)  # type: ignore[attr-defined]
            return load_object
        inner = convert.args[0] if getattr(convert, "func", None) is _homogeneous else None  # type: ignore[attr-defined]
        if getattr(inner, "func", None) is _load_nested:
            item_model: type[Any] = inner.args[0]  # type: ignore[union-attr]
            item: Callable[[Any, str], Any] | None = None  # the item's loader, once made

            def load_models(data: Any, route: str) -> Any:
                nonlocal item
                value = data.get(wire)
                if type(value) is list:
                    if item is None:
                        item = loader_of(item_model)
                    return tuple([item(element, route) for element in value])
                return load_field(data, route)

            return load_models
    return load_field


def _present(owner: str, key: str, data: dict[str, Any], route: str) -> Any:
    """Check a required key is there, leaving its conversion to the first read."""
    if key not in data:
        _fail(route, f"{owner}: the key {key!r} is missing")
    return _MISSING


def _fail(route: str, detail: str, cause: BaseException | None = None) -> typing.NoReturn:
    raise ResponseValidationError(f"the response to {route} did not fit: {detail}") from cause


_JSON_KINDS = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def json_kind(value: Any) -> str:
    """How a decoded JSON value reads in an error message: ``an array``, ``null`` ..."""
    return _JSON_KINDS.get(type(value), type(value).__name__)


def load(data: Any, cls: type[M], route: str) -> M:
    """Wrap a decoded JSON object as a lazily loaded ``cls``.

    Required fields (ids, mostly: what callers read first) are converted now, so a missing
    or mistyped one fails here; the others are converted when first read.

    Args:
        data: the decoded JSON value.
        cls: the model to load.
        route: names the request in errors, e.g. ``"GET /v3/chats/{chatId}"``.

    Raises:
        ResponseValidationError: ``data`` is not an object, or a required field is missing
            or does not fit.
    """
    return loader_of(cls)(data, route)


_LOADERS: dict[type[Any], Callable[[Any, str], Any]] = {}


def loader_of(cls: type[M]) -> Callable[[Any, str], M]:
    """The function `load` calls for ``cls``: ``loader(data, route)`` (one call less)."""
    loader: Callable[[Any, str], M] = _LOADERS.get(cls) or _make_loader(cls)
    return loader


def loader_on(cls: type[M], route: str) -> Callable[[Any], M]:
    """``cls``'s loader with ``route`` bound: ``loader(data)``, for one endpoint's answers.

    The generated loader itself, with ``route`` as its default (no wrapper frame, no
    ``partial``). A new function each call: the endpoint layer makes one per endpoint and
    keeps it.
    """
    generated = loader_of(cls)
    return types.FunctionType(
        generated.__code__, generated.__globals__, generated.__name__, (route,)
    )


def _make_loader(cls: type[Any]) -> Callable[[Any, str], Any]:
    """Generate the function that loads one ``cls`` from its decoded JSON object.

    Straight-line code, like the unstructure functions: the type check of each required
    field inlined (a string id, a nested object), anything else (and every misfit) handed
    to the field's general loader, which converts or raises naming the field.
    """
    spec = _spec(cls)
    namespace: dict[str, Any] = {
        "cls": cls,
        "new": _new,
        "set_wire": _SET_WIRE,
        "set_route": _SET_ROUTE,
        "fail": _fail,
        "json_kind": json_kind,
        "take_secrets": _take_secrets,
        "spec": spec,
        "MISSING": _MISSING,
        "loaders": _LOADERS,
        "make_loader": _make_loader,
    }
    lines = [
        "def load_model(data, route):",
        "    if type(data) is not dict:",
        f"        fail(route, 'expected a {cls.__name__} object, got ' + json_kind(data))",
        "    m = new(cls)",
    ]
    if spec.secrets:
        lines.append("    take_secrets(m, spec, data, route)")
    for index, (name, loader) in enumerate(spec.required):
        # f: the field's own loader, which also converts (or refuses) what does not fit.
        namespace[f"f{index}"] = loader
        namespace[f"s{index}"] = spec.fields[name][1]
        shape = getattr(loader, "shape", None)
        if shape is not None and shape[0] == "str":
            lines += [
                f"    v = data.get({shape[1]!r})",
                f"    if type(v) is not str: v = f{index}(data, route)",
                f"    s{index}(m, v)",
            ]
        elif shape is not None and shape[0] == "object":
            first, *rest = shape[1]
            namespace[f"c{index}"] = shape[2]
            lines.append(f"    v = data.get({first!r})")
            lines += [f"    v = v.get({key!r}) if type(v) is dict else None" for key in rest]
            lines += [
                "    if type(v) is dict:",
                f"        v = (loaders.get(c{index}) or make_loader(c{index}))(v, route)",
                "    else:",
                f"        v = f{index}(data, route)",
                f"    s{index}(m, v)",
            ]
        else:
            lines += [
                f"    v = f{index}(data, route)",
                f"    if v is not MISSING: s{index}(m, v)",
            ]
    lines += ["    set_wire(m, data)", "    set_route(m, route)", "    return m"]
    exec(compile("\n".join(lines), f"<linq_async load {cls.__qualname__}>", "exec"), namespace)
    function: Callable[[Any, str], Any] = namespace["load_model"]
    _LOADERS[cls] = function
    return function


_new = object.__new__
_set = object.__setattr__
# The slots' own setters: half the cost of object.__setattr__ (models are frozen, so a
# plain assignment would raise).
_SET_WIRE = WireModel.__dict__["_wire"].__set__
_SET_ROUTE = WireModel.__dict__["_route"].__set__
_GET_WIRE = WireModel.__dict__["_wire"].__get__
_GET_ROUTE = WireModel.__dict__["_route"].__get__


def slot_setter(cls: type[Any], name: str) -> Callable[[Any, Any], None]:
    """The setter of ``cls``'s slot ``name`` (``object.__setattr__`` if it is no slot).

    It sets a field of a frozen attrs class too (its ``__setattr__`` refuses), at half the
    cost of ``object.__setattr__``: for code that builds many instances of checked values.
    """
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            if isinstance(descriptor, types.MemberDescriptorType):
                setter: Callable[[Any, Any], None] = descriptor.__set__
                return setter
            break
    return lambda model, value: _set(model, name, value)


def _take_secrets(model: Any, spec: _Spec, data: dict[str, Any], route: str) -> None:
    """Move the secret fields out of the decoded answer into ``model``, converted now.

    What `load` keeps for later (and what the frames of a later loading error hold, which
    tracebacks with locals show) is then free of secrets. A secret that is missing or does
    not fit is reported by name, without its value and without a chained cause.
    """
    failed = None
    for name, wire in spec.secrets:
        if wire not in data:
            failed = failed or f"the key {wire!r} is missing"
            continue
        holder = {wire: data.pop(wire)}
        try:
            object.__setattr__(model, name, spec.fields[name][0](holder, route))
        except ResponseValidationError:
            failed = failed or f"{name} has the wrong type or format (the value is not quoted)"
        holder.clear()
    if failed is not None:
        raise ResponseValidationError(
            f"the response to {route} did not fit: {type(model).__name__}: {failed}"
        )


def load_list(data: Any, cls: type[M], route: str) -> list[M]:
    """`load` each object of a decoded JSON array."""
    if type(data) is not list:
        _fail(route, f"expected an array of {cls.__name__}, got {json_kind(data)}")
    return [load(item, cls, route) for item in data]


def materialize(model: M) -> M:
    """Convert every field of a lazily loaded model now, then drop the decoded JSON it kept.

    For answers that hold secrets: afterwards the model holds only its own fields (whose
    values redact themselves), and no field can fail later, in a frame whose locals a
    traceback would show.

    Raises:
        ResponseValidationError: a field does not fit its type. The message names the field,
            never the value, and the error is not chained to the loader's (whose frames hold
            the decoded JSON).
    """
    failed: str | None = None
    cls: type[Any] = type(model)
    for field in attrs.fields(cls):
        try:
            getattr(model, field.name)
        except ResponseValidationError:
            failed = field.name
            break
    route = getattr(model, "_route", None)
    with contextlib.suppress(AttributeError):  # built with keywords: nothing was kept
        object.__delattr__(model, "_wire")
    if failed is not None:
        where = f"the response to {route}" if route else "the value"
        raise ResponseValidationError(
            f"{where} did not fit: {cls.__name__}.{failed} has the wrong type or "
            "format (the value is not quoted)"
        )
    return model


# Field loaders, chosen once per field from its annotation.


def _is_str(value: Any, route: str) -> str:
    if type(value) is not str:
        raise TypeError(f"expected a string, got {json_kind(value)}")
    return value


def _is_int(value: Any, route: str) -> int:
    if type(value) is not int:
        raise TypeError(f"expected an integer, got {json_kind(value)}")
    return value


def _is_float(value: Any, route: str) -> float:
    if type(value) is not float and type(value) is not int:
        raise TypeError(f"expected a number, got {json_kind(value)}")
    try:
        return float(value)
    except OverflowError:  # an integer with hundreds of digits
        raise ValueError("expected a number, got an integer too large for a float") from None


def _is_bool(value: Any, route: str) -> bool:
    if type(value) is not bool:
        raise TypeError(f"expected a boolean, got {json_kind(value)}")
    return value


def _as_is(value: Any, route: str) -> Any:
    return value


_FRACTION = re.compile(r"\.(\d+)")


def parse_datetime(value: str) -> datetime:
    """Parse an ISO-8601 timestamp into an aware datetime (UTC when no offset is given).

    Accepts a trailing ``Z`` and any number of fractional digits, which
    `datetime.fromisoformat` does not on Python 3.10.
    """
    try:
        parsed = datetime.fromisoformat(value)  # fast path: Python 3.11+ takes the wire format
    except ValueError:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        text = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), text, count=1)
        parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def _is_datetime(value: Any, route: str) -> datetime:
    if type(value) is not str:
        raise TypeError(f"expected an ISO-8601 string, got {json_kind(value)}")
    return parse_datetime(value)


_SIMPLE: dict[Any, Loader] = {
    str: _is_str,
    int: _is_int,
    float: _is_float,
    bool: _is_bool,
    datetime: _is_datetime,
    Any: _as_is,
    object: _as_is,
}


def _loader_for(tp: Any) -> Loader:
    simple = _SIMPLE.get(tp)
    if simple is not None:
        return simple
    if isinstance(tp, type) and issubclass(tp, WireModel):
        return functools.partial(_load_nested, tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in args if arg is not type(None)]
        union = functools.reduce(operator.or_, members)
        inner: Loader
        if union in _OPEN_UNIONS:
            inner = _OPEN_UNIONS[union].load
        elif len(members) == 1:
            inner = _loader_for(members[0])
        else:
            return _cattrs_loader(tp)
        if len(members) == len(args):
            return inner
        return functools.partial(_optional, inner)
    if tp in _OPEN_UNIONS:
        return _OPEN_UNIONS[tp].load
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return functools.partial(_homogeneous, _loader_for(args[0]))
        return functools.partial(_fixed, tuple(_loader_for(arg) for arg in args))
    if origin in (dict, Mapping, typing.Mapping):
        value_loader = _loader_for(args[1]) if len(args) == 2 else _as_is
        return functools.partial(_mapping, value_loader)
    if origin is typing.Literal:
        return _as_is
    return _cattrs_loader(tp)


def _load_nested(cls: type[M], value: Any, route: str) -> M:
    return loader_of(cls)(value, route)


def _optional(inner: Loader, value: Any, route: str) -> Any:
    return None if value is None else inner(value, route)


def _homogeneous(inner: Loader, value: Any, route: str) -> tuple[Any, ...]:
    if type(value) is not list:
        raise TypeError(f"expected an array, got {json_kind(value)}")
    return tuple([inner(item, route) for item in value])


def _fixed(inners: tuple[Loader, ...], value: Any, route: str) -> tuple[Any, ...]:
    if type(value) is not list or len(value) != len(inners):
        raise TypeError(f"expected an array of {len(inners)} items, got {value!r}")
    return tuple([inner(item, route) for inner, item in zip(inners, value, strict=True)])


def _mapping(inner: Loader, value: Any, route: str) -> dict[str, Any]:
    if type(value) is not dict:
        raise TypeError(f"expected an object, got {json_kind(value)}")
    if inner is _as_is:
        return value
    return {key: inner(item, route) for key, item in value.items()}


def _is_cattrs_error(error: Exception) -> bool:
    """Whether ``error`` is cattrs' own (only raised once cattrs is imported)."""
    module = sys.modules.get("cattrs")
    return module is not None and isinstance(error, module.BaseValidationError)


def _cattrs_loader(tp: Any) -> Loader:
    def load_with_cattrs(value: Any, route: str) -> Any:
        return converter().structure(value, tp)

    return load_with_cattrs


# Open unions.


@attrs.frozen
class OpenUnion:
    """A union tagged by ``tag``: known tags load their class, others load ``fallback``.

    The fallback class keeps what it does not model (for example a field holding the whole
    object), so nothing the API sends is lost.
    """

    tag: str
    members: Mapping[str, type[WireModel]]
    fallback: type[WireModel]

    def load(self, value: Any, route: str) -> Any:
        """Load one tagged object as its member class (or the fallback)."""
        if type(value) is not dict or type(value.get(self.tag)) is not str:
            raise TypeError(f"expected an object with a string {self.tag!r}")
        return load(value, self.members.get(value[self.tag], self.fallback), route)


_OPEN_UNIONS: dict[Any, OpenUnion] = {}


def register_open_union(
    union: Any,
    *,
    tag: str,
    members: Mapping[str, type[WireModel]],
    fallback: type[WireModel],
) -> OpenUnion:
    """Declare ``union`` (``A | B | Fallback``) as tagged on the key ``tag``.

    Fields annotated with ``union`` (alone, optional, or in a tuple) load through it, and each
    member unstructures with its tag added. The fallback unstructures as its own fields.
    """
    open_union = OpenUnion(tag=tag, members=dict(members), fallback=fallback)
    _OPEN_UNIONS[union] = open_union
    for tag_value, cls in members.items():
        # A class that models the tag as a field (one class for several tags, as webhook
        # events are) sends its own value; the others get theirs added.
        if all(_wire_of(field) != tag for field in attrs.fields(cls)):  # type: ignore[arg-type]
            _TAGS[cls] = (tag, tag_value)
    return open_union


_TAGS: dict[type[Any], tuple[str, str]] = {}


# The converter: unstructuring for every model, from one factory.


def _is_model(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, WireModel) and attrs.has(cls)


def _make_unstructure(cls: type[Any]) -> Callable[[Any], Any]:
    """Generate the function that turns one ``cls`` into a JSON-ready dict.

    Straight-line code, like cattrs' own generated functions, with each field's conversion
    chosen once from its annotation: plain values are copied, models are dispatched on
    their class, tuples become lists, and a field equal to its default is left out
    (``is not None`` / ``is not UNSET`` for those defaults, so no ``__eq__`` runs).
    """
    fields = attrs.fields(cls)
    wires = {field.name: _wire_of(field) for field in fields}
    whole = [name for name, wire in wires.items() if wire == _WHOLE]
    if whole:
        # A fallback union member: its payload goes out as it came, with its tag fields.
        payload_name = whole[0]
        others = [(name, wire) for name, wire in wires.items() if name != payload_name]

        def unstructure_fallback(model: Any) -> dict[str, Any]:
            data = dict(getattr(model, payload_name))
            for name, wire in others:
                data[wire] = dump(getattr(model, name))
            return data

        _DUMPERS[cls] = unstructure_fallback
        return unstructure_fallback
    hints = typing.get_type_hints(cls)
    namespace: dict[str, Any] = {"UNSET": UNSET}
    lines = [f"def unstructure_{cls.__name__}(m):", "    res = {}"]
    tagged = _TAGS.get(cls)
    if tagged is not None:
        lines.append(f"    res[{tagged[0]!r}] = {tagged[1]!r}")
    nested: list[tuple[str, tuple[str, ...]]] = []
    for index, field in enumerate(fields):
        wire = wires[field.name]
        if field.metadata.get(_RESPONSE_ONLY):
            continue
        if isinstance(wire, tuple):
            nested.append((field.name, wire))
            continue
        hook = _dump_hook_for(hints[field.name], none_left_out=field.default is None)
        value = "v"
        if hook is not None:
            namespace[f"h{index}"] = hook
            value = f"h{index}(v)"
        lines.append(f"    v = m.{field.name}")
        assign = f"res[{wire!r}] = {value}"
        default = field.default
        if default is attrs.NOTHING:
            lines.append(f"    {assign}")
        elif default is None:
            lines.append(f"    if v is not None: {assign}")
        elif default is UNSET:
            lines.append(f"    if v is not UNSET: {assign}")
        else:
            if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
                default = default.factory()
            namespace[f"d{index}"] = default
            lines.append(f"    if v != d{index}: {assign}")
    for name, path in nested:
        lines.append("    target = res")
        for key in path[:-1]:
            lines.append(f"    target = target.setdefault({key!r}, {{}})")
        lines.append(f"    target[{path[-1]!r}] = dump(m.{name})")
        namespace["dump"] = dump
    lines.append("    return res")
    exec(
        compile("\n".join(lines), f"<linq_async unstructure {cls.__qualname__}>", "exec"), namespace
    )
    function: Callable[[Any], Any] = namespace[f"unstructure_{cls.__name__}"]
    _DUMPERS[cls] = function
    return function


_DUMPERS: dict[type[Any], Callable[[Any], Any]] = {}


def _dumper_of(cls: type[Any]) -> Callable[[Any], Any]:
    """A model class's generated unstructure function (made once, shared with cattrs)."""
    return _DUMPERS.get(cls) or _make_unstructure(cls)


def dump(value: Any) -> Any:
    """Unstructure one value by its own class (a model of any kind, or anything cattrs knows).

    Public as `unstructure`: turns a model (or a list of them) into JSON-ready data, leaving
    unset options out. A model's generated function is made on its first dump and called
    directly after that (no dispatch); a JSON scalar is returned as it is; anything else
    (a datetime, a list, a dict) goes through the cattrs `converter`.
    """
    cls = value.__class__
    function = _DUMPERS.get(cls)
    if function is not None:
        return function(value)
    if cls in _PLAIN:
        return value
    if _is_model(cls):
        return _make_unstructure(cls)(value)
    return converter().unstructure(value)


def _dump_list(value: Any) -> list[Any]:
    return [dump(item) for item in value]


_PLAIN = frozenset({str, int, float, bool, type(None)})


def _dump_hook_for(tp: Any, *, none_left_out: bool = False) -> Callable[[Any], Any] | None:
    """How a field of type ``tp`` is unstructured (``None``: copied as it is).

    ``none_left_out``: the field is left off the wire when ``None`` (its default), so the
    hook never sees ``None`` and needs no check for it.
    """
    if tp in _PLAIN or tp is Any or tp is object or tp is JSONObject:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in args if arg is not type(None)]
        if all(member in _PLAIN for member in members):
            return None
        if len(members) == 1:
            inner = _dump_hook_for(members[0])
            if inner is None or len(members) == len(args) or none_left_out:
                return inner
            return functools.partial(_optional_dump, inner)
        return dump if none_left_out else _optional_dump_any
    if origin is tuple or origin is list:
        items = args[:1] if len(args) == 2 and args[1] is Ellipsis else args
        if all(item in _PLAIN for item in items):
            return list
        return _dump_list
    if origin in (dict, Mapping, typing.Mapping) and len(args) == 2 and args[1] in _PLAIN:
        return dict
    return dump


def _optional_dump(inner: Callable[[Any], Any], value: Any) -> Any:
    return None if value is None else inner(value)


def _optional_dump_any(value: Any) -> Any:
    return None if value is None else dump(value)


def _unstructure_datetime(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


_CONVERTER: list[JsonConverter] = []
_CONVERTER_LOCK = threading.Lock()


def converter() -> JsonConverter:
    """The package's one cattrs converter (JSON preconfiguration), made on first use.

    It unstructures models through the same generated functions as `dump`, datetimes as
    ISO 8601 with ``Z``, and structures datetimes and `Secret` fields. cattrs is imported
    here, not with the package: sending and reading models never needs it.
    """
    if not _CONVERTER:
        with _CONVERTER_LOCK:  # (two threads' first uses make one converter)
            if not _CONVERTER:
                from cattrs.preconf.json import make_converter

                made = make_converter()
                made.register_unstructure_hook(datetime, _unstructure_datetime)
                made.register_unstructure_hook_factory(_is_model, _dumper_of)
                made.register_structure_hook(datetime, lambda value, _: _is_datetime(value, ""))
                made.register_structure_hook_func(is_secret, load_secret)
                _CONVERTER.append(made)
    return _CONVERTER[0]


unstructure = dump
"""Turn a model (or a list of them) into JSON-ready data, leaving unset options out (`dump`)."""


def unknown_keys(data: Any, cls: type[Any], *, where: str = "") -> list[str]:
    """List the keys of ``data`` (recursively) that ``cls`` does not model: drift detection.

    Loading tolerates unknown keys, as it must; tests call this on the fake's answers so a
    field the models miss shows up.
    """
    if type(data) is not dict or not _is_model(cls):
        return []
    hints = typing.get_type_hints(cls)
    plain: dict[str, Any] = {}
    nested: dict[tuple[str, ...], Any] = {}
    for field in attrs.fields(cls):
        wire = _wire_of(field)
        if wire == _WHOLE:
            return []
        if isinstance(wire, tuple):
            nested[wire] = hints[field.name]
        else:
            plain[wire] = hints[field.name]
    found: list[str] = []
    tagged = _TAGS.get(cls)
    for key, value in data.items():
        if key not in plain:
            if tagged is None or key != tagged[0]:
                found.append(f"{where}{key}")
            continue
        inner = [path[1] for path in nested if path[0] == key and len(path) == 2]
        if inner and type(value) is dict:
            value = {k: v for k, v in value.items() if k not in inner}
        found += _unknown_in(value, plain[key], f"{where}{key}.")
    for path, tp in nested.items():
        value = data
        for key in path:
            value = value.get(key) if type(value) is dict else None
        found += _unknown_in(value, tp, f"{where}{'.'.join(path)}.")
    return found


def _unknown_in(value: Any, tp: Any, where: str) -> list[str]:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or origin is types.UnionType:
        members = [arg for arg in args if arg is not type(None)]
        union = functools.reduce(operator.or_, members)
        if union in _OPEN_UNIONS and type(value) is dict:
            open_union = _OPEN_UNIONS[union]
            member = open_union.members.get(str(value.get(open_union.tag)), open_union.fallback)
            return unknown_keys(value, member, where=where)
        if len(members) == 1:
            return _unknown_in(value, members[0], where)
        return []
    if tp in _OPEN_UNIONS:
        return _unknown_in(value, tp | None, where)
    if origin is tuple and type(value) is list:
        inner = args[0] if len(args) == 2 and args[1] is Ellipsis else None
        if inner is None:
            return []
        found: list[str] = []
        for index, item in enumerate(value):
            found += _unknown_in(item, inner, f"{where}{index}.")
        return found
    if _is_model(tp):
        return unknown_keys(value, tp, where=where)
    return []
