"""The ``linq-async`` command line: ``send``, ``upload``, ``broadcast``, ``fake-server``, ``demo``,
``webhooks`` (in ``_cli_webhooks.py``).

``python -m linq_async ...`` runs the same `main`.

It is built on `argparse` from the standard library, not on click or typer: the command
line needs only subcommands, a handful of options and help text, and a library that is
installed into other people's applications should not pull a CLI framework (and its version
pins) into their dependency trees for the sake of a convenience entry point.

The API key is read from the environment only (``LINQ_API_KEY``, or the official SDK's
``LINQ_API_V3_API_KEY``), never from a flag: a process's arguments are visible to every user
of the machine (``ps``, ``/proc/<pid>/cmdline``). The key is never printed, even in errors.

Exit status: 0 success; 1 the API, the upload or a broadcast recipient failed; 2 usage or
local validation error (nothing was sent); 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import shlex
import signal
import sys
import textwrap
import uuid
from collections.abc import Coroutine, Sequence
from typing import Any

import attrs

from . import _cli_campaign, _cli_webhooks
from ._cli_common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    KEY_HELP,
    PROG,
    CommandError,
    Console,
    Handler,
    Progress,
    add_command,
    add_common,
    add_message_options,
    check_message,
    file_label,
    open_session,
    port_number,
    read_recipients,
    upload_line,
    uploaded,
)
from ._errors import LinqError, LinqUsageError
from ._keys import check_campaign_id
from ._sending import MAX_CONCURRENCY
from ._upload import open_source
from ._validation import check_handle, check_phone, check_recipients
from ._version import __version__
from .models import MediaPart, Upload

__all__ = ["main"]

_EPILOG = f"""\
{KEY_HELP}

Try it without an account, against a local fake of the API:
  {PROG} fake-server        # in one terminal: prints the export lines to paste
  export LINQ_BASE_URL=... LINQ_API_KEY=...
  {PROG} send --from +12223334444 --to +15556667777 --text "Hello"
or run everything in one go: {PROG} demo

Exit status: 0 success; 1 the API, the upload or a broadcast recipient failed;
2 usage or local validation error (nothing was sent); 130 interrupted.
"""


class _ScrubbingFormatter(logging.Formatter):
    """Formats ``--debug`` log records with the API key, should any hold it, redacted."""

    def __init__(self, console: Console) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._console = console

    def format(self, record: logging.LogRecord) -> str:
        return self._console.scrub_block(super().format(record))


# The SDK's hints name its keyword arguments; on the command line they are options.
_KEYWORD_HINTS = re.compile(r"\b(content_type|filename)=\s?")


def _in_cli_terms(exc: LinqUsageError) -> LinqUsageError:
    """``exc`` with the keyword arguments its hint names spelled as this command's options."""
    text = str(exc)
    spelled = _KEYWORD_HINTS.sub(lambda m: "--" + m.group(1).replace("_", "-") + " ", text)
    return exc if spelled == text else LinqUsageError(spelled)


# Commands


async def _send(args: argparse.Namespace, console: Console) -> int:
    check_phone(args.from_, what="--from")
    for handle in args.to:
        check_handle(handle, what="--to")
    check_recipients(args.to)
    check_message(args)
    async with open_session(args, console) as linq:
        upload: Upload | None = None
        if args.attachment_id is not None:
            upload = await uploaded(linq, args.attachment_id)
            created = await linq.chats.create(
                from_=args.from_,
                to=args.to,
                text=args.text,
                parts=[MediaPart(attachment_id=upload.attachment_id)],
            )
            chat, message = created.chat, created.message
        elif args.file is None:
            created = await linq.chats.create(from_=args.from_, to=args.to, text=args.text)
            chat, message = created.chat, created.message
        else:
            with Progress(console.stderr).upload(file_label(args)) as on_progress:
                result = await linq.upload_and_send(
                    args.file,
                    from_=args.from_,
                    to=args.to,
                    text=args.text,
                    content_type=args.content_type,
                    filename=args.filename,
                    on_progress=on_progress,
                )
            chat, message, upload = result.chat, result.message, result.upload
    console.json(
        {
            "ok": True,
            "message_id": message.id,
            "chat_id": chat.id,
            "delivery_status": message.delivery_status,
            "to": list(args.to),
            "attachment": None if upload is None else attrs.asdict(upload),
        }
    )
    console.lines(
        f"message     {message.id} (status {message.delivery_status or 'unknown'})",
        f"chat        {chat.id} with {', '.join(args.to)}",
        *([] if upload is None else [upload_line(upload)]),
    )
    return EXIT_OK


async def _upload(args: argparse.Namespace, console: Console) -> int:
    open_source(args.path, filename=args.filename, content_type=args.content_type)
    label = args.filename or os.path.basename(args.path)
    async with open_session(args, console) as linq:
        with Progress(console.stderr).upload(label) as on_progress:
            upload = await linq.upload(
                args.path,
                content_type=args.content_type,
                filename=args.filename,
                on_progress=on_progress,
            )
    console.json({"ok": True, **attrs.asdict(upload)})
    console.lines(
        f"attachment_id  {upload.attachment_id}",
        f"download_url   {upload.download_url}",
    )
    return EXIT_OK


async def _broadcast(args: argparse.Namespace, console: Console) -> int:
    check_phone(args.from_, what="--from")
    check_message(args)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise LinqUsageError(f"--concurrency must be 1 to {MAX_CONCURRENCY}")
    if args.broadcast_id is not None:
        if not args.broadcast_id.strip():
            raise LinqUsageError("--broadcast-id must not be empty")
        check_campaign_id(args.broadcast_id, what="--broadcast-id")  # before the banner names it
    recipients, duplicates = await asyncio.to_thread(read_recipients, args.recipients)
    if duplicates:
        console.note(f"{duplicates} duplicate row(s) in {args.recipients} skipped")
    progress = Progress(console.stderr)
    # The id exists before the first send, and is shown at once: an interrupted run (Ctrl-C,
    # a crash) can be resumed with it, and nobody gets a message twice.
    broadcast_id = args.broadcast_id or str(uuid.uuid4())
    resume = f"--broadcast-id {broadcast_id}"
    console.resume = resume
    console.note(
        f"broadcast {broadcast_id} to {len(recipients)} recipient(s); to resume it after an "
        f"interruption, run the same command with {resume}"
    )
    async with open_session(args, console) as linq:
        upload: Upload | None = None
        if args.attachment_id is not None:
            upload = await uploaded(linq, args.attachment_id)
        elif args.file is not None:
            with progress.upload(file_label(args)) as on_progress:
                upload = await linq.upload(
                    args.file,
                    content_type=args.content_type,
                    filename=args.filename,
                    on_progress=on_progress,
                )
            # A resumed run reuses this upload instead of uploading the file again.
            resume = f"--broadcast-id {broadcast_id} --attachment-id {upload.attachment_id}"
            console.resume = resume
            console.note(f"uploaded {upload.attachment_id}; to resume, use {resume}")
        with progress.broadcast(len(recipients)) as on_recipient:
            report = await linq.broadcast(
                upload,
                from_=args.from_,
                recipients=recipients,
                text=args.text,
                concurrency=args.concurrency,
                broadcast_id=broadcast_id,
                on_recipient=on_recipient,
            )
    broadcast_id, outcomes = report.broadcast_id, report.outcomes
    failures = [outcome for outcome in outcomes if not outcome.ok]
    sent = len(outcomes) - len(failures)
    console.json(
        {
            "ok": not failures,
            "broadcast_id": broadcast_id,
            "attachment": None if upload is None else attrs.asdict(upload),
            "total": len(outcomes),
            "sent": sent,
            "failed": len(failures),
            "outcomes": [
                {
                    "recipient": outcome.recipient,
                    "ok": outcome.ok,
                    "chat_id": outcome.chat_id,
                    "message_id": outcome.message_id,
                    "error": None if outcome.error is None else console.error_data(outcome.error),
                }
                for outcome in outcomes
            ],
        }
    )
    console.lines(
        f"broadcast   {broadcast_id}: {sent} of {len(outcomes)} sent, {len(failures)} failed",
        *([] if upload is None else [upload_line(upload)]),
    )
    if not failures:
        return EXIT_OK
    width = max(len(outcome.recipient) for outcome in failures)
    console.lines(
        "failed:",
        *(f"  {outcome.recipient:<{width}}  {outcome.error}" for outcome in failures),
        f"to retry only the failed recipients, run the same command with {resume} "
        "(those already sent get nothing twice)",
    )
    console.note(f"error: {len(failures)} of {len(outcomes)} recipients failed")
    return EXIT_FAILED


async def _fake_server(args: argparse.Namespace, console: Console) -> int:
    from .testing import FakeLinqServer

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C raises instead
            continue
        handled.append(signum)
    try:
        try:
            fake = FakeLinqServer(port=args.port)
            await fake.start()
        except OSError as exc:
            raise CommandError(
                f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", EXIT_FAILED
            ) from exc
        try:
            console.json(
                {
                    "base_url": fake.base_url,
                    "api_key": fake.api_key,
                    "storage_url": fake.storage_url,
                }
            )
            console.lines(
                "FakeLinqServer is running: a strict in-memory fake of the Linq API on this "
                "machine (nothing is sent anywhere). Stop it with Ctrl-C.",
                f"  base URL     {fake.base_url}",
                f"  API key      {fake.api_key}",
                f"  storage URL  {fake.storage_url} (upload URLs point here)",
                "Point linq-async, the official SDKs or any HTTP client at it; LINQ_FROM and "
                "LINQ_TO are made-up numbers for the examples in linq-async's repository:",
            )
            if not console.json_mode:
                print(f"export LINQ_BASE_URL={shlex.quote(fake.base_url)}", file=console.stdout)
                print(f"export LINQ_API_KEY={shlex.quote(fake.api_key)}", file=console.stdout)
                # Any handle works on the fake; these match the examples' own defaults.
                print("export LINQ_FROM=+12223334444", file=console.stdout)
                print("export LINQ_TO=+15556667777", file=console.stdout)
                console.stdout.flush()
            _cli_webhooks.start_fake_webhooks(fake, args, console)
            await stop.wait()
        finally:
            await fake.close()
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
    console.note("fake server stopped")
    return EXIT_OK


async def _demo(args: argparse.Namespace, console: Console) -> int:
    from ._demo import run_demo

    await run_demo(out=console.stdout)
    return EXIT_OK


# Parser


def build_parser() -> argparse.ArgumentParser:
    """The ``linq-async`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Send messages and files through the Linq Partner API v3.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    add_common(parser, top=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    send = add_command(
        commands,
        "send",
        _send,
        "send a text, a file or both to one handle (a direct chat) or several (a group)",
        f"Example:\n  {PROG} send --from +12223334444 --to +15556667777 \\\n"
        f"      --text 'Your report' --file report.pdf\n\n{KEY_HELP}",
    )
    send.add_argument(
        "--from", dest="from_", required=True, metavar="PHONE", help="your line, E.164"
    )
    send.add_argument(
        "--to",
        action="append",
        required=True,
        metavar="HANDLE",
        help="a recipient, E.164 or email; repeat for a group chat",
    )
    add_message_options(send)
    add_common(send, top=False)

    upload = add_command(
        commands,
        "upload",
        _upload,
        "upload a file once and print its attachment id and download URL",
        f"Example:\n  {PROG} upload report.pdf\n\n{KEY_HELP}",
    )
    upload.add_argument("path", metavar="PATH", help="the file (up to 100 MiB)")
    upload.add_argument(
        "--content-type", metavar="TYPE", help="the MIME type (default: guessed from the name)"
    )
    upload.add_argument(
        "--filename", metavar="NAME", help="the name recipients see (default: the file's)"
    )
    add_common(upload, top=False)

    broadcast = add_command(
        commands,
        "broadcast",
        _broadcast,
        "send a file and/or text to every recipient of a CSV file, each in a direct chat",
        textwrap.fill(
            "The CSV's first column is the handle (E.164 or email); a header row such as "
            "'phone' and blank lines are skipped, duplicates are sent to once (emails whatever "
            "their case). The file is uploaded once. The broadcast id is printed before the "
            "first send; re-running with --broadcast-id (and --attachment-id for the file) "
            "resumes it after an interruption and never sends anyone a message twice. A "
            "summary lists the recipients that failed; the exit status is 1 if any did.",
            width=79,
        )
        + f"\n\nExample:\n  {PROG} broadcast --from +12223334444 --recipients customers.csv \\\n"
        f"      --file flyer.pdf --text 'New this week'\n\n{KEY_HELP}",
    )
    broadcast.add_argument(
        "--from", dest="from_", required=True, metavar="PHONE", help="your line, E.164"
    )
    broadcast.add_argument(
        "--recipients", required=True, metavar="FILE.csv", help="the recipients, one per row"
    )
    add_message_options(broadcast)
    broadcast.add_argument(
        "--concurrency",
        type=int,
        default=16,
        metavar="N",
        help=f"the most sends in flight at once, 1 to {MAX_CONCURRENCY} (default: 16)",
    )
    broadcast.add_argument(
        "--broadcast-id",
        metavar="ID",
        help="identifies the broadcast so a re-run sends nothing twice (default: random)",
    )
    add_common(broadcast, top=False)

    fake = add_command(
        commands,
        "fake-server",
        _fake_server,
        "run a local fake of the Linq API until interrupted, to try clients against",
        textwrap.fill(
            "Prints the base URL and API key to use (as export lines), then serves on "
            "127.0.0.1 until Ctrl-C or SIGTERM, which stop it with exit status 0. State is "
            "kept in memory only. No API key is needed.",
            width=79,
        ),
    )
    fake.add_argument(
        "--port",
        type=port_number,
        default=0,
        metavar="N",
        help="the API's port on 127.0.0.1 (default: a free one)",
    )
    _cli_webhooks.add_fake_server_options(fake)
    add_common(fake, top=False)

    demo = add_command(
        commands,
        "demo",
        _demo,
        "run the embedded end-to-end demo against a fake server (no key, no network)",
        "Uploads a generated 5 MiB file and sends it, against FakeLinqServer.",
    )
    add_common(demo, top=False)
    _cli_webhooks.register(commands)
    _cli_campaign.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``linq-async`` with ``argv`` (``sys.argv[1:]`` by default); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    console = Console(json_mode=args.json, debug=args.debug, stdout=sys.stdout, stderr=sys.stderr)
    if args.debug:
        # Each request of the SDK (method, path, status, attempt, seconds) and each retry;
        # other libraries only from WARNING up. The key is scrubbed from every record.
        handler_ = logging.StreamHandler(sys.stderr)
        handler_.setFormatter(_ScrubbingFormatter(console))
        logging.basicConfig(level=logging.WARNING, handlers=[handler_])
        logging.getLogger("linq_async").setLevel(logging.DEBUG)
    try:
        status = _run(handler, args, console)
        sys.stdout.flush()  # here, not at exit, where a closed pipe can only print noise
    except BrokenPipeError:
        # Whoever read stdout has gone (`linq-async ... | head -1`): stop quietly, as a tool
        # that SIGPIPE ends would, and point stdout at /dev/null so the exit flush is silent.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    return status


def _run_until_interrupted(command: Coroutine[Any, Any, int]) -> int:
    """`asyncio.run`, with Ctrl-C cancelling the command and raising KeyboardInterrupt here.

    Python 3.11+ does this itself. On 3.10, Python's own handler raises KeyboardInterrupt in
    whatever code runs at that moment, often a task of aiohttp's, which then prints "Task
    exception was never retrieved" and a traceback.
    """
    if sys.version_info >= (3, 11):
        return asyncio.run(command)
    interrupted = False

    async def until_interrupted() -> int | None:
        nonlocal interrupted
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None

        def on_sigint() -> None:
            nonlocal interrupted
            interrupted = True
            task.cancel()

        try:
            loop.add_signal_handler(signal.SIGINT, on_sigint)
        except (RuntimeError, ValueError):  # not the main thread: Python's handler stays
            return await command
        try:
            return await command
        except asyncio.CancelledError:
            if interrupted:
                return None  # raised as KeyboardInterrupt below, outside the loop
            raise
        finally:
            loop.remove_signal_handler(signal.SIGINT)

    status = asyncio.run(until_interrupted())
    if status is None:
        raise KeyboardInterrupt
    return status


def _run(handler: Handler, args: argparse.Namespace, console: Console) -> int:
    """Run one command, turning each way it can end into its exit status."""
    try:
        return _run_until_interrupted(handler(args, console))
    except KeyboardInterrupt:
        if console.resume is not None:
            console.note(f"interrupted; to resume, run the same command with {console.resume}")
        else:
            console.note("interrupted")
        return EXIT_INTERRUPTED
    except LinqUsageError as exc:
        return console.fail(_in_cli_terms(exc), EXIT_USAGE)
    except LinqError as exc:
        return console.fail(exc, EXIT_FAILED)
    except CommandError as exc:
        return console.fail(exc, exc.exit_code)
    except BrokenPipeError:
        raise  # not the command's failure: see `main`
    except Exception as exc:
        return console.fail(exc, EXIT_FAILED)
