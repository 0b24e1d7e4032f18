"""Progress bars for uploads and broadcasts, on tqdm (``pip install 'linq-async[progress]'``).

For example:

```python
from linq_async.progress import upload_bar

with upload_bar("report.pdf") as on_progress:
    await linq.upload_and_send("report.pdf", from_=..., to=..., on_progress=on_progress)
```

tqdm is imported only when a bar is made, so importing ``linq_async`` never needs it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ._errors import LinqUsageError
from .models import RecipientOutcome

if TYPE_CHECKING:
    from tqdm import tqdm as Tqdm

__all__ = ["broadcast_bar", "upload_bar"]


def _tqdm_class() -> type[Tqdm[Any]]:
    try:
        from tqdm.auto import tqdm
    except ImportError:
        raise LinqUsageError(
            "progress bars need tqdm: pip install 'linq-async[progress]'"
        ) from None
    cls: type[Tqdm[Any]] = tqdm
    return cls


def _tqdm(**options: Any) -> Tqdm[Any]:
    return _tqdm_class()(**options)


@contextmanager
def upload_bar(description: str = "upload", **options: Any) -> Iterator[Callable[[int, int], None]]:
    """A byte-counting bar; yields the ``on_progress(sent, total)`` callback to pass on.

    The bar appears with the first progress report, when the size is known, so it is drawn
    once with its total (no size-less line first); an upload that never starts draws none.

    Args:
        description: the bar's label.
        **options: passed on to ``tqdm`` (``file=``, ``disable=``, ``leave=`` ...).
    """
    tqdm = _tqdm_class()  # fails here, before the upload, when tqdm is missing
    bar: Tqdm[Any] | None = None

    def on_progress(sent: int, total: int) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(
                desc=description,
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                **options,
            )
        elif bar.total != total:
            bar.reset(total=total)
        bar.update(sent - bar.n)

    try:
        yield on_progress
    finally:
        if bar is not None:
            bar.close()


@contextmanager
def broadcast_bar(
    total: int, description: str = "broadcast", **options: Any
) -> Iterator[Callable[[RecipientOutcome], None]]:
    """A per-recipient bar counting failures; yields the ``on_recipient`` callback.

    Args:
        total: the number of recipients.
        description: the bar's label.
        **options: passed on to ``tqdm``.
    """
    bar = _tqdm(desc=description, total=total, unit="msg", **options)
    failed = 0

    def on_recipient(outcome: RecipientOutcome) -> None:
        nonlocal failed
        if not outcome.ok:
            failed += 1
            bar.set_postfix(failed=failed, refresh=False)
        bar.update(1)

    try:
        yield on_recipient
    finally:
        bar.close()
