"""What the ``linq-async`` commands share: the console, exit statuses, progress, checks, options.

`linq_async._cli` (``send``, ``upload``, ``broadcast``, ...), `linq_async._cli_campaign` and
`linq_async._cli_webhooks` all build on these; none of them reaches into another's private names.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
import os
import textwrap
import traceback
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from ._errors import (
    APIStatusError,
    BroadcastInterruptedError,
    LinqError,
    LinqUsageError,
    UploadError,
)
from ._session import _KEY_VARS, DEFAULT_BASE_URL, LinqSession
from ._upload import ProgressCallback, open_source
from ._validation import check_handle, check_string, recipient_key
from .models import RecipientOutcome, Upload

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "KEY_HELP",
    "PROG",
    "CommandError",
    "Console",
    "Handler",
    "Progress",
    "add_command",
    "add_common",
    "add_message_options",
    "check_message",
    "file_label",
    "open_session",
    "port_number",
    "read_recipients",
    "upload_line",
    "uploaded",
]

PROG = "linq-async"
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

KEY_HELP = textwrap.fill(
    "The API key is read from the environment only: LINQ_API_KEY (or LINQ_API_V3_API_KEY). "
    "There is deliberately no --api-key flag, because other users of this machine can read "
    "a process's command line. The API root is --base-url, else LINQ_BASE_URL (or "
    f"LINQ_API_V3_BASE_URL), else {DEFAULT_BASE_URL}.",
    width=79,
)
_NO_KEY = (
    "no API key: set LINQ_API_KEY in the environment (export LINQ_API_KEY=...); "
    f"to try {PROG} without an account, run '{PROG} fake-server' in another terminal "
    "and paste the export lines it prints"
)

Handler = Callable[[argparse.Namespace, "Console"], Coroutine[Any, Any, int]]


class CommandError(Exception):
    """A failure of the command line itself, with its exit status."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


# Output


class Console:
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


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BroadcastInterruptedError):
        tried = len(exc.report.outcomes)
        return (
            f"broadcast {exc.broadcast_id} stopped after {tried} of "
            f"{tried + len(exc.remaining)} recipients: {exc.__cause__}"
        )
    if isinstance(exc, UploadError):
        return f"upload failed: {exc}"
    if isinstance(exc, (LinqError, CommandError)):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc} (run with --debug for the traceback)"


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB"):
        if value < 1024 or unit == "MiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover


def upload_line(upload: Upload) -> str:
    return (
        f"attachment  {upload.attachment_id} {upload.filename} "
        f"({upload.content_type}, {upload.size_bytes:,} bytes)"
    )


class Progress:
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


def open_session(args: argparse.Namespace, console: Console) -> LinqSession:
    """A session from the environment's key; exit 2 with a hint when there is none."""
    key = next((os.environ[name] for name in _KEY_VARS if os.environ.get(name, "").strip()), "")
    if not key:
        raise LinqUsageError(_NO_KEY)
    console.secret = key.strip()
    options: dict[str, Any] = {}
    if args.base_url:
        options["base_url"] = args.base_url
    return LinqSession.from_env(**options)


def check_message(args: argparse.Namespace) -> None:
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


async def uploaded(linq: LinqSession, attachment_id: str) -> Upload:
    """The `Upload` of an attachment uploaded earlier (``linq-async upload`` prints its id)."""
    info = await linq.attachments.get(attachment_id)
    return Upload(
        attachment_id=info.id,
        filename=info.filename,
        content_type=info.content_type,
        size_bytes=info.size_bytes,
        download_url=info.download_url or "",
    )


def file_label(args: argparse.Namespace) -> str:
    return str(args.filename or os.path.basename(args.file))


def _looks_like_header(cell: str) -> bool:
    # A column name ("phone", "E164", "phone1", "Email") has a letter, and neither the "+" a
    # phone number starts with nor the "@" of an email. A first cell that looks like a
    # handle, even a malformed one ("555-1234", "ana@"), is data, and is checked as such.
    return any(char.isalpha() for char in cell) and "@" not in cell and not cell.startswith("+")


def read_recipients(path: str) -> tuple[list[str], int]:
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


# Options


def add_common(parser: argparse.ArgumentParser, *, top: bool) -> None:
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


def add_message_options(parser: argparse.ArgumentParser) -> None:
    """The message options of ``send``, ``broadcast`` and ``campaign start`` (`check_message`)."""
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


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: Handler | None,
    summary: str,
    epilog: str,
) -> argparse.ArgumentParser:
    """Add the command ``name`` to ``commands``: ``summary`` is its help and description.

    Without a ``handler`` the command only groups subcommands (``campaign``).
    """
    sub = commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    if handler is not None:
        sub.set_defaults(handler=handler)
    return sub


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 to 65535 (0: a free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 0 to 65535, got {port}")
    return port
