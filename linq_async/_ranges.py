"""Text ranges as the API counts them: ``[start, end)`` in UTF-16 code units.

Python indexes strings by code point; the API (like iMessage itself) counts UTF-16 code
units, in which a character outside the Basic Multilingual Plane (most emoji) takes two.
``"hi 👋 there"`` is 10 code points but 11 code units, so ``"there"`` is ``(6, 11)`` on the
wire, not ``(5, 10)``. `utf16_range` does the conversion; `check_text_range` refuses a range
that could not be honoured (reversed, empty, past the end, or cutting an emoji in half).
"""

from __future__ import annotations

from ._errors import LinqUsageError
from ._validation import check_int, check_no_lone_surrogates, check_string

__all__ = ["TextUnits", "check_text_range", "utf16_length", "utf16_range"]

_LOW_SURROGATES = range(0xDC00, 0xE000)


def utf16_length(text: str) -> int:
    """The length of ``text`` in UTF-16 code units (what the API's ranges count)."""
    check_no_lone_surrogates(text, what="text")
    return len(text.encode("utf-16-le")) // 2


def utf16_range(text: str, substring: str, *, occurrence: int = 0) -> tuple[int, int]:
    """The ``(start, end)`` range of ``substring`` in ``text``, in UTF-16 code units.

    Use it for `TextDecoration.range`, ``TextPart.mention_range`` and `InlineSticker.range`,
    so emoji and other characters outside the Basic Multilingual Plane count as the API
    counts them:

    ```python
    text = "Lunch 🍕 at noon?"
    TextPart(
        value=text,
        text_decorations=[TextDecoration(range=utf16_range(text, "noon"), style="bold")],
    )
    ```

    Combining marks are code points of their own, so ``"e\\u0301"`` (e + combining acute)
    is 2 units long; pass the whole sequence to cover the accented letter.

    Args:
        text: the text part's ``value``.
        substring: the text to cover; not empty.
        occurrence: which occurrence of ``substring`` to take, 0 for the first. Occurrences
            do not overlap: in ``"aaaa"``, occurrence 1 of ``"aa"`` starts at 2.

    Returns:
        ``(start, end)``, with ``end`` exclusive.

    Raises:
        LinqUsageError: ``substring`` is empty, does not occur that many times, or either
            string holds a lone surrogate.
    """
    check_string(text, what="text")
    check_string(substring, what="substring")
    check_int(occurrence, what="occurrence", low=0)
    index = -len(substring)
    for _ in range(occurrence + 1):
        index = text.find(substring, index + len(substring))
        if index < 0:
            times = "once" if occurrence == 0 else f"{occurrence + 1} times"
            raise LinqUsageError(f"{substring!r} does not occur {times} in the text")
    start = utf16_length(text[:index])
    return start, start + utf16_length(substring)


class TextUnits:
    """A text's UTF-16 code units, encoded once to check many ranges against it."""

    __slots__ = ("_units", "length")

    def __init__(self, text: str) -> None:
        self._units = text.encode("utf-16-le")
        self.length = len(self._units) // 2

    def splits_pair(self, position: int) -> bool:
        """Whether ``position`` falls between the two halves of a surrogate pair."""
        if not 0 < position < self.length:
            return False
        unit = int.from_bytes(self._units[2 * position : 2 * position + 2], "little")
        return unit in _LOW_SURROGATES


def check_text_range(units: TextUnits, value: tuple[int, int], *, what: str) -> tuple[int, int]:
    """Refuse a ``[start, end)`` range that does not fit the text it applies to.

    ``value`` has already passed `linq_async._validation.check_range` (two ints,
    ``0 <= start < end``).

    Raises:
        LinqUsageError: the range runs past the end of the text, or starts or ends inside
            a surrogate pair (half an emoji).
    """
    start, end = value
    if end > units.length:
        raise LinqUsageError(
            f"{what} {list(value)} runs past the end of the text ({units.length} UTF-16 code "
            "units; use utf16_range() to compute ranges)"
        )
    for position in (start, end):
        if units.splits_pair(position):
            raise LinqUsageError(
                f"{what} {list(value)} cuts a character in half at UTF-16 unit {position} "
                "(a surrogate pair such as an emoji; use utf16_range() to compute ranges)"
            )
    return value
