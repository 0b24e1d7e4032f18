"""The ``linq-async`` command line, run as a subprocess against a FakeLinqServer in the test.

The fake runs in the test's event loop, so the CLI is started with
``asyncio.create_subprocess_exec`` and awaited: a blocking ``subprocess.run`` would stop the
loop and the fake would never answer.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shlex
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest
from _support import RECIPIENT, SENDER, free_port

from linq_async import LinqSession
from linq_async._cli_common import Progress
from linq_async.models import RecipientOutcome
from linq_async.testing import FakeLinqServer

REPO = Path(__file__).resolve().parents[1]
# Each wait on a CLI subprocess; two of them stay under pytest-timeout's 60 s.
TIMEOUT = 25.0
PDF_SIZE = 200_009


@attrs.frozen
class Result:
    """What one CLI run printed and returned."""

    code: int | None
    out: str
    err: str

    def json(self) -> Any:
        """The JSON object printed on stdout."""
        return json.loads(self.out)


def make_env(**variables: str) -> dict[str, str]:
    """The current environment without any LINQ_* variable, plus ``variables``."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("LINQ_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["PYTHONFAULTHANDLER"] = "1"  # SIGABRT from `finish` prints where a hung CLI is
    env.update(variables)
    return env


async def start_cli(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """Start ``python -m linq_async ARGS`` with stdout and stderr piped."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "linq_async",
        *args,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
        cwd=REPO,
    )


async def finish(proc: asyncio.subprocess.Process) -> Result:
    """Wait for a started CLI to exit and collect its output.

    A CLI still running after `TIMEOUT` is sent SIGABRT, so that faulthandler prints every
    thread's stack on its stderr, and the test fails with that stderr: no process is left
    behind, and the hang says where it was.
    """
    communicating = asyncio.ensure_future(proc.communicate())
    done, _ = await asyncio.wait([communicating], timeout=TIMEOUT)
    if done:
        out, err = communicating.result()
        return Result(proc.returncode, out.decode(), err.decode())
    proc.send_signal(signal.SIGABRT)
    try:
        _, err = await asyncio.wait_for(communicating, 5)
    except asyncio.TimeoutError:  # not the builtin TimeoutError on 3.10
        proc.kill()
        _, err = await communicating
    pytest.fail(f"the CLI did not exit within {TIMEOUT} s; its stderr:\n{err.decode()}")


async def run_cli(*args: str, env: dict[str, str]) -> Result:
    """Run the CLI to completion."""
    return await finish(await start_cli(*args, env=env))


@pytest.fixture
def env(fake: FakeLinqServer) -> dict[str, str]:
    return make_env(LINQ_API_KEY=fake.api_key, LINQ_BASE_URL=fake.base_url)


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "report.pdf"
    path.write_bytes(b"%PDF-1.4 " + os.urandom(PDF_SIZE - 9))
    return path


def assert_one_error_line(result: Result, start: str) -> str:
    """stderr ends with its only diagnostic line, ``linq-async: error: <start>...``.

    Progress lines (``upload ...: 100% ...``) may come before it; a traceback may not.
    """
    lines = result.err.splitlines()
    diagnostics = [line for line in lines if line.startswith("linq-async:")]
    assert diagnostics == lines[-1:], result.err
    assert lines[-1].startswith(f"linq-async: error: {start}"), lines[-1]
    assert "Traceback" not in result.err
    return lines[-1]


def write_csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "recipients.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


# help and configuration


async def test_help_explains_the_environment_key() -> None:
    """--help exits 0 and says the key comes from LINQ_API_KEY, never from a flag."""
    result = await run_cli("--help", env=make_env())
    assert result.code == 0
    assert "LINQ_API_KEY" in result.out
    assert "no --api-key flag" in result.out
    for command in ("send", "upload", "broadcast", "fake-server", "demo"):
        assert command in result.out
    assert "--api-key" not in (await run_cli("send", "--help", env=make_env())).out.replace(
        "no --api-key flag", ""
    )


async def test_missing_key_exits_2_with_a_hint(fake: FakeLinqServer, pdf: Path) -> None:
    """Without LINQ_API_KEY, upload exits 2 with one line naming the variable and fake-server."""
    result = await run_cli("upload", str(pdf), env=make_env(LINQ_BASE_URL=fake.base_url))
    assert result.code == 2
    line = assert_one_error_line(result, "no API key")
    assert "LINQ_API_KEY" in line
    assert "linq-async fake-server" in line
    assert fake.requests == []


async def test_argparse_errors_exit_2(env: dict[str, str]) -> None:
    """A missing required option is a usage error (exit 2)."""
    result = await run_cli("send", "--to", RECIPIENT, "--text", "hi", env=env)
    assert result.code == 2
    assert "--from" in result.err


# send


async def test_send_text(fake: FakeLinqServer, env: dict[str, str]) -> None:
    """send --text creates a chat with the text and prints the message and chat ids."""
    result = await run_cli("send", "--from", SENDER, "--to", RECIPIENT, "--text", "hi", env=env)
    assert result.code == 0, result.err
    [message] = fake.messages.values()
    [chat] = fake.chats.values()
    assert f"message     {message.id}" in result.out
    assert f"chat        {chat.id} with {RECIPIENT}" in result.out
    assert result.err == ""


async def test_send_file_to_a_group_as_json(
    fake: FakeLinqServer, env: dict[str, str], pdf: Path
) -> None:
    """send --file --json to two --to uploads, sends one group message and prints JSON ids."""
    other = "+15556667778"
    result = await run_cli(
        "--json",
        "send",
        "--from",
        SENDER,
        "--to",
        RECIPIENT,
        "--to",
        other,
        "--text",
        "your report",
        "--file",
        str(pdf),
        env=env,
    )
    assert result.code == 0, result.err
    data = result.json()
    assert data["ok"] is True
    assert data["to"] == [RECIPIENT, other]
    assert data["message_id"] in fake.messages
    assert data["chat_id"] in fake.chats
    attachment = data["attachment"]
    assert fake.attachments[attachment["attachment_id"]].size_bytes == PDF_SIZE
    assert attachment["filename"] == "report.pdf"
    assert attachment["content_type"] == "application/pdf"
    assert "upload report.pdf: 100%" in result.err  # plain progress lines off a terminal


async def test_send_needs_text_or_file(fake: FakeLinqServer, env: dict[str, str]) -> None:
    """send without --text and --file exits 2 and sends nothing."""
    result = await run_cli("send", "--from", SENDER, "--to", RECIPIENT, env=env)
    assert result.code == 2
    assert_one_error_line(result, "give --text, --file or both")
    assert fake.requests == []


async def test_send_unsupported_file_exits_2(
    fake: FakeLinqServer, env: dict[str, str], tmp_path: Path
) -> None:
    """An .exe is refused locally with exit 2 and one line; nothing reaches the API."""
    exe = tmp_path / "setup.exe"
    exe.write_bytes(b"MZ" + bytes(100))
    result = await run_cli("send", "--from", SENDER, "--to", RECIPIENT, "--file", str(exe), env=env)
    assert result.code == 2
    line = assert_one_error_line(result, "content type 'application/x-msdownload'")
    assert "executables are not supported" in line
    assert fake.requests == []


async def test_wrong_key_prints_one_401_line(fake: FakeLinqServer) -> None:
    """A wrong key exits 1 with status, code, message and trace id on one line, no key shown."""
    env = make_env(LINQ_API_KEY="sk-wrong-secret-key", LINQ_BASE_URL=fake.base_url)
    result = await run_cli("send", "--from", SENDER, "--to", RECIPIENT, "--text", "hi", env=env)
    assert result.code == 1
    line = assert_one_error_line(result, "HTTP 401, code 2004: ")
    assert result.err.count("\n") == 1
    assert line.endswith("(POST /v3/chats) [trace_id " + line[-33:-1] + "]")
    assert "sk-wrong-secret-key" not in result.out + result.err


async def test_wrong_key_as_json(fake: FakeLinqServer) -> None:
    """With --json an API error is also a JSON object on stdout with status, code, trace id."""
    env = make_env(LINQ_API_KEY="sk-wrong-secret-key", LINQ_BASE_URL=fake.base_url)
    result = await run_cli(
        "send", "--json", "--from", SENDER, "--to", RECIPIENT, "--text", "hi", env=env
    )
    assert result.code == 1
    error = result.json()["error"]
    assert (error["type"], error["status"], error["code"]) == ("AuthenticationError", 401, 2004)
    assert error["trace_id"] in result.err


async def test_debug_shows_the_traceback_but_not_the_key(fake: FakeLinqServer) -> None:
    """--debug adds the traceback; the API key is still never printed."""
    env = make_env(LINQ_API_KEY="sk-wrong-secret-key", LINQ_BASE_URL=fake.base_url)
    result = await run_cli(
        "--debug", "send", "--from", SENDER, "--to", RECIPIENT, "--text", "hi", env=env
    )
    assert result.code == 1
    assert "Traceback" in result.err
    assert "AuthenticationError" in result.err
    assert result.err.splitlines()[-1].startswith("linq-async: error: HTTP 401")
    assert "sk-wrong-secret-key" not in result.out + result.err


# upload


async def test_upload_prints_the_attachment_id_and_url(
    fake: FakeLinqServer, env: dict[str, str], pdf: Path
) -> None:
    """upload prints the attachment id and download URL, and --json gives them as fields."""
    result = await run_cli("upload", str(pdf), env=env)
    assert result.code == 0, result.err
    [attachment_id] = fake.attachments
    assert result.out.splitlines()[0] == f"attachment_id  {attachment_id}"
    assert result.out.splitlines()[1].startswith(f"download_url   {fake.storage_url}/")
    assert attachment_id in result.out.splitlines()[1]

    data = (await run_cli("--json", "upload", str(pdf), env=env)).json()
    assert data["attachment_id"] in fake.attachments
    assert data["size_bytes"] == PDF_SIZE
    assert data["download_url"].startswith(f"{fake.storage_url}/")


async def test_upload_refused_by_storage_names_the_s3_code(
    fake: FakeLinqServer, env: dict[str, str], pdf: Path
) -> None:
    """A storage refusal exits 1 with one 'upload failed' line carrying the S3 code."""
    fake.fail_next(403, site="storage")
    result = await run_cli("upload", str(pdf), env=env)
    assert result.code == 1
    line = assert_one_error_line(result, "upload failed: ")
    assert "S3 code AccessDenied" in line


# broadcast


async def test_broadcast_csv_with_a_failing_recipient(
    fake: FakeLinqServer, env: dict[str, str], pdf: Path, tmp_path: Path
) -> None:
    """broadcast reads the CSV (header, blank lines), reports the failure and exits 1."""
    csv_path = write_csv(
        tmp_path, "phone,name\n\n+15550000001,Ann\n+15550000002,Bob\n\n+15550000003,Cy\n"
    )
    fake.fail_next(403, code=2024, message="Recipient opted out", method="POST", path="/v3/chats")
    result = await run_cli(
        "broadcast",
        "--from",
        SENDER,
        "--recipients",
        csv_path,
        "--file",
        str(pdf),
        "--text",
        "hello",
        "--concurrency",
        "1",
        env=env,
    )
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("broadcast   ")
    assert lines[0].endswith(": 2 of 3 sent, 1 failed")
    assert "failed:" in lines
    [failure] = [line for line in lines if line.startswith("  +1555")]
    assert failure.startswith("  +15550000001  HTTP 403, code 2024: Recipient opted out")
    assert "--broadcast-id" in result.out
    assert result.err.splitlines()[-1] == "linq-async: error: 1 of 3 recipients failed"
    assert len(fake.messages) == 2
    assert len(fake.attachments) == 1


async def test_broadcast_text_as_json_reruns_safely(
    fake: FakeLinqServer, env: dict[str, str], tmp_path: Path
) -> None:
    """A text broadcast prints JSON outcomes; re-running its --broadcast-id sends nothing new."""
    csv_path = write_csv(tmp_path, "+15550000001\n+15550000002\n+15550000001\nann@example.com\n")
    args = ("--json", "broadcast", "--from", SENDER, "--recipients", csv_path, "--text", "hi")
    first = await run_cli(*args, "--broadcast-id", "run-1", env=env)
    assert first.code == 0, first.err
    data = first.json()
    assert (data["ok"], data["total"], data["sent"], data["failed"]) == (True, 3, 3, 0)
    assert data["broadcast_id"] == "run-1"
    assert data["attachment"] is None
    assert [outcome["recipient"] for outcome in data["outcomes"]] == [
        "+15550000001",
        "+15550000002",
        "ann@example.com",
    ]
    assert {outcome["message_id"] for outcome in data["outcomes"]} == set(fake.messages)
    assert "1 duplicate row(s)" in first.err

    again = await run_cli(*args, "--broadcast-id", "run-1", env=env)
    assert again.code == 0, again.err
    assert again.json()["outcomes"] == data["outcomes"]
    assert len(fake.messages) == 3


async def test_broadcast_rejects_a_bad_csv_row(
    fake: FakeLinqServer, env: dict[str, str], tmp_path: Path
) -> None:
    """An invalid handle in the CSV exits 2 naming its line; nothing is sent."""
    csv_path = write_csv(tmp_path, "phone\n+15550000001\n555-0102\n")
    result = await run_cli(
        "broadcast", "--from", SENDER, "--recipients", csv_path, "--text", "hi", env=env
    )
    assert result.code == 2
    line = assert_one_error_line(result, "the handle on recipients.csv line 3 must be")
    assert "'555-0102'" in line
    assert fake.requests == []


@pytest.mark.parametrize("json_mode", [False, True])
async def test_a_reader_that_leaves_early_ends_it_quietly(
    env: dict[str, str], json_mode: bool
) -> None:
    """`linq-async ... | head -c 0`: stdout is closed before anything is written; the CLI
    exits 1 with nothing on stderr (no BrokenPipeError, no traceback, no exit-time noise)."""
    options = "--json " if json_mode else ""
    script = (
        f"{shlex.quote(sys.executable)} -m linq_async {options}send --from {SENDER} "
        f"--to {RECIPIENT} --text hi | head -c 0; echo status=${{PIPESTATUS[0]}} >&2"
    )
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", script, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    result = await finish(proc)
    assert (result.out, result.err) == ("", "status=1\n")


async def test_a_broadcast_id_too_long_is_refused_before_the_banner(
    env: dict[str, str], fake: FakeLinqServer, tmp_path: Path
) -> None:
    """--broadcast-id of 5,000 characters: exit 2, one line giving its length, nothing sent."""
    csv_path = write_csv(tmp_path, f"{RECIPIENT}\n")
    result = await run_cli(
        "broadcast", "--from", SENDER, "--recipients", csv_path, "--text", "hi",
        "--broadcast-id", "x" * 5000, env=env,
    )  # fmt: skip
    assert result.code == 2
    line = assert_one_error_line(result, "--broadcast-id must be a string of 1 to 255")
    assert line.endswith("got 5,000 characters")
    assert result.err.count("x" * 256) == 0
    assert fake.requests == []


# fake-server, demo, Ctrl-C


async def test_fake_server_serves_other_clients_until_sigint() -> None:
    """fake-server prints its base URL and key, serves a LinqSession, and exits 0 on SIGINT."""
    port = free_port()
    proc = await start_cli("fake-server", "--port", str(port), env=make_env())
    assert proc.stdout is not None
    exports: dict[str, str] = {}
    try:
        while "LINQ_API_KEY" not in exports:
            line = (await asyncio.wait_for(proc.stdout.readline(), TIMEOUT)).decode()
            assert line, "fake-server exited early"
            if line.startswith("export "):
                name, _, value = line[len("export ") :].strip().partition("=")
                exports[name] = value
        base_url = exports["LINQ_BASE_URL"]
        assert base_url == f"http://127.0.0.1:{port}/api/partner"
        async with LinqSession(exports["LINQ_API_KEY"], base_url=base_url) as linq:
            created = await linq.chats.create(from_=SENDER, to=RECIPIENT, text="hello")
            assert created.message.id
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        result = await finish(proc)
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    assert result.err.strip() == "linq-async: fake server stopped"


async def test_fake_server_port_in_use_exits_1() -> None:
    """fake-server on a taken port exits 1 with one line."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = await run_cli("fake-server", "--port", str(port), env=make_env())
    assert result.code == 1
    assert_one_error_line(result, f"cannot listen on 127.0.0.1:{port}")


async def test_demo_runs_without_a_key() -> None:
    """demo sends a file through an embedded fake server with no key in the environment."""
    result = await run_cli("demo", env=make_env())
    assert result.code == 0, result.err
    assert "FakeLinqServer listening at http://127.0.0.1:" in result.out
    assert "matches what the server stored" in result.out


async def test_ctrl_c_exits_130_without_a_traceback() -> None:
    """SIGINT while a request is in flight exits 130 with one 'interrupted' line."""
    requested = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def hang(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        # The request line proves the client is this test's CLI, mid-request (a stray
        # client of an earlier test could reach a reused port first).
        if (await reader.readline()).startswith(b"POST /api/partner/v3/chats "):
            requested.set()
            await reader.read()  # never answer; return once the client hangs up
        writer.close()

    server = await asyncio.start_server(hang, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        env = make_env(LINQ_API_KEY="k", LINQ_BASE_URL=f"http://127.0.0.1:{port}/api/partner")
        proc = await start_cli("send", "--from", SENDER, "--to", RECIPIENT, "--text", "hi", env=env)
        try:
            await asyncio.wait_for(requested.wait(), TIMEOUT)
        finally:
            proc.send_signal(signal.SIGINT)
            result = await finish(proc)
    finally:
        server.close()
        for writer in writers:  # wait_closed waits for every connection (3.12.1+)
            writer.close()
        await server.wait_closed()
    assert result.code == 130, result
    assert result.err == "linq-async: interrupted\n"


# progress on a terminal (in-process: a subprocess's stderr is never a terminal here)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("use_tqdm", [False, True])
def test_progress_on_a_terminal_redraws_one_line(use_tqdm: bool) -> None:
    """On a terminal, upload and broadcast progress redraw in place (tqdm or the fallback)."""
    stream = _Terminal()
    progress = Progress(stream, use_tqdm=use_tqdm)
    with progress.upload("report.pdf") as on_progress:
        for sent in (0, 512, 1024):
            on_progress(sent, 1024)
    with progress.broadcast(2) as on_recipient:
        on_recipient(RecipientOutcome(recipient=RECIPIENT, chat_id="c", message_id="m"))
        on_recipient(RecipientOutcome(recipient=SENDER, error=RuntimeError("no")))
    text = stream.getvalue()
    assert "\r" in text
    assert "100%" in text
    assert "report.pdf" in text
    assert ("failed=1" if use_tqdm else "2 of 2 done, 1 failed") in text
