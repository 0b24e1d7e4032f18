"""The tqdm progress helpers, driven by a real upload and a real broadcast."""

from __future__ import annotations

import io
import os
from pathlib import Path

from _support import RECIPIENT, SENDER

from linq_async import LinqSession
from linq_async.progress import broadcast_bar, upload_bar
from linq_async.testing import FakeLinqServer


async def test_upload_bar_counts_every_byte(linq: LinqSession, tmp_path: Path) -> None:
    """The bar ends at the file size, in bytes."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(1_500_000))
    out = io.StringIO()
    with upload_bar("clip.mp4", file=out, mininterval=0) as on_progress:
        await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=on_progress)
    assert "clip.mp4" in out.getvalue()
    assert "100%" in out.getvalue()


async def test_upload_bar_is_first_drawn_with_its_total(linq: LinqSession, tmp_path: Path) -> None:
    """The bar's first drawing already shows the file size: no size-less line before it."""
    path = tmp_path / "clip.mp4"
    path.write_bytes(os.urandom(300_000))
    out = io.StringIO()
    with upload_bar("clip.mp4", file=out, mininterval=0) as on_progress:
        await linq.upload_and_send(path, from_=SENDER, to=RECIPIENT, on_progress=on_progress)
    frames = [frame for frame in out.getvalue().split("\r") if frame.strip()]
    assert frames[0].startswith("clip.mp4:   0%|"), frames
    assert "?B/s]" not in frames[0].split("|")[0]


def test_upload_bar_draws_nothing_without_an_upload() -> None:
    """A bar whose upload never reported progress (it failed first) leaves no output."""
    out = io.StringIO()
    with upload_bar("never.bin", file=out, mininterval=0):
        pass
    assert out.getvalue() == ""


async def test_broadcast_bar_counts_recipients_and_failures(
    linq: LinqSession, fake: FakeLinqServer
) -> None:
    """The bar reaches the recipient count and shows the failures."""
    fake.fail_next(400, code=1005, method="POST", path="/v3/chats")
    out = io.StringIO()
    recipients = [f"+1555000000{n}" for n in range(5)]
    with broadcast_bar(len(recipients), file=out, mininterval=0) as on_recipient:
        report = await linq.broadcast(
            b"hello", filename="hi.txt", from_=SENDER, recipients=recipients,
            concurrency=1, on_recipient=on_recipient,
        )  # fmt: skip
    assert report.failed == 1
    assert "5/5" in out.getvalue()
    assert "failed=1" in out.getvalue()
