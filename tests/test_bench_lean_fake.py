"""The benchmark's lean fake takes a storage PUT as storage would: only as its slot was
issued, its body checksummed as it streams in, over raw sockets on 127.0.0.1.

Nothing about speed is asserted; the bench measures that (``nox -s bench``).
"""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent


class LeanFake:
    """``python -m bench.lean_fake`` in a process of its own, driven over its stdin."""

    def __init__(self, process: subprocess.Popen[str], hello: dict[str, Any]) -> None:
        self.process = process
        base = urlsplit(hello["base_url"])
        assert base.hostname == "127.0.0.1"
        self.port = base.port or 80
        self.api = base.path

    def query(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self.process.stdout.readline())
        return answer

    def slot(self, size: int, filename: str = "a b.png") -> dict[str, Any]:
        body = {"filename": filename, "content_type": "image/png", "size_bytes": size}
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("POST", f"{self.api}/v3/attachments", json.dumps(body))
            response = connection.getresponse()
            assert response.status == 200, response.read()
            slot: dict[str, Any] = json.loads(response.read())
        finally:
            connection.close()
        return slot

    def exchange(self, *pieces: bytes, answers: int = 1) -> bytes:
        """Send ``pieces`` as separate writes on one connection; read ``answers`` answers."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            for piece in pieces:
                sock.sendall(piece)
            received = b""
            while received.count(b"HTTP/1.1 ") - received.count(b" 100 Continue") < answers:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
            return received


@pytest.fixture(scope="module")
def fake() -> Iterator[LeanFake]:
    with subprocess.Popen(
        [sys.executable, "-m", "bench.lean_fake"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as process:  # closes the pipes and waits on the way out
        try:
            assert process.stdout is not None
            yield LeanFake(process, json.loads(process.stdout.readline()))
        finally:
            process.kill()


def _put(
    slot: dict[str, Any],
    *,
    length: int,
    target: str | None = None,
    content_type: str = "image/png",
    extra: str = "",
) -> bytes:
    url = urlsplit(slot["upload_url"])
    target = target or f"{url.path}?{url.query}"
    return (
        f"PUT {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {length}\r\n\r\n"
    ).encode()


def test_a_put_streamed_in_odd_pieces_is_checksummed_and_the_next_request_answered(
    fake: LeanFake,
) -> None:
    body = bytes(range(256)) * 40 + b"tail"
    slot = fake.slot(len(body))
    head = _put(slot, length=len(body))
    # The head split mid-line, the body in odd pieces, the next request in the last write.
    pieces = [
        head[:7],
        head[7:],
        body[:1],
        body[1:999],
        body[999:] + b"GET /nowhere HTTP/1.1\r\n\r\n",
    ]
    answers = fake.exchange(*pieces, answers=2)
    assert answers.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 404 " in answers  # the pipelined request after the body
    stored = fake.query(f"crc32 {slot['attachment_id']}")
    assert stored == {"crc32": zlib.crc32(body), "received_bytes": len(body), "status": "uploaded"}


def test_each_slot_has_its_own_attachment_id_and_url(fake: LeanFake) -> None:
    first, second = fake.slot(3), fake.slot(3)
    assert first["attachment_id"] != second["attachment_id"]
    assert first["attachment_id"] in first["upload_url"]
    assert "/a%20b.png?" in first["upload_url"]  # the file's own name, quoted
    # The signed query as FakeLinqServer issues it: escaped once, not twice.
    assert "X-Amz-Credential=FAKEKEY%2F" in first["upload_url"]
    assert "%25" not in first["upload_url"]
    assert first["required_headers"] == {"Content-Type": "image/png", "Content-Length": "3"}


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ("forged signature", 403),
        ("other length", 403),
        ("other type", 403),
        ("an API key", 400),
        ("unknown path", 404),
    ],
)
def test_a_put_that_does_not_match_its_slot_is_refused_and_not_recorded(
    fake: LeanFake, change: str, status: int
) -> None:
    slot = fake.slot(10)
    url = urlsplit(slot["upload_url"])
    length, target, content_type, extra = 10, None, "image/png", ""
    if change == "forged signature":
        last = "1" if url.query.endswith("0") else "0"  # a different last character
        target = f"{url.path}?{url.query[:-1]}{last}"
    elif change == "other length":
        length = 3
    elif change == "other type":
        content_type = "image/jpeg"
    elif change == "an API key":
        extra = "Authorization: Bearer key\r\n"
    else:
        target = f"/linq-uploads/{slot['attachment_id']}x/a.png?{url.query}"
    head = _put(slot, length=length, target=target, content_type=content_type, extra=extra)
    answer = fake.exchange(head + b"x" * length)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode())
    assert fake.query(f"crc32 {slot['attachment_id']}")["crc32"] is None


def test_expect_100_continue_gets_the_go_ahead_before_the_body(fake: LeanFake) -> None:
    slot = fake.slot(4)
    head = _put(slot, length=4).replace(b"\r\n\r\n", b"\r\nExpect: 100-continue\r\n\r\n")
    with socket.create_connection(("127.0.0.1", fake.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"\x89PNG")
        assert sock.recv(1000).startswith(b"HTTP/1.1 200 ")
    assert fake.query(f"crc32 {slot['attachment_id']}")["crc32"] == zlib.crc32(b"\x89PNG")


def test_a_body_without_content_length_gets_400_after_earlier_answers_then_a_close(
    fake: LeanFake,
) -> None:
    slot = fake.slot(2)
    chunked = b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
    answers = fake.exchange(_put(slot, length=2) + b"hi" + chunked, answers=3)
    assert answers.startswith(b"HTTP/1.1 200 ")  # the PUT before it is answered first
    assert answers.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 400 " in answers


@pytest.mark.parametrize(
    "bad",
    [
        b"PUT /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"POST /x HTTP/1.1\r\nContent-Length: 1_0\r\n\r\n",
        b"POST /api/partner/v3/attachments HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}",
    ],
    ids=["negative length", "not a decimal length", "a slot request without its fields"],
)
def test_a_request_it_cannot_take_gets_400_after_the_answer_before_it(
    fake: LeanFake, bad: bytes
) -> None:
    answers = fake.exchange(f"GET {fake.api}/v3/chats/x HTTP/1.1\r\n\r\n".encode() + bad, answers=2)
    assert answers.startswith(b"HTTP/1.1 200 ")
    assert answers.count(b"HTTP/1.1 ") == 2
    assert b"HTTP/1.1 400 " in answers
