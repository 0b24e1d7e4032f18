"""``linq-async campaign start|status`` and ``linq-async worker``: campaigns on arq workers.

They need the ``arq`` extra (``pip install 'linq-async[arq]'``); without it they exit with
status 2 and say so. The Redis URL is ``--redis``, else ``LINQ_REDIS_URL``, else
``redis://localhost:6379/0``; it is never printed (it may hold a password: prefer the
variable to the flag for such a URL, as other users can read a process's arguments).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import textwrap
import uuid
from typing import Any

import attrs

from ._cli_common import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    KEY_HELP,
    PROG,
    CommandError,
    Console,
    Progress,
    add_command,
    add_common,
    add_message_options,
    check_message,
    file_label,
    open_session,
    read_recipients,
    upload_line,
    uploaded,
)
from ._errors import LinqUsageError
from ._keys import check_campaign_id
from ._validation import check_phone
from .models import Upload

__all__ = ["register"]

_EXTRA_HINT = "this command needs the arq extra: pip install 'linq-async[arq]'"
_REDIS_HELP = (
    "the Redis URL (default: LINQ_REDIS_URL, else redis://localhost:6379/0); a URL with a "
    "password is better given in LINQ_REDIS_URL, which other users cannot read"
)


def _contrib() -> Any:
    """The arq integration, or exit 2 with the install hint."""
    try:
        from .contrib import arq as contrib_arq
    except ImportError as exc:
        raise CommandError(f"{_EXTRA_HINT} ({exc})", EXIT_USAGE) from None
    arq_connections = logging.getLogger("arq.connections")
    if not arq_connections.handlers:
        # arq warns of each connection retry; with no handler, Python's last resort would
        # print five lines before the command's own error. The worker's log (`_log_to`,
        # on the "arq" logger) still shows them.
        arq_connections.addHandler(logging.NullHandler())
    return contrib_arq


def _redis_errors() -> tuple[type[BaseException], ...]:
    from redis.exceptions import RedisError

    return (RedisError, OSError)


async def _start(args: argparse.Namespace, console: Console) -> int:
    contrib = _contrib()
    from .contrib.redis import parse_rate

    check_phone(args.from_, what="--from")
    check_message(args)
    if args.rate is not None:
        parse_rate(args.rate)
    contrib.redis_settings(args.redis)
    campaign_id = check_campaign_id(args.campaign_id or str(uuid.uuid4()))
    if not 0 < args.ttl_days <= 3650:  # also refuses nan and inf
        raise LinqUsageError("--ttl-days must be a number above 0 and at most 3650")
    recipients, duplicates = await asyncio.to_thread(read_recipients, args.recipients)
    if duplicates:
        console.note(f"{duplicates} duplicate row(s) in {args.recipients} skipped")
    # First, before anything can fail half-way: the id resumes an interrupted start.
    console.lines(campaign_id)
    if console.json_mode:
        console.note(f"campaign {campaign_id}")
    uploads = args.file is not None or args.attachment_id is not None
    linq = open_session(args, console) if uploads else None
    try:
        redis = await contrib.connect(args.redis)
    except _redis_errors() as exc:
        raise CommandError(f"cannot reach Redis: {exc}", EXIT_FAILED) from exc
    try:
        file: str | Upload | None = args.file
        if linq is not None:
            await linq.open()
            if args.attachment_id is not None:
                file = await uploaded(linq, args.attachment_id)
        uploading = (
            Progress(console.stderr).upload(file_label(args))
            if args.file is not None
            else contextlib.nullcontext(None)
        )
        with uploading as on_progress:
            report = await contrib.enqueue_campaign(
                redis,
                recipients,
                from_=args.from_,
                text=args.text,
                file=file,
                linq=linq,
                campaign_id=campaign_id,
                rate=args.rate,
                content_type=args.content_type,
                filename=args.filename,
                on_upload_progress=on_progress,
                queue_name=args.queue,
                ttl=args.ttl_days * 86400.0,
                retry_failed=args.retry_failed,
            )
    except _redis_errors() as exc:
        raise CommandError(f"Redis failed: {exc}", EXIT_FAILED) from exc
    finally:
        await redis.aclose()
        if linq is not None:
            await linq.close()
    upload = report.upload
    console.json(
        {
            "ok": True,
            "campaign_id": campaign_id,
            "recipients": report.recipients,
            # Rows the CSV repeated (skipped here), plus any the producer still found.
            "duplicates": duplicates + report.duplicates,
            "enqueued": report.enqueued,
            "already_queued": report.already_queued,
            "already_sent": report.already_sent,
            "already_failed": report.already_failed,
            "rate": args.rate,
            "queue": args.queue,
            "attachment": None if upload is None else attrs.asdict(upload),
        }
    )
    console.lines(
        f"campaign    {campaign_id}: {report.recipients} recipients, {report.enqueued} "
        f"enqueued, {report.already_queued} already queued, {report.already_sent} already "
        f"sent, {report.already_failed} already failed",
        *([] if upload is None else [upload_line(upload)]),
        *([] if args.rate is None else [f"rate        {args.rate} on {args.from_}"]),
        f"workers     {PROG} worker (with the same Redis and --queue {args.queue})",
        f"progress    {PROG} campaign status {campaign_id}",
    )
    return EXIT_OK


async def _status(args: argparse.Namespace, console: Console) -> int:
    contrib = _contrib()
    from .contrib.redis import CampaignNotFoundError, CampaignStore

    check_campaign_id(args.campaign_id)
    if args.show_failures < 0:
        raise LinqUsageError("--show-failures must be 0 or more")
    try:
        redis = await contrib.connect(args.redis)
    except _redis_errors() as exc:
        raise CommandError(f"cannot reach Redis: {exc}", EXIT_FAILED) from exc
    try:
        try:
            status = await contrib.campaign_status(
                redis, args.campaign_id, check_jobs=args.check_jobs
            )
        except CampaignNotFoundError as exc:
            raise CommandError(str(exc), EXIT_FAILED) from None
        failures = await CampaignStore(redis).failures(args.campaign_id)
    except _redis_errors() as exc:
        raise CommandError(f"Redis failed: {exc}", EXIT_FAILED) from exc
    finally:
        await redis.aclose()
    console.json(
        {
            "ok": True,
            **attrs.asdict(status),
            "done": status.done,
            "failures": [attrs.asdict(failure) for failure in failures],
        }
    )
    lost = "" if status.lost is None else f" ({status.lost} lost: enqueue again to resend)"
    console.lines(
        f"campaign    {status.campaign_id}",
        f"total       {status.total}",
        f"sent        {status.sent}",
        f"failed      {status.failed}",
        f"pending     {status.pending}{lost}",
    )
    if failures:
        width = max(len(failure.recipient) for failure in failures)
        console.lines(
            "failed:",
            *(
                f"  {failure.recipient:<{width}}  {failure.error}: {failure.message}"
                for failure in failures[: args.show_failures]
            ),
        )
        if len(failures) > args.show_failures:
            console.lines(f"  ... and {len(failures) - args.show_failures} more (--json)")
    return EXIT_OK


async def _worker(args: argparse.Namespace, console: Console) -> int:
    contrib = _contrib()
    from arq.worker import create_worker

    linq = open_session(args, console)
    settings = contrib.worker_settings(
        args.redis,
        queue_name=args.queue,
        max_jobs=args.max_jobs,
        job_timeout=args.job_timeout,
        max_tries=args.max_tries,
        job_completion_wait=args.completion_wait,
        session_factory=lambda: linq,
    )
    if not args.debug:
        _log_to(console)
    worker = create_worker(settings, burst=args.burst)
    # Run arq's main loop in this event loop. Its signal handlers cancel this task, and
    # asyncio.wait returns on a cancelled task without raising.
    main = asyncio.ensure_future(worker.main())
    worker.main_task = main
    closing: BaseException | None = None
    try:
        await asyncio.wait([main])
    finally:
        try:
            await contrib.close_worker(worker)
        except _redis_errors() as exc:
            # Redis went away: arq's close cannot reach it, and skips the shutdown hook that
            # would close the session.
            closing = exc
        finally:
            await linq.close()
    failed = None if main.cancelled() else main.exception()
    if failed is None and closing is not None:
        failed = closing
    if failed is not None:
        if isinstance(failed, _redis_errors()):
            raise CommandError(f"Redis failed: {failed}", EXIT_FAILED) from failed
        raise failed
    console.note(
        f"worker stopped: {worker.jobs_complete} jobs done, {worker.jobs_failed} failed, "
        f"{worker.jobs_retried} retried"
    )
    return EXIT_OK


def _log_to(console: Console) -> None:
    """arq's job log (one line per job start and end) at INFO on stderr."""
    handler = logging.StreamHandler(console.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
    for name in ("arq", "linq_async"):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.level == logging.NOTSET or logger.level > logging.INFO:
            logger.setLevel(logging.INFO)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``campaign`` (``start``, ``status``) and ``worker`` to the CLI's subcommands."""
    campaign = add_command(
        commands,
        "campaign",
        None,
        "start a campaign on a job queue (Redis and arq workers), or show its progress",
        textwrap.fill(
            "A campaign sends one message (a text and/or a file uploaded once) to every "
            "recipient of a CSV file, each in a direct chat, through arq workers that share "
            "one Redis: 'campaign start' enqueues one job per recipient and 'worker' runs "
            "them. Every recipient gets the message once, even when workers are killed and "
            "jobs run twice. Needs the arq extra.",
            width=79,
        ),
    )
    actions = campaign.add_subparsers(title="actions", metavar="ACTION")

    start = add_command(
        actions,
        "start",
        _start,
        "enqueue a campaign: print its id, upload the file once, enqueue one job per recipient",
        textwrap.fill(
            "The campaign id is printed first (the first line of stdout). Running the same "
            "command again with --campaign-id ID resumes or extends the campaign: it uploads "
            "nothing and enqueues only recipients not yet queued, sent or failed. --rate "
            "caps the line's sends across all workers, such as 2/s, 120/minute or "
            "'10 per 5 seconds'.",
            width=79,
        )
        + f"\n\nExample:\n  {PROG} campaign start --redis redis://localhost:6379/0 \\\n"
        "      --from +12223334444 --recipients customers.csv --file flyer.pdf \\\n"
        f"      --text 'New this week' --rate 2/s\n\n{KEY_HELP}",
    )
    start.add_argument("--redis", metavar="URL", help=_REDIS_HELP)
    start.add_argument(
        "--from", dest="from_", required=True, metavar="PHONE", help="your line, E.164"
    )
    start.add_argument(
        "--recipients",
        required=True,
        metavar="FILE.csv",
        help="the recipients, one per row (first column)",
    )
    add_message_options(start)
    start.add_argument(
        "--rate", metavar="RATE", help="the line's send rate across all workers, e.g. 2/s"
    )
    start.add_argument(
        "--campaign-id", metavar="ID", help="resume or extend this campaign (default: new)"
    )
    start.add_argument(
        "--queue", default="linq-async:campaigns", metavar="NAME", help="the arq queue"
    )
    start.add_argument(
        "--ttl-days",
        type=float,
        default=30.0,
        metavar="DAYS",
        help="how long the campaign's records and jobs live (default: 30)",
    )
    start.add_argument(
        "--retry-failed",
        action="store_true",
        help="also enqueue again the recipients that failed for good",
    )
    add_common(start, top=False)

    status = add_command(
        actions,
        "status",
        _status,
        "show how many recipients of a campaign are sent, failed or pending",
        f"Example:\n  {PROG} campaign status 2f0c...",
    )
    status.add_argument("campaign_id", metavar="ID", help="the campaign id start printed")
    status.add_argument("--redis", metavar="URL", help=_REDIS_HELP)
    status.add_argument(
        "--check-jobs",
        action="store_true",
        help="also count pending recipients whose job was lost (one lookup each)",
    )
    status.add_argument(
        "--show-failures",
        type=int,
        default=20,
        metavar="N",
        help="list at most N failed recipients (default: 20)",
    )
    add_common(status, top=False)

    worker = add_command(
        commands,
        "worker",
        _worker,
        "run an arq worker that sends campaign messages until stopped (SIGTERM or Ctrl-C)",
        textwrap.fill(
            "Opens one session (LINQ_API_KEY) and runs up to --max-jobs sends at once. On "
            "SIGTERM it takes no new jobs, lets running ones finish for --completion-wait "
            "seconds, then stops; cancelled jobs run again on another worker. A killed "
            "worker's jobs run again --job-timeout + 10 seconds after they started. Needs "
            "the arq extra.",
            width=79,
        )
        + f"\n\nExample:\n  {PROG} worker --redis redis://localhost:6379/0\n\n{KEY_HELP}",
    )
    worker.add_argument("--redis", metavar="URL", help=_REDIS_HELP)
    worker.add_argument(
        "--queue", default="linq-async:campaigns", metavar="NAME", help="the arq queue"
    )
    worker.add_argument(
        "--max-jobs", type=int, default=10, metavar="N", help="jobs at once (default: 10)"
    )
    worker.add_argument(
        "--job-timeout",
        type=float,
        default=300.0,
        metavar="SECONDS",
        help="cancel a job after this long (default: 300)",
    )
    worker.add_argument(
        "--max-tries",
        type=int,
        default=8,
        metavar="N",
        help="runs of a job before a transient failure is recorded as failed (default: 8)",
    )
    worker.add_argument(
        "--completion-wait",
        type=int,
        default=20,
        metavar="SECONDS",
        help="on SIGTERM, let running jobs finish this long (default: 20)",
    )
    worker.add_argument("--burst", action="store_true", help="stop once the queue is empty")
    add_common(worker, top=False)
