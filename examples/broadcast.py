"""Broadcast a file to every recipient of a CSV file: ``LinqSession.broadcast``.

Shows:

- reading recipients from a CSV file (``examples/recipients.csv``: 20 fictional numbers);
- one upload, then one direct chat per recipient, at most ``--concurrency`` at a time,
  behind a tqdm progress bar that counts failures (``linq_async.progress.broadcast_bar``;
  with the ``progress`` extra installed, else without a bar);
- the per-recipient report: a summary of the failures, with each error's type and code;
- re-running with the same ``broadcast_id``: recipients already served get nothing twice.

Run it::

    python examples/broadcast.py                           # a generated flyer, the bundled CSV
    python examples/broadcast.py flyer.pdf --csv customers.csv --concurrency 8

Without ``LINQ_API_KEY`` it runs against the embedded ``FakeLinqServer`` and injects faults
so the summary has something to show: one 503 (retried, so nobody notices), one opted-out
recipient and one refusal of the sending line. It then re-runs the broadcast with the same id
to show that the 18 recipients already served get nothing twice.

With ``LINQ_API_KEY`` it sends real messages from ``LINQ_FROM``; ``--csv`` is then required,
since the bundled list holds fictional numbers (not so on a local server such as
``linq-async fake-server``, whose ``export`` lines point the example at it). To finish a
broadcast that had failures, run the same command again with the ``--broadcast-id`` it
prints.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from contextlib import ExitStack
from pathlib import Path

from _session import Target, note, open_linq, progress, sample_file, using_real_api

from linq_async import BroadcastReport, LinqError
from linq_async.progress import broadcast_bar

BUNDLED_CSV = Path(__file__).with_name("recipients.csv")


def read_recipients(path: Path) -> list[str]:
    """The ``phone`` column of a CSV file with a header row (other columns are ignored)."""
    with path.open(newline="", encoding="utf-8-sig") as rows:
        reader = csv.DictReader(rows)
        if reader.fieldnames is None or "phone" not in reader.fieldnames:
            raise SystemExit(f"error: {path} needs a header row with a 'phone' column")
        return [row["phone"].strip() for row in reader if row["phone"].strip()]


def inject_faults(target: Target) -> None:
    """On the fake server only: make a few sends fail, the way the real API can."""
    if target.fake is None:
        return
    fake = target.fake
    # Queued in order, each for the next POST /v3/chats: a transient 503 (retried by the
    # session, so no recipient fails), then two refusals that are final.
    fake.fail_next(503, method="POST", path="/v3/chats")
    fake.fail_next(
        403, code=2024, message="Recipient has opted out", method="POST", path="/v3/chats"
    )
    fake.fail_next(
        403,
        code=2027,
        message="Sending line is temporarily ineligible",
        method="POST",
        path="/v3/chats",
    )


def summarize(report: BroadcastReport) -> None:
    """Print the counts, then one line per failed recipient."""
    print(f"broadcast {report.broadcast_id}: {report.sent} sent, {report.failed} failed")
    for outcome in report.failures:
        print(f"  {outcome.recipient}  {type(outcome.error).__name__}: {outcome.error}")


async def run(
    file: Path, recipients: list[str], *, text: str, concurrency: int, broadcast_id: str | None
) -> BroadcastReport:
    """Broadcast ``file``, summarize, and on the fake server show a safe re-run."""
    async with open_linq() as target:
        inject_faults(target)
        with progress(broadcast_bar, len(recipients)) as on_recipient:
            report = await target.linq.broadcast(
                file,
                from_=target.sender,
                recipients=recipients,
                text=text,
                concurrency=concurrency,
                broadcast_id=broadcast_id,
                on_recipient=on_recipient,
            )
        summarize(report)
        if target.fake is None:
            if report.failed:
                note(
                    "To retry the failed recipients, run the same command with "
                    f"--broadcast-id {report.broadcast_id} (nobody gets a message twice)."
                )
            return report

        # The injected faults were one-off, so a re-run can now reach everyone. (On the real
        # API an opted-out recipient stays opted out; re-running is for transient failures.)
        before = len(target.fake.messages)
        print(f"re-running broadcast {report.broadcast_id} with the same id and recipients")
        report = await target.linq.broadcast(
            report.upload,  # already uploaded: no second upload
            from_=target.sender,
            recipients=recipients,
            text=text,
            concurrency=concurrency,
            broadcast_id=report.broadcast_id,
        )
        summarize(report)
        new = len(target.fake.messages) - before
        print(f"the re-run sent {new} new message(s): only to the recipients that had failed")
        return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", type=Path, help="the file (default: a generated one)")
    parser.add_argument("--csv", type=Path, help=f"recipients (default: {BUNDLED_CSV.name})")
    parser.add_argument("--text", default="Our spring sale starts today!")
    parser.add_argument("--concurrency", type=int, default=8, help="sends in flight (default: 8)")
    parser.add_argument("--broadcast-id", help="re-run this broadcast (default: a new one)")
    args = parser.parse_args()
    if args.file is not None and not args.file.is_file():
        parser.error(f"no such file: {args.file}")
    if args.csv is None and using_real_api():
        parser.error("--csv is required with LINQ_API_KEY: the bundled list is fictional")
    recipients = read_recipients(args.csv or BUNDLED_CSV)

    with ExitStack() as stack:
        file: Path = args.file or stack.enter_context(sample_file("spring-flyer.txt", 64 * 1024))
        try:
            report = asyncio.run(
                run(
                    file,
                    recipients,
                    text=args.text,
                    concurrency=args.concurrency,
                    broadcast_id=args.broadcast_id,
                )
            )
        except LinqError as exc:  # raised before any send: a bad argument, or the upload
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
            return 1
    return 1 if report.failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
