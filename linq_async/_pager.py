"""Pagination: `AsyncPager` over a list endpoint, one `Page` at a time or item by item."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from typing import Any, Generic, TypeVar

from ._errors import ResponseValidationError

__all__ = ["AsyncPager", "Page"]

T = TypeVar("T")

FetchPage = Callable[[str | None], Awaitable["Page[T]"]]
"""Fetches the page that starts at a cursor (``None``: the first page)."""


class Page(Generic[T]):
    """One page of a list endpoint.

    Attributes:
        items: the page's items, in the API's order.
        next_cursor: the cursor of the next page, or ``None`` on the last page (the API's
            ``null`` and ``""`` both end a list).
    """

    __slots__ = ("_fetch", "items", "next_cursor")

    def __init__(self, items: Sequence[T], next_cursor: str | None, fetch: FetchPage[T]) -> None:
        self.items = items
        self.next_cursor = next_cursor or None
        self._fetch = fetch

    def __repr__(self) -> str:
        return f"<Page of {len(self.items)} items, next_cursor={self.next_cursor!r}>"

    @property
    def has_next(self) -> bool:
        """Whether another page follows."""
        return self.next_cursor is not None

    async def next_page(self) -> Page[T] | None:
        """Fetch the next page, or return ``None`` after the last one."""
        if self.next_cursor is None:
            return None
        return await self._fetch(self.next_cursor)


class AsyncPager(Generic[T]):
    """What a paginated ``list`` returns: iterate items across pages, or work page by page.

    Nothing is fetched until you iterate or await:

    ```python
    async for chat in linq.chats.list(limit=50):      # every chat, page after page
        ...
    page = await linq.chats.list(limit=50)             # the first page only
    print(len(page.items), page.next_cursor)
    later = await linq.chats.list(limit=50).page(page.next_cursor)  # resume from a cursor
    ```
    """

    __slots__ = ("_fetch", "_label")

    def __init__(self, fetch: FetchPage[T], label: str) -> None:
        self._fetch = fetch
        self._label = label

    def __repr__(self) -> str:
        return f"<AsyncPager {self._label}>"

    async def page(self, cursor: str | None = None) -> Page[T]:
        """Fetch one page: the first, or the one starting at ``cursor``.

        Raises:
            LinqUsageError: ``cursor`` is not a cursor of this list (an empty string, not a
                string, a lone surrogate; a list that pages by offset takes a decimal
                offset), before anything is sent.
        """
        return await self._fetch(cursor)

    def __await__(self) -> Generator[Any, None, Page[T]]:
        return self.page().__await__()

    async def pages(self) -> AsyncIterator[Page[T]]:
        """Yield each page in turn, until the last.

        Raises:
            ResponseValidationError: the API returned a cursor it had already returned
                (a loop that would never end).
        """
        seen: set[str] = set()
        page: Page[T] | None = await self._fetch(None)
        while page is not None:
            yield page
            cursor = page.next_cursor
            if cursor is None:
                return
            if cursor in seen:
                raise ResponseValidationError(
                    f"the response to {self._label} repeated cursor {cursor!r}"
                )
            seen.add(cursor)
            page = await self._fetch(cursor)

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item
