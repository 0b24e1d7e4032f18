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
import csv
import importlib.util
import json
import logging
import os
import re
import shlex
import signal
import sys
import textwrap
import traceback
import uuid
from collections.abc import Callable, Coroutine, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

import attrs

from . import _cli_webhooks
from ._errors import (
    APIStatusError,
    BroadcastInterruptedError,
    LinqError,
    LinqUsageError,
    UploadError,
)
from ._sending import MAX_CONCURRENCY
from ._session import _KEY_VARS, DEFAULT_BASE_URL, LinqSession
from ._upload import ProgressCallback, open_source
from ._validation import (
    check_handle,
    check_phone,
    check_recipients,
    check_string,
    recipient_key,
)
from ._version import __version__
from .models import MediaPart, RecipientOutcome, Upload

__all__ = ["main"]

PROG = "linq-async"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

_KEY_HELP = textwrap.fill(
    "The API key is read from the environment only: LINQ_API_KEY (or LINQ_API_V3_API_KEY). "
    "There is deliberately no --api-key flag, because other users of this machine can read "
    "a process's command line. The API root is --base-url, else LINQ_BASE_URL (or "
    f"LINQ_API_V3_BASE_URL), else {DEFAULT_BASE_URL}.",
    width=79,
)
_EPILOG = f"""\
{_KEY_HELP}

Try it without an account, against a local fake of the API:
  {PROG} fake-server        # in one terminal: prints the export lines to paste
  export LINQ_BASE_URL=... LINQ_API_KEY=...
  {PROG} send --from +12223334444 --to +15556667777 --text "Hello"
or run everything in one go: {PROG} demo

Exit status: 0 success; 1 the API, the upload or a broadcast recipient failed;
2 usage or local validation error (nothing was sent); 130 interrupted.
"""
_NO_KEY = (
    "no API key: set LINQ_API_KEY in the environment (export LINQ_API_KEY=...); "
    f"to try {PROG} without an account, run '{PROG} fake-server' in another terminal "
    "and paste the export lines it prints"
)

_Handler = Callable[[argparse.Namespace, "_Console"], Coroutine[Any, Any, int]]


class _CommandError(Exception):
    """A failure of the command line itself, with its exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Output


class _Console:
    """Where results (stdout) and diagnostics (stderr) go, and in which form."""

    def __init__(self, *, json_mode: bool, debug: bool, stdout: TextIO, stderr: TextIO) -> None:
        self.json_mode = json_mode
        self.debug = debug
        self.stdout = stdout
        self.stderr = stderr
        self.secret: str | None = None
        """The API key in use, scrubbed from anything printed."""
        self.resume: str | None = None
        """How to resume the command after an interruption, once there is a way."""

    def scrub(self, text: str) -> str:
        """``text`` on one line, with the API key (if it appears at all) redacted."""
        if self.secret:
            text = text.replace(self.secret, "<redacted>")
        return " ".join(text.split())

    def lines(self, *lines: str) -> None:
        """Print human-readable result lines (not in ``--json`` mode)."""
        if not self.json_mode:
            for line in lines:
                print(self.scrub_block(line), file=self.stdout, flush=True)

    def json(self, data: dict[str, Any]) -> None:
        """Print one JSON object on one line (only in ``--json`` mode)."""
        if self.json_mode:
            print(json.dumps(data), file=self.stdout, flush=True)

    def note(self, text: str) -> None:
        """Print a diagnostic line on stderr."""
        print(f"{PROG}: {self.scrub(text)}", file=self.stderr, flush=True)

    def fail(self, exc: BaseException, exit_code: int) -> int:
        """Report ``exc`` as one line on stderr (and as JSON on stdout with ``--json``)."""
        if self.debug:
            self.stderr.write(self.scrub_block("".join(traceback.format_exception(exc))))
        hint = ""
        if isinstance(exc, BroadcastInterruptedError) and self.resume is not None:
            hint = f"; once that is fixed, resume with the same command and {self.resume}"
        self.note(f"error: {_describe(exc)}{hint}")
        self.json({"ok": False, "exit_code": exit_code, "error": self.error_data(exc)})
        return exit_code

    def scrub_block(self, text: str) -> str:
        """``text`` with the API key redacted, line breaks kept."""
        return text.replace(self.secret, "<redacted>") if self.secret else text

    def error_data(self, exc: BaseException) -> dict[str, Any]:
        """The JSON form of an error."""
        data: dict[str, Any] = {"type": type(exc).__name__, "message": self.scrub(str(exc))}
        if isinstance(exc, APIStatusError):
            data.update(status=exc.status, code=exc.code, trace_id=exc.trace_id)
        elif isinstance(exc, UploadError):
            data.update(attachment_id=exc.attachment_id, status=exc.status, s3_code=exc.s3_code)
        elif isinstance(exc, BroadcastInterruptedError):
            data.update(broadcast_id=exc.broadcast_id, remaining=len(exc.remaining))
        return data


class _ScrubbingFormatter(logging.Formatter):
    """Formats ``--debug`` log records with the API key, should any hold it, redacted."""

    def __init__(self, console: _Console) -> None:
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BroadcastInterruptedError):
        tried = len(exc.report.outcomes)
        return (
            f"broadcast {exc.broadcast_id} stopped after {tried} of "
            f"{tried + len(exc.remaining)} recipients: {exc.__cause__}"
        )
    if isinstance(exc, UploadError):
        return f"upload failed: {exc}"
    if isinstance(exc, (LinqError, _CommandError)):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def _upload_line(upload: Upload) -> str:
    return (
        f"attachment  {upload.attachment_id} {upload.filename} "
        f"({upload.content_type}, {upload.size_bytes:,} bytes)"
    )


class _Progress:
    """Upload and broadcast progress on stderr.

    On a terminal: tqdm bars (`linq_async.progress`) when tqdm is installed, else a
    one-line counter redrawn in place. Elsewhere (a pipe, a log file): a few plain lines.
    """

    def __init__(self, stream: TextIO, *, use_tqdm: bool | None = None) -> None:
        self._stream = stream
        try:
            self._tty = stream.isatty()
        except (AttributeError, ValueError):
            self._tty = False
        if use_tqdm is None:
            use_tqdm = importlib.util.find_spec("tqdm") is not None
        self._tqdm = self._tty and use_tqdm

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()

    @contextmanager
    def upload(self, filename: str) -> Iterator[ProgressCallback]:
        """Yield the ``on_progress(sent, total)`` callback of one upload."""
        label = f"upload {filename}"
        if self._tqdm:
            from .progress import upload_bar

            with upload_bar(label, file=self._stream) as on_progress:
                yield on_progress
            return
        shown = -1

        def count_bytes(sent: int, total: int) -> None:
            nonlocal shown
            percent = sent * 100 // total if total else 100
            mark = percent if self._tty else percent // 25 * 25
            if mark != shown:
                shown = mark
                text = f"{label}: {percent:3d}% ({_size(sent)} of {_size(total)})"
                self._write(f"\r{text}" if self._tty else f"{text}\n")

        try:
            yield count_bytes
        finally:
            if self._tty and shown >= 0:
                self._write("\n")

    @contextmanager
    def broadcast(self, total: int) -> Iterator[Callable[[RecipientOutcome], None]]:
        """Yield the ``on_recipient(outcome)`` callback of a broadcast to ``total`` handles."""
        if self._tqdm:
            from .progress import broadcast_bar

            with broadcast_bar(total, file=self._stream) as on_recipient:
                yield on_recipient
            return
        done = failed = 0
        shown = -1

        def count_outcome(outcome: RecipientOutcome) -> None:
            nonlocal done, failed, shown
            done += 1
            failed += not outcome.ok
            text = f"broadcast: {done} of {total} done, {failed} failed"
            if self._tty:
                self._write(f"\r{text}")
            elif done * 10 // total != shown:
                shown = done * 10 // total
                self._write(f"{text}\n")

        try:
            yield count_outcome
        finally:
            if self._tty and done:
                self._write("\n")


# Shared checks


def _open_session(args: argparse.Namespace, console: _Console) -> LinqSession:
    """A session from the environment's key; exit 2 with a hint when there is none."""
    key = next((os.environ[name] for name in _KEY_VARS if os.environ.get(name, "").strip()), "")
    if not key:
        raise LinqUsageError(_NO_KEY)
    console.secret = key.strip()
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    return LinqSession.from_env(**options)


def _check_message(args: argparse.Namespace) -> None:
    """Check --text, --file, --attachment-id and the file options before anything is sent."""
    if args.text is None and args.file is None and args.attachment_id is None:
        raise LinqUsageError(
            "give --text, --file or both (--attachment-id: a file uploaded before)"
        )
    if args.text is not None and not args.text:
        raise LinqUsageError("--text must not be empty")
    if args.file is not None and args.attachment_id is not None:
        raise LinqUsageError("give --file or --attachment-id, not both")
    if args.attachment_id is not None:
        check_string(args.attachment_id, what="--attachment-id")
    if args.file is None and (args.content_type is not None or args.filename is not None):
        raise LinqUsageError("--content-type and --filename apply to --file only")
    if args.file is not None:
        open_source(args.file, filename=args.filename, content_type=args.content_type)


async def _uploaded(linq: LinqSession, attachment_id: str) -> Upload:
    """The `Upload` of an attachment uploaded earlier (``linq-async upload`` prints its id)."""
    info = await linq.attachments.get(attachment_id)
    return Upload(
        attachment_id=info.id,
        filename=info.filename,
        content_type=info.content_type,
        size_bytes=info.size_bytes,
        download_url=info.download_url or "",
    )


def _file_label(args: argparse.Namespace) -> str:
    return str(args.filename or os.path.basename(args.file))


# Commands


async def _send(args: argparse.Namespace, console: _Console) -> int:
    check_phone(args.from_, what="--from")
    for handle in args.to:
        check_handle(handle, what="--to")
    check_recipients(args.to)
    _check_message(args)
    async with _open_session(args, console) as linq:
        upload: Upload | None = None
        if args.attachment_id is not None:
            upload = await _uploaded(linq, args.attachment_id)
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
            with _Progress(console.stderr).upload(_file_label(args)) as on_progress:
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
        *([] if upload is None else [_upload_line(upload)]),
    )
    return EXIT_OK


async def _upload(args: argparse.Namespace, console: _Console) -> int:
    open_source(args.path, filename=args.filename, content_type=args.content_type)
    label = args.filename or os.path.basename(args.path)
    async with _open_session(args, console) as linq:
        with _Progress(console.stderr).upload(label) as on_progress:
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


def _looks_like_header(cell: str) -> bool:
    # A column name ("phone", "E164", "phone1", "Email") has a letter, and neither the "+" a
    # phone number starts with nor the "@" of an email. A first cell that looks like a
    # handle, even a malformed one ("555-1234", "ana@"), is data, and is checked as such.
    return any(char.isalpha() for char in cell) and "@" not in cell and not cell.startswith("+")


def _read_recipients(path: str) -> tuple[list[str], int]:
    """The unique handles in the CSV's first column, and how many duplicate rows there were.

    Emails that differ only in case are the same recipient (the first spelling is kept).
    """
    handles: dict[str, str] = {}
    duplicates = 0
    first = True
    try:
        with open(path, newline="", encoding="utf-8-sig") as stream:
            reader = csv.reader(stream)
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # a blank line (or a row of empty cells)
                cell = row[0].strip()
                if first:
                    first = False
                    if _looks_like_header(cell):
                        continue
                where = f"{os.path.basename(path)} line {reader.line_num}"
                if not cell:
                    raise LinqUsageError(f"{where}: the first column (the handle) is empty")
                check_handle(cell, what=f"the handle on {where}")
                key = recipient_key(cell)
                if key in handles:
                    duplicates += 1
                handles.setdefault(key, cell)
    except FileNotFoundError:
        raise LinqUsageError(f"--recipients: no such file: {path!r}") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise LinqUsageError(f"--recipients: cannot read {path!r}: {exc}") from None
    if not handles:
        raise LinqUsageError(f"--recipients: {path!r} lists no recipients")
    return list(handles.values()), duplicates


async def _broadcast(args: argparse.Namespace, console: _Console) -> int:
    check_phone(args.from_, what="--from")
    _check_message(args)
    if not 1 <= args.concurrency <= MAX_CONCURRENCY:
        raise LinqUsageError(f"--concurrency must be 1 to {MAX_CONCURRENCY}")
    if args.broadcast_id is not None and not args.broadcast_id.strip():
        raise LinqUsageError("--broadcast-id must not be empty")
    recipients, duplicates = await asyncio.to_thread(_read_recipients, args.recipients)
    if duplicates:
        console.note(f"{duplicates} duplicate row(s) in {args.recipients} skipped")
    progress = _Progress(console.stderr)
    # The id exists before the first send, and is shown at once: an interrupted run (Ctrl-C,
    # a crash) can be resumed with it, and nobody gets a message twice.
    broadcast_id = args.broadcast_id or str(uuid.uuid4())
    resume = f"--broadcast-id {broadcast_id}"
    console.resume = resume
    console.note(
        f"broadcast {broadcast_id} to {len(recipients)} recipient(s); to resume it after an "
        f"interruption, run the same command with {resume}"
    )
    async with _open_session(args, console) as linq:
        upload: Upload | None = None
        if args.attachment_id is not None:
            upload = await _uploaded(linq, args.attachment_id)
        elif args.file is not None:
            with progress.upload(_file_label(args)) as on_progress:
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
        *([] if upload is None else [_upload_line(upload)]),
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


async def _fake_server(args: argparse.Namespace, console: _Console) -> int:
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
            raise _CommandError(
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


async def _demo(args: argparse.Namespace, console: _Console) -> int:
    from ._demo import run_demo

    await run_demo(out=console.stdout)
    return EXIT_OK


# Parser


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, got {port}")
    return port


def _add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """The global options, accepted before or after the command name."""
    # Below the top level, an option not given must not overwrite the top level's value.
    unset: dict[str, Any] = {} if top else {"default": argparse.SUPPRESS}
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--json",
        action="store_true",
        help="print the result, or the error, as one JSON object on stdout",
        **unset,
    )
    group.add_argument(
        "--debug",
        action="store_true",
        help="show tracebacks and debug logging (the API key is still never shown)",
        **unset,
    )
    group.add_argument(
        "--base-url",
        metavar="URL",
        help="the API root (default: LINQ_BASE_URL, else the production API)",
        **unset,
    )


def _add_message_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--text", help="a text part, sent before the file")
    parser.add_argument("--file", metavar="PATH", help="a file to upload and send (up to 100 MiB)")
    parser.add_argument(
        "--attachment-id",
        metavar="ID",
        help="send a file uploaded before (the id 'linq-async upload' prints) instead of --file",
    )
    parser.add_argument(
        "--content-type",
        metavar="TYPE",
        help="the file's MIME type (default: guessed from its name)",
    )
    parser.add_argument(
        "--filename", metavar="NAME", help="the name recipients see (default: the file's)"
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``linq-async`` argument parser."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Send messages and files through the Linq Partner API v3.",
        epilog=_EPILOG,
        formatter_class=formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_common(parser, top=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(name: str, handler: _Handler, summary: str, epilog: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(
            name,
            help=summary,
            description=summary[0].upper() + summary[1:] + ".",
            epilog=epilog,
            formatter_class=formatter,
        )
        sub.set_defaults(handler=handler)
        return sub

    send = command(
        "send",
        _send,
        "send a text, a file or both to one handle (a direct chat) or several (a group)",
        f"Example:\n  {PROG} send --from +12223334444 --to +15556667777 \\\n"
        f"      --text 'Your report' --file report.pdf\n\n{_KEY_HELP}",
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
    _add_message_options(send)
    _add_common(send, top=False)

    upload = command(
        "upload",
        _upload,
        "upload a file once and print its attachment id and download URL",
        f"Example:\n  {PROG} upload report.pdf\n\n{_KEY_HELP}",
    )
    upload.add_argument("path", metavar="PATH", help="the file (up to 100 MiB)")
    upload.add_argument(
        "--content-type", metavar="TYPE", help="the MIME type (default: guessed from the name)"
    )
    upload.add_argument(
        "--filename", metavar="NAME", help="the name recipients see (default: the file's)"
    )
    _add_common(upload, top=False)

    broadcast = command(
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
        f"      --file flyer.pdf --text 'New this week'\n\n{_KEY_HELP}",
    )
    broadcast.add_argument(
        "--from", dest="from_", required=True, metavar="PHONE", help="your line, E.164"
    )
    broadcast.add_argument(
        "--recipients", required=True, metavar="FILE.csv", help="the recipients, one per row"
    )
    _add_message_options(broadcast)
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
    _add_common(broadcast, top=False)

    fake = command(
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
        type=_port,
        default=0,
        metavar="N",
        help="the API's port on 127.0.0.1 (default: a free one)",
    )
    _cli_webhooks.add_fake_server_options(fake)
    _add_common(fake, top=False)

    demo = command(
        "demo",
        _demo,
        "run the embedded end-to-end demo against a fake server (no key, no network)",
        "Uploads a generated 5 MiB file and sends it, against FakeLinqServer.",
    )
    _add_common(demo, top=False)
    _cli_webhooks.register(commands)

    from ._cli_campaign import register as register_campaigns

    register_campaigns(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``linq-async`` with ``argv`` (``sys.argv[1:]`` by default); return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: _Handler | None = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    console = _Console(json_mode=args.json, debug=args.debug, stdout=sys.stdout, stderr=sys.stderr)
    if args.debug:
        # Each request of the SDK (method, path, status, attempt, seconds) and each retry;
        # other libraries only from WARNING up. The key is scrubbed from every record.
        handler_ = logging.StreamHandler(sys.stderr)
        handler_.setFormatter(_ScrubbingFormatter(console))
        logging.basicConfig(level=logging.WARNING, handlers=[handler_])
        logging.getLogger("linq_async").setLevel(logging.DEBUG)
    try:
        return asyncio.run(handler(args, console))
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
    except _CommandError as exc:
        return console.fail(exc, exc.exit_code)
    except Exception as exc:
        return console.fail(exc, EXIT_FAILED)
