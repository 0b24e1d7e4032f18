"""Send a file with a message in one awaited call: ``LinqSession.upload_and_send``.

Shows:

- the headline call: check locally, upload to a presigned URL (streamed in fixed chunks,
  so memory stays small whatever the file's size), then send the message;
- a tqdm progress bar for the upload (``linq_async.progress.upload_bar``; with the
  ``progress`` extra installed, else the example runs without it);
- what comes back: the upload (reusable), the chat and the message.

Run it::

    python examples/upload_and_send.py                      # a generated 3 MiB text file
    python examples/upload_and_send.py report.pdf --text "Your report" --to +15556667777

Without ``LINQ_API_KEY`` it runs against the embedded ``FakeLinqServer`` (no key, no
network) and says so on stderr. With it, it sends a real message from ``LINQ_FROM`` to
``--to`` (or ``LINQ_TO``); with the ``export`` lines of ``linq-async fake-server``, it
sends to that local fake instead.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from contextlib import ExitStack
from pathlib import Path

from _session import open_linq, progress, sample_file

from linq_async import LinqError, SendResult
from linq_async.progress import upload_bar


async def send(path: Path, *, to: str | None, text: str) -> SendResult:
    """Upload ``path`` and send it, with ``text``, to ``to`` (or the default recipient)."""
    async with open_linq() as target:
        recipient = target.recipient_or_exit(to)
        with progress(upload_bar, path.name) as on_progress:
            result = await target.linq.upload_and_send(
                path,
                from_=target.sender,
                to=recipient,
                text=text,
                on_progress=on_progress,
            )
        if target.fake is not None:
            # The fake keeps what it received: check the bytes arrived intact.
            stored = target.fake.attachments[result.upload.attachment_id]
            print(f"fake server stored {stored.size_bytes:,} bytes, status {stored.status}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="the file (default: a generated one)")
    parser.add_argument("--to", help="the recipient, E.164 or email (default: LINQ_TO)")
    parser.add_argument("--text", default="Here is the file we discussed.")
    args = parser.parse_args()
    if args.file is not None and not args.file.is_file():
        parser.error(f"no such file: {args.file}")

    with ExitStack() as stack:
        path: Path = args.file or stack.enter_context(sample_file("report.txt", 3 * 1024 * 1024))
        try:
            result = asyncio.run(send(path, to=args.to, text=args.text))
        except LinqError as exc:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1

    upload, message = result.upload, result.message
    print(f"attachment  {upload.attachment_id} {upload.filename} ({upload.content_type})")
    print(f"            {upload.size_bytes:,} bytes, reusable: pass the Upload to send it again")
    print(f"chat        {result.chat.id}")
    print(f"message     {message.id} status={message.delivery_status}")
    print(f"parts       {[type(part).__name__ for part in message.parts]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
