"""Local checks of arguments, run before any I/O so a bad call never half-sends.

Each check returns the value it accepted (so calls read ``body = check_x(value)``) or raises
`LinqUsageError` naming the argument. Closed sets (effects, services ...) are the API's
documented values; the server stays the judge of everything this module cannot know.
"""

from __future__ import annotations

import inspect
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, TypeGuard

from ._errors import LinqUsageError

MAX_ATTACHMENT_BYTES = 104_857_600
"""The largest pre-uploaded attachment, 100 MiB."""
MAX_FILENAME_CHARS = 255
MAX_IDEMPOTENCY_KEY_CHARS = 255
MAX_PAGE_LIMIT = 100
MAX_URL_CHARS = 2048
"""The longest URL the API takes (links, media and icon URLs)."""

# E.164: "+", a non-zero digit, then 7 to 14 more. [0-9], not \d: \d also matches Arabic-Indic
# and full-width digits, which are not E.164.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")
# The host right after "https://": something other than a path, query, fragment or userinfo.
_URL_HOST = re.compile(r"[^/?#@\s]")
# Apple IDs: as strict as the API (and the fake) are.
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_CURRENCY = re.compile(r"[A-Za-z]{3}")
# Printable ASCII, inner spaces allowed: what an HTTP header carries unchanged.
_KEY_CHARS = re.compile(r"[!-~](?:[ -~]*[!-~])?")

SCREEN_EFFECTS = frozenset(
    {
        "confetti",
        "fireworks",
        "lasers",
        "sparkles",
        "celebration",
        "hearts",
        "love",
        "balloons",
        "happy_birthday",
        "echo",
        "spotlight",
    }
)
"""Names of ``screen`` effects."""
BUBBLE_EFFECTS = frozenset({"slam", "loud", "gentle", "invisible"})
"""Names of ``bubble`` effects."""
SERVICES = frozenset({"iMessage", "SMS", "RCS"})
"""Values of ``preferred_service``."""


def _one_of(value: object, allowed: frozenset[str], what: str) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise LinqUsageError(f"{what} must be one of {', '.join(sorted(allowed))}; got {value!r}")
    return value


def check_phone(handle: object, *, what: str) -> str:
    """Return ``handle`` if it is an E.164 phone number (``+`` and 8-15 ASCII digits).

    A `str` subclass is checked and returned as its plain value (`plain_str`).
    """
    if type(handle) is not str:
        handle = plain_str(handle)
    if type(handle) is not str or not _E164.fullmatch(handle):
        raise LinqUsageError(
            f"{what} must be an E.164 phone number such as '+12223334444', got {handle!r}"
        )
    return handle


def is_email(handle: str) -> bool:
    """Whether ``handle`` is an email address (an Apple ID) the API takes as a handle."""
    return _EMAIL.fullmatch(handle) is not None


def recipient_key(handle: str) -> str:
    """What makes two handles the same recipient: an email's case does not count.

    ``handle`` is checked already: an E.164 number (one spelling per number) or an email.
    """
    return handle.lower() if "@" in handle else handle


def check_handle(handle: object, *, what: str) -> str:
    """Return ``handle`` if it is an E.164 phone number or an email address (Apple ID).

    A `str` subclass is checked and returned as its plain value (`plain_str`): its own
    ``lower``, ``__hash__`` or ``__str__`` would otherwise decide how it is keyed and sent.
    """
    if type(handle) is not str:
        handle = plain_str(handle)
    if type(handle) is str and (_E164.fullmatch(handle) or _EMAIL.fullmatch(handle)):
        return handle
    raise LinqUsageError(
        f"{what} must be an E.164 phone number such as '+12223334444' or an email address, "
        f"got {handle!r}"
    )


def check_recipients(to: object) -> tuple[str, ...]:
    """Normalise ``to`` (one handle or several) to a non-empty tuple of valid handles."""
    if type(to) is str:  # one handle, the common case
        return (check_handle(to, what="each recipient in to"),)
    if isinstance(to, str):
        given: tuple[object, ...] = (to,)
    elif isinstance(to, Iterable) and not isinstance(to, (bytes, bytearray)):
        given = tuple(to)
    else:
        raise LinqUsageError(f"to must be a handle or a list of handles, got {to!r}")
    if not given:
        raise LinqUsageError("to must name at least one recipient")
    handles = tuple(check_handle(handle, what="each recipient in to") for handle in given)
    if len({recipient_key(handle) for handle in handles}) != len(handles):
        raise LinqUsageError(
            f"to lists a recipient more than once (emails compare without regard to case): "
            f"{list(handles)!r}"
        )
    return handles


def check_string(value: object, *, what: str) -> str:
    """Return ``value`` if it is a non-empty string without lone surrogates.

    A `str` subclass is checked and returned as its plain value (`plain_str`).
    """
    if type(value) is not str:
        value = plain_str(value)
    if type(value) is not str or not value:
        raise LinqUsageError(f"{what} must be a non-empty string, got {value!r}")
    return value if value.isascii() else check_no_lone_surrogates(value, what=what)


def check_optional_string(value: object, *, what: str) -> str | None:
    """`check_string`, or ``None``."""
    return None if value is None else check_string(value, what=what)


def check_no_lone_surrogates(value: str, *, what: str) -> str:
    """Refuse text that cannot be encoded as UTF-8 (a lone surrogate from bad decoding)."""
    if value.isascii():  # the common case, and no copy made
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise LinqUsageError(
            f"{what} holds a lone surrogate ({value[exc.start : exc.end]!r} at index "
            f"{exc.start}), which cannot be sent as UTF-8"
        ) from None
    return value


def has_space_or_control(text: str) -> bool:
    """Whether ``text`` holds whitespace or an ASCII control character (DEL included):
    what no URL sent or fetched as given may hold."""
    return any(char.isspace() or ord(char) < 0x20 or ord(char) == 0x7F for char in text)


def url_flaw(value: str, scheme: str) -> str | None:
    """What makes ``value`` (which starts with ``scheme``) unusable as a web URL, if anything.

    The API fetches such URLs as given, so there must be a host right after the scheme,
    and no whitespace, control character or lone surrogate anywhere.
    """
    if _URL_HOST.match(value, len(scheme)) is None:
        return "has no host"
    if has_space_or_control(value):
        return "holds whitespace or a control character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "holds a lone surrogate"
    return None


def check_https_url(value: object, *, what: str, max_len: int = MAX_URL_CHARS) -> str:
    """Return ``value`` if it is an ``https://`` URL with a host, up to ``max_len`` characters.

    Whitespace, control characters and lone surrogates are refused: the API fetches the URL
    as given.
    """
    flaw = None
    if isinstance(value, str) and value.startswith("https://") and len(value) <= max_len:
        flaw = url_flaw(value, "https://")
        if flaw is None:
            return value
    shown = value if not isinstance(value, str) or len(value) <= 80 else value[:80] + "..."
    because = "" if flaw is None else f" (this one {flaw})"
    raise LinqUsageError(
        f"{what} must be an https:// URL of at most {max_len} characters{because}, got {shown!r}"
    )


def is_async_callable(callback: object) -> bool:
    """Whether calling ``callback`` makes a coroutine: an ``async def`` function, a
    ``functools.partial`` of one, or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(callback) or inspect.iscoroutinefunction(
        getattr(callback, "__call__", None)  # noqa: B004  (the method, not callable())
    )


def check_callback(callback: object, *, what: str, may_be_async: bool = False) -> None:
    """Refuse a callback that is neither ``None`` nor callable, before anything is sent.

    Without ``may_be_async``, the callback is called where nothing can be awaited (as the
    bytes of a transfer move), so an ``async def`` one is refused too: its coroutine would
    be made and dropped, and the callback would never run.
    """
    if callback is None:
        return
    if not callable(callback):
        raise LinqUsageError(f"{what} must be a function or None, got {callback!r}")
    if not may_be_async and is_async_callable(callback):
        raise LinqUsageError(
            f"{what} must be a plain function, not async: it is called as the bytes move, "
            f"where nothing can be awaited (an async one would never run); got {callback!r}"
        )


def plain_result(result: object, *, what: str) -> None:
    """Refuse what a plain callback returned if it is awaitable (it cannot be awaited).

    A coroutine is closed first, so it is not left behind unawaited.

    Raises:
        LinqUsageError: ``result`` is awaitable.
    """
    if inspect.isawaitable(result):
        close = getattr(result, "close", None)
        if inspect.iscoroutine(result) and close is not None:
            close()
        raise LinqUsageError(
            f"{what} returned an awaitable ({type(result).__name__}), which cannot be awaited "
            "where it is called: pass a plain function"
        )


def check_text(text: object) -> str | None:
    """Return ``text`` if it is ``None`` or a non-empty string without lone surrogates."""
    if text is None:
        return None
    return check_string(text, what="text")


def check_part_text(value: object) -> str:
    """The ``value`` of a text part: a non-empty string without lone surrogates."""
    return check_string(value, what="a text part's value")


def check_filename(filename: object) -> str:
    """Return ``filename`` in Unicode NFC form if it is 1 to 255 characters long then.

    macOS spells names in NFD (``e`` + a combining accent); NFC is what other systems show
    and what the length limit is meant for, so the name is normalised before it is counted
    and sent. A lone surrogate (undecodable bytes in a file name) is refused.
    """
    if isinstance(filename, str):
        check_no_lone_surrogates(filename, what="filename")
        filename = unicodedata.normalize("NFC", filename)
    if not isinstance(filename, str) or not 1 <= len(filename) <= MAX_FILENAME_CHARS:
        shown = filename if not isinstance(filename, str) else f"{len(filename)} characters"
        raise LinqUsageError(
            f"filename must be 1 to {MAX_FILENAME_CHARS} characters, got {shown!r}"
        )
    return filename  # NFC neither makes nor mends a lone surrogate: checked above


def check_size(size: int) -> int:
    """Return ``size`` if an attachment of that many bytes is allowed (1 to 100 MiB)."""
    if not 1 <= size <= MAX_ATTACHMENT_BYTES:
        raise LinqUsageError(
            f"an attachment must be 1 to {MAX_ATTACHMENT_BYTES:,} bytes (100 MiB), got {size:,}"
        )
    return size


def check_int(
    value: object, *, what: str, low: int, high: int | None = None, expected: str | None = None
) -> int:
    """Return ``value`` if it is an int (not a bool) from ``low`` to ``high``.

    With ``expected``, every refusal says ``{what} must be {expected}, got {value!r}``.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        if expected is not None:
            raise LinqUsageError(f"{what} must be {expected}, got {value!r}")
        raise LinqUsageError(f"{what} must be an int, got {value!r}")
    if value < low or (high is not None and value > high):
        if expected is not None:
            raise LinqUsageError(f"{what} must be {expected}, got {value!r}")
        upper = "" if high is None else f" to {high}"
        raise LinqUsageError(f"{what} must be {low}{upper}, got {value}")
    return value


def check_limit(limit: object) -> int | None:
    """A page size: ``None`` (the API's default) or 1 to 100."""
    if limit is None:
        return None
    return check_int(limit, what="limit", low=1, high=MAX_PAGE_LIMIT)


def check_bool(value: object, *, what: str) -> bool | None:
    """Return ``value`` if it is ``None`` or a bool."""
    if value is not None and not isinstance(value, bool):
        raise LinqUsageError(f"{what} must be True, False or None, got {value!r}")
    return value


def plain_str(value: object) -> object:
    """A ``str`` subclass's plain string value; anything else as it is.

    A subclass may spell itself otherwise (its own ``__str__``, ``__format__``, ``__len__``),
    and a value sent twice (an idempotency key in the body and the header) or hashed into
    a key (a campaign id) must have one spelling. ``issubclass`` of the type, not
    ``isinstance``: a mock or a proxy may claim ``__class__`` is ``str``.
    """
    if type(value) is not str and issubclass(type(value), str):
        return str.__str__(value)
    return value


def as_given(value: object) -> str:
    """How a refused value is named where it is reported: a string as its plain value
    (`plain_str`), anything else as ``<type name object>``.

    Not a check: for naming what a check refused (a campaign outcome's recipient), where
    ``str()`` or ``repr()`` would let the object spell itself as some valid value.
    """
    plain = plain_str(value)
    return plain if type(plain) is str else f"<{type(value).__qualname__} object>"


def check_idempotency_key(key: object) -> str | None:
    """An idempotency key: ``None`` (one is minted) or 1 to 255 printable ASCII characters.

    Some endpoints send the key in the ``Idempotency-Key`` header as well as in the body,
    and the two must agree. A header cannot carry control characters (aiohttp refuses
    them), drops leading and trailing whitespace, and may reach the server in another
    encoding when it is not ASCII; so every key is held to what a header carries
    unchanged: ASCII from ``!`` to ``~``, with inner spaces allowed.
    """
    if key is None:
        return None
    key = plain_str(key)  # sent in the body and the header alike: one spelling
    if type(key) is not str or not 1 <= len(key) <= MAX_IDEMPOTENCY_KEY_CHARS:
        raise LinqUsageError(
            f"idempotency_key must be a string of 1 to {MAX_IDEMPOTENCY_KEY_CHARS} characters, "
            f"got {key!r}"
        )
    if _KEY_CHARS.fullmatch(key) is None:
        if any(ord(char) < 32 or ord(char) == 127 for char in key):
            problem = "holds a control character"
        elif not key.isascii():
            problem = "must be printable ASCII"
        else:
            problem = "must not start or end with whitespace"
        raise LinqUsageError(
            f"idempotency_key {problem}, got {key!r}: it is also sent as the "
            "Idempotency-Key header, which must carry it unchanged"
        )
    return key


def check_service(service: object) -> str | None:
    """``preferred_service``: ``None`` or one of ``iMessage``, ``SMS``, ``RCS``."""
    if service is None:
        return None
    return _one_of(service, SERVICES, "preferred_service")


def check_effect(kind: object, name: object) -> None:
    """An effect: ``screen`` or ``bubble`` and a name of that kind."""
    _one_of(kind, frozenset({"screen", "bubble"}), "Effect.type")
    _one_of(name, SCREEN_EFFECTS if kind == "screen" else BUBBLE_EFFECTS, f"a {kind} effect's name")


def check_reply_index(index: object) -> None:
    """``ReplyTo.part_index``: ``None`` or an int >= 0."""
    if index is not None:
        check_int(index, what="ReplyTo.part_index", low=0)


def check_range(value: object) -> tuple[int, int]:
    """A ``[start, end)`` range: two ints with 0 <= start < end (UTF-16 code units)."""
    if (
        not isinstance(value, tuple)
        or len(value) != 2
        or any(isinstance(item, bool) or not isinstance(item, int) for item in value)
    ):
        raise LinqUsageError(f"a range must be a (start, end) tuple of two ints, got {value!r}")
    start, end = value
    if not 0 <= start < end:
        raise LinqUsageError(f"a range [start, end) needs 0 <= start < end, got {value!r}")
    return value


REACTION_TYPES = frozenset(
    {"love", "like", "dislike", "laugh", "emphasize", "question", "custom", "sticker"}
)
"""Values of a reaction's ``type``: the six tapbacks, ``custom`` (an emoji) and ``sticker``."""
THREAD_ORDERS = frozenset({"asc", "desc"})
"""Values of ``order`` when listing a thread."""
MIN_POLL_OPTIONS = 2


def check_reaction_type(value: object) -> str:
    """A reaction ``type``: one of `REACTION_TYPES`."""
    return _one_of(value, REACTION_TYPES, "type")


def check_order(value: object) -> str | None:
    """A thread ``order``: ``None`` (the API's default, oldest first), ``asc`` or ``desc``."""
    if value is None:
        return None
    return _one_of(value, THREAD_ORDERS, "order")


def _finite(value: float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int no float can hold
        return False


def is_number(
    value: object,
    *,
    above: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
) -> TypeGuard[float]:
    """Whether ``value`` is an int or a float (not a bool) above ``above``, below ``below``
    and at most ``at_most`` (each bound only if given). NaN is within no bound; an int too
    large for a float compares as the int it is."""
    return (
        not isinstance(value, bool)
        and isinstance(value, (int, float))
        and (above is None or value > above)
        and (below is None or value < below)
        and (at_most is None or value <= at_most)
    )


def check_number(
    value: object, *, what: str, low: float | None = None, high: float | None = None
) -> float:
    """Return ``value`` if it is a finite int or float (not a bool) from ``low`` to ``high``."""
    if not is_number(value):
        raise LinqUsageError(f"{what} must be a finite number, got {value!r}")
    if not _finite(value):
        shown = "an int too large for a float" if isinstance(value, int) else repr(value)
        raise LinqUsageError(f"{what} must be a finite number, got {shown}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise LinqUsageError(f"{what} must be from {low} to {high}, got {value!r}")
    return value


def check_phones(values: object, *, what: str, allow_empty: bool = False) -> tuple[str, ...]:
    """One E.164 number or several, as a tuple of plain strings (each checked, none twice)."""
    if isinstance(values, str):
        items: tuple[object, ...] = (values,)
    elif isinstance(values, Iterable) and not isinstance(values, (bytes, bytearray)):
        items = tuple(values)
    else:
        raise LinqUsageError(f"{what} must be a phone number or a list of them, got {values!r}")
    if not items and not allow_empty:
        raise LinqUsageError(f"{what} must name at least one phone number")
    numbers = tuple([check_phone(item, what=f"each number in {what}") for item in items])
    if len(set(numbers)) != len(numbers):
        raise LinqUsageError(f"{what} lists a number more than once: {list(numbers)!r}")
    return numbers


def check_amount(amount: object) -> int:
    """A money amount in minor units (cents): an int (not a bool) of at least 1."""
    return check_int(amount, what="amount (in minor units, e.g. cents)", low=1)


def check_currency(currency: object) -> str:
    """A currency: an ISO 4217 alphabetic code, three ASCII letters (``usd``), sent as given."""
    if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
        raise LinqUsageError(
            f"currency must be a three-letter ISO 4217 code such as 'usd', got {currency!r}"
        )
    return currency


def check_extra_body(extra: object, *, named: Iterable[str]) -> dict[str, Any] | None:
    """Extra JSON body fields: ``None``, or a mapping of string keys to JSON values.

    Keys that are named arguments of the method (``named``, as wire names) are refused, so
    the local checks of those arguments cannot be bypassed.
    """
    if extra is None:
        return None
    if not isinstance(extra, Mapping):
        raise LinqUsageError(f"extra_body must be a mapping, got {type(extra).__name__}")
    taken = set(named)
    for key in extra:
        if not isinstance(key, str) or not key:
            raise LinqUsageError(f"extra_body keys must be non-empty strings, got {key!r}")
        if key in taken:
            raise LinqUsageError(f"extra_body may not set {key!r}: pass it as {key}= instead")
    out = dict(extra)
    check_json_body(out, where="extra_body")
    return out


def check_poll_options(options: object, *, minimum: int) -> tuple[str, ...]:
    """Poll option texts: a list of at least ``minimum`` non-empty strings."""
    if isinstance(options, (str, bytes, bytearray)) or not isinstance(options, Iterable):
        raise LinqUsageError(f"options must be a list of option texts, got {options!r}")
    texts = tuple(options)
    if len(texts) < minimum:
        raise LinqUsageError(
            f"options needs at least {minimum} option text{'s' if minimum > 1 else ''}, "
            f"got {len(texts)}"
        )
    for index, text in enumerate(texts):
        check_string(text, what=f"options[{index}]")
    return texts


def check_json_body(value: object, *, where: str = "") -> None:
    """Refuse a value that strict JSON cannot carry, naming where the problem is.

    Bodies are built from checked models, but a few fields go out as the caller gave them
    (`UnknownPart.data`, an experience's ``params``, ``extra_body``): those are checked
    with this when they are built. ``json.dumps`` would raise a bare ``TypeError`` for a
    value it cannot encode, write ``NaN`` or ``Infinity`` (which is not JSON), turn a
    non-string key into a string, and escape a lone surrogate as ``\\ud800`` (which is not
    Unicode). The transport encodes strictly too, and calls this to name what failed.

    Raises:
        LinqUsageError: a value is not a string, a finite number, a bool, ``None``, a list
            or an object with string keys; or a string holds a lone surrogate.
    """
    pending: list[tuple[object, str]] = [(value, where)]
    while pending:
        item, where = pending.pop()
        if isinstance(item, str):
            if not item.isascii():
                check_no_lone_surrogates(item, what=where or "the request body")
        elif item is None or isinstance(item, (bool, int)):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                shown = where or "the request body"
                raise LinqUsageError(f"{shown} must be a finite number, got {item!r}")
        elif isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise LinqUsageError(
                        f"{where or 'the request body'} has a non-string key {key!r} "
                        "(JSON object keys are strings)"
                    )
                if not key.isascii():
                    check_no_lone_surrogates(key, what=f"a key of {where or 'the request body'}")
                pending.append((inner, f"{where}.{key}" if where else key))
        elif isinstance(item, (list, tuple)):
            pending.extend((inner, f"{where}[{index}]") for index, inner in enumerate(item))
        else:
            raise LinqUsageError(
                f"{where or 'the request body'} cannot be sent as JSON: a "
                f"{type(item).__name__} value (use strings, numbers, booleans, None, lists "
                "and dicts with string keys)"
            )
