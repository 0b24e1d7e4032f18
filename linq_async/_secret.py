"""`Secret`: a value (card data) that no repr, log record, traceback or pickle shows."""

from __future__ import annotations

import typing
from typing import Any, Generic, NoReturn, TypeVar

__all__ = ["Secret", "is_secret", "load_secret"]

T = TypeVar("T", str, int)

_SHOWN = "<secret>"


class Secret(Generic[T]):
    """A secret value from the API, such as a virtual card's number or CVC.

    Its ``repr`` and ``str`` are ``<secret>``, so printing or logging a model that holds it,
    its `attrs.asdict`, or a traceback whose locals hold it shows nothing. Pickling it is
    refused (a pickle would store the value in the clear); copying returns the same object.
    Read the value deliberately with `reveal`:

    ```python
    card = await linq.payments.credentials(payment_id)
    fill_checkout_form(number=card.number.reveal(), cvc=card.cvc.reveal())
    ```

    Two secrets are equal when their values are.
    """

    __slots__ = ("_value",)

    def __init__(self, value: T) -> None:
        object.__setattr__(self, "_value", value)

    def reveal(self) -> T:
        """The value itself. Keep it out of logs, reprs, exception messages and storage."""
        value: T = object.__getattribute__(self, "_value")
        return value

    def __repr__(self) -> str:
        return _SHOWN

    __str__ = __repr__

    def __setattr__(self, name: str, value: Any) -> NoReturn:
        raise AttributeError("a Secret cannot be changed")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        mine: object = self.reveal()
        theirs: object = other.reveal()
        return type(mine) is type(theirs) and mine == theirs

    def __hash__(self) -> int:
        return hash((Secret, self.reveal()))

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a Secret cannot be pickled: store secret.reveal() deliberately, if ever")

    def __copy__(self) -> Secret[T]:
        return self

    def __deepcopy__(self, memo: Any) -> Secret[T]:
        return self


def is_secret(tp: Any) -> bool:
    """Whether ``tp`` is `Secret` (or ``Secret[...]``): the converter's hook predicate."""
    return tp is Secret or typing.get_origin(tp) is Secret


def load_secret(value: Any, tp: Any) -> Secret[Any]:
    """Wrap a decoded JSON value as the `Secret` ``tp`` says (str or int)."""
    # The message names the type only: the value is the secret.
    args = typing.get_args(tp)
    want = args[0] if args else str
    if type(value) is not want:
        article = "an integer" if want is int else "a string"
        raise TypeError(f"expected {article}, got {type(value).__name__}")
    return Secret(value)
