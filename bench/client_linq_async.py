"""linq-async, called the way its documentation tells a user to call it.

- ``send --path P``: an untimed setup (``upload()`` once for the media paths; a pool of
  chats for the paths that work on existing chats), then ``n`` calls of path P, each as a
  user writes a bulk loop: ``asyncio.gather`` over every call, at most ``concurrency``
  inside an ``asyncio.Semaphore``. Each call's result is read the way a caller would use
  it (its ids). ``broadcast`` is one ``broadcast(upload, recipients=..., concurrency=C)``.
- ``upload``: ``upload(path)`` (POST /v3/attachments, then the streamed PUT).

Run by ``bench.run`` as ``python -m bench.client_linq_async <workload> ...``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench._common import (
    MEDIA_PATHS,
    POOL_PATHS,
    SENDER,
    TEXT,
    SendTimer,
    Spec,
    gather_gated,
    pool_size,
    recipients,
    run,
    timed_uploads,
    warm_up,
    warmup_items,
)
from linq_async import LinqSession, RecipientOutcome, Upload


def _check(value: object) -> None:
    if not value:
        raise ValueError("a field the call returns is empty")


async def send(spec: Spec) -> dict[str, Any]:
    """Setup (untimed), then ``spec.n`` calls of ``spec.path``."""
    timer = SendTimer(spec)
    async with LinqSession(spec.api_key, base_url=spec.base_url) as linq:
        uploaded: Any = None
        if spec.path in MEDIA_PATHS:
            uploaded = await linq.upload(spec.file, content_type=spec.content_type)
        pool: list[str] = []
        if spec.path in POOL_PATHS:
            for handle in recipients(pool_size(spec), prefix="+1666"):
                pool.append((await linq.chats.create(from_=SENDER, to=handle, text=TEXT)).chat.id)
            timer.setup_messages = len(pool)

        if spec.path == "broadcast":
            await _broadcast(linq, uploaded, timer)
            return timer.result()

        async def create_chat(handle: str) -> None:
            created = await linq.chats.create(from_=SENDER, to=handle, text=TEXT)
            _check(created.chat.id and created.message.id)

        async def send_in_chat(index: int) -> None:
            message = await linq.chats.messages.send(pool[index % len(pool)], text=TEXT)
            _check(message.id)

        async def send_on_any_line(handle: str) -> None:
            sent = await linq.messages.send(to=handle, text=TEXT)
            _check(sent.chat_id and sent.message.id)

        async def upload_and_send(handle: str) -> None:
            result = await linq.upload_and_send(uploaded, from_=SENDER, to=handle, text=TEXT)
            _check(result.chat.id and result.message.id)

        async def get_chat(index: int) -> None:
            chat = await linq.chats.get(pool[index % len(pool)])
            _check(chat.id and chat.handles[0].handle)

        calls: dict[str, tuple[Callable[[Any], Awaitable[None]], list[Any]]] = {
            "chats.create": (create_chat, recipients(spec.n)),
            "chats.messages.send": (send_in_chat, list(range(spec.n))),
            "messages.send": (send_on_any_line, recipients(spec.n)),
            "upload_and_send": (upload_and_send, recipients(spec.n)),
            "chats.get": (get_chat, list(range(spec.n))),
        }
        call, items = calls[spec.path]
        warm = warmup_items(spec)
        await warm_up(gather_gated(warm, call, timer), len(warm), timer)
        timer.start()
        await gather_gated(items, call, timer)
        timer.stop()
    return timer.result()


async def _broadcast(linq: LinqSession, upload: Upload, timer: SendTimer) -> None:
    """One ``broadcast()`` to ``n`` recipients; per-recipient latency from completion times.

    ``broadcast`` hands the next recipient to whichever send finishes first (a worker pool
    over one iterator, or a FIFO semaphore: the same order), so recipient ``i`` starts when
    the ``(i - concurrency)``-th send completes and the first ``concurrency`` start at once.
    Reading the clock in ``on_recipient`` (and appending to lists; positions are matched
    after the clock stops) costs about what the timing around the bare client's requests
    does, and nothing inside linq-async is patched or traced.
    """
    handles = recipients(timer.spec.n)
    concurrency = timer.spec.concurrency
    clock = time.perf_counter
    finished: list[float] = []  # every completion, in order
    sent: list[str] = []  # the recipients sent, in completion order ...
    sent_at: list[float] = []  # ... and when (matched to positions after the clock stops)

    def on_recipient(outcome: RecipientOutcome) -> None:
        now = clock()
        finished.append(now)
        if outcome.error is not None:
            timer.error(outcome.error)
        else:
            _check(outcome.chat_id and outcome.message_id)
            sent.append(outcome.recipient)
            sent_at.append(now)

    warm = warmup_items(timer.spec)
    await warm_up(
        linq.broadcast(upload, from_=SENDER, recipients=warm, text=TEXT, concurrency=concurrency),
        len(warm),
        timer,
    )
    timer.start()
    started = clock()
    await linq.broadcast(
        upload,
        from_=SENDER,
        recipients=handles,
        text=TEXT,
        concurrency=concurrency,
        on_recipient=on_recipient,
    )
    timer.stop()
    index = {handle: position for position, handle in enumerate(handles)}
    ended = {index[recipient]: end for recipient, end in zip(sent, sent_at, strict=True)}
    for position, end in ended.items():
        begin = started if position < concurrency else finished[position - concurrency]
        timer.latencies.append(end - begin)


async def upload(spec: Spec) -> dict[str, Any]:
    """Upload ``spec.file`` ``spec.n`` times, one after another (see `timed_uploads`)."""
    async with LinqSession(spec.api_key, base_url=spec.base_url) as linq:

        async def once(each: Spec) -> str:
            done = await linq.upload(each.file, content_type=each.content_type)
            return done.attachment_id

        return await timed_uploads(spec, once)


if __name__ == "__main__":
    raise SystemExit(run({"send": send, "upload": upload}))
