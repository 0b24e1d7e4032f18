"""A lean fake Linq API for the send and upload workloads: the full fake's answers, replayed.

``FakeLinqServer`` checks every request and keeps state, which costs it about as much CPU
per call as the client it serves, so on a 2-core machine it sets the pace of any fast
client and the client's CPU per call then depends on how long it idles between answers.
This server answers in a few microseconds, so each client runs flat out and the CPU it
spends per call is its own.

At start it runs a ``FakeLinqServer`` in this process and makes one request of every kind
the send workloads make (with plain aiohttp, not linq-async): upload slot, storage PUT,
``POST /v3/chats`` (text, and text plus media), ``POST /v3/chats/{id}/messages``,
``POST /v3/messages``, ``GET /v3/chats/{id}``. It keeps each answer's status and body,
stops the full fake, and from then on answers the same request kinds with those bodies,
each with a fresh message id (and each upload slot with a fresh attachment id and an
upload URL pointing here). It reads each API request's head and its ``Content-Length``
bytes of body, and checks nothing else; a route it does not know gets a 404 with the API's
error shape, and a request it cannot take a 400.

A storage PUT is checked as storage would (the URL exactly as issued, signed query and
all, and the slot's ``Content-Length`` and ``Content-Type``; a 403 otherwise), and its
body is checksummed (CRC-32) as it arrives, from one reused 1 MiB read buffer, and never
kept. The full fake's storage (aiohttp's server, a file write, SHA-256) ran a 100 MiB
upload at about 290 MiB/s at 100% of a core, and this fake with SHA-256 at about 1.1
GB/s, again at 100%: either way the fake set the upload's pace. CRC-32 is enough to catch
a body that arrived other than sent, at a third of SHA-256's CPU.

Driven over stdin/stdout like ``bench.fake_server`` (``stats``, ``crc32 <attachment_id>``,
``quit``); ``stats`` counts the messages as the requests that create one. Run by hand with
``python -m bench.lean_fake``.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
import uuid
import zlib
from email.utils import formatdate
from typing import Any
from urllib.parse import quote

import aiohttp
from yarl import URL

from bench._common import maxrss_kib
from linq_async.testing import FakeLinqServer

SENDER = "+12223334444"
_REASONS = {
    200: b"OK",
    201: b"Created",
    202: b"Accepted",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
}


class Answer:
    """A canned answer: status and body, with the message id swapped for a fresh one."""

    def __init__(self, status: int, body: bytes, message_id: str | None) -> None:
        self.status = status
        self.body = body
        self.message_id = message_id.encode() if message_id else None
        self.served = 0

    def render(self, date: bytes) -> bytes:
        """The whole HTTP response."""
        self.served += 1
        body = self.body
        if self.message_id is not None:
            fresh = f"{self.served:032x}"
            fresh = f"{fresh[:8]}-{fresh[8:12]}-{fresh[12:16]}-{fresh[16:20]}-{fresh[20:]}"
            body = body.replace(self.message_id, fresh.encode())
        return b"".join(
            (
                b"HTTP/1.1 %d %s\r\n" % (self.status, _REASONS.get(self.status, b"OK")),
                b"Content-Type: application/json; charset=utf-8\r\n",
                b"Content-Length: %d\r\nDate: %s\r\n\r\n" % (len(body), date),
                body,
            )
        )


async def record(prefix: str) -> dict[str, Answer]:
    """Ask a full ``FakeLinqServer`` once per request kind; return its answers by kind.

    ``prefix``: what replaces the full fake's ``http://host:port`` in the answers.
    """
    answers: dict[str, Answer] = {}
    async with FakeLinqServer() as fake, aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {fake.api_key}"}
        base = fake.base_url

        async def ask(kind: str, method: str, url: str, body: Any = None) -> Any:
            async with http.request(method, url, json=body, headers=headers) as resp:
                raw = await resp.read()
                resp.raise_for_status()
            data = json.loads(raw) if raw else {}
            message = data.get("message") if isinstance(data, dict) else None
            if isinstance(data, dict) and "chat" in data:
                message = data["chat"].get("message")
            message_id = message.get("id") if isinstance(message, dict) else None
            answers[kind] = Answer(resp.status, raw, message_id)
            return data

        slot = await ask(
            "slot",
            "POST",
            f"{base}/v3/attachments",
            {"filename": "a.png", "content_type": "image/png", "size_bytes": 4},
        )
        async with http.put(
            URL(slot["upload_url"], encoded=True), data=b"\x89PNG", headers=slot["required_headers"]
        ) as resp:
            resp.raise_for_status()
            answers["put"] = Answer(resp.status, await resp.read(), None)
        text = {"type": "text", "value": "hi"}
        media = {"type": "media", "attachment_id": slot["attachment_id"]}
        created = await ask(
            "create",
            "POST",
            f"{base}/v3/chats",
            {"from": SENDER, "to": ["+13334445555"], "message": {"parts": [text]}},
        )
        await ask(
            "create_media",
            "POST",
            f"{base}/v3/chats",
            {"from": SENDER, "to": ["+13334445556"], "message": {"parts": [text, media]}},
        )
        chat = created["chat"]["id"]
        await ask(
            "send_in_chat",
            "POST",
            f"{base}/v3/chats/{chat}/messages",
            {"message": {"parts": [text]}},
        )
        await ask(
            "send_auto",
            "POST",
            f"{base}/v3/messages",
            {"to": ["+13334445557"], "message": {"parts": [text]}},
        )
        await ask("get_chat", "GET", f"{base}/v3/chats/{chat}")
        origins = {str(URL(url).origin()) for url in (base, slot["upload_url"])}
    for answer in answers.values():
        for origin in origins:
            answer.body = answer.body.replace(origin.encode(), prefix.encode())
    return answers


class Slot:
    """An upload slot handed out: what its PUT must send (the URL exactly as issued, the
    declared size and type)."""

    def __init__(self, attachment_id: str, target: bytes, size: int, content_type: str) -> None:
        self.attachment_id = attachment_id
        self.target = target
        self.size = size
        self.content_type = content_type


class Put:
    """A storage PUT being received: its body is checksummed as it arrives, never kept."""

    def __init__(
        self, target: bytes, length: int, content_type: bytes | None, authorized: bool
    ) -> None:
        self.target = target
        self.length = length
        self.content_type = content_type
        self.authorized = authorized  # it carried an Authorization header
        self.remaining = length
        self.crc32 = 0

    def feed(self, data: memoryview) -> memoryview:
        """Take what belongs to this body; return the rest (the next request's bytes)."""
        take = data[: self.remaining]
        self.crc32 = zlib.crc32(take, self.crc32)
        self.remaining -= len(take)
        return data[len(take) :]


class LeanFake:
    """The replaying server's state: its answers and what it has served."""

    def __init__(self, answers: dict[str, Answer], api_prefix: bytes) -> None:
        self.answers = answers
        self.api_prefix = api_prefix
        self.requests = 0
        self.messages = 0
        self.slots: dict[bytes, Slot] = {}
        """Each upload slot handed out, by the path of its upload URL."""
        self.stored: dict[str, dict[str, Any]] = {}
        """What each attachment's PUT delivered: ``crc32``, ``received_bytes``, ``status``."""
        self._date = b""
        self._date_at = 0.0

    def date(self) -> bytes:
        """The ``Date`` header, made at most once a second."""
        now = time.time()
        if now - self._date_at >= 1.0:
            self._date, self._date_at = formatdate(now, usegmt=True).encode(), now
        return self._date

    def respond(self, method: bytes, target: bytes, body: bytes) -> bytes:
        """The response to one API request (a storage PUT goes to `stored_put`)."""
        self.requests += 1
        path = target.split(b"?", 1)[0]
        kind = None
        if path.startswith(self.api_prefix):
            route = path[len(self.api_prefix) :].split(b"/")
            if method == b"POST" and route == [b"chats"]:
                kind = "create_media" if b'"media"' in body else "create"
            elif method == b"POST" and len(route) == 3 and route[0] == b"chats":
                kind = "send_in_chat" if route[2] == b"messages" else None
            elif method == b"POST" and route == [b"messages"]:
                kind = "send_auto"
            elif method == b"GET" and len(route) == 2 and route[0] == b"chats":
                kind = "get_chat"
            elif method == b"POST" and route == [b"attachments"]:
                kind = "slot"
        if kind is None:
            return _error(404, "no such route in the lean fake")
        if kind == "slot":
            return self._slot(body)
        if kind != "get_chat":
            self.messages += 1
        return self.answers[kind].render(self.date())

    def stored_put(self, put: Put) -> bytes:
        """Check a PUT against its slot, record what it delivered; return the answer.

        Refused, as ``FakeLinqServer``'s storage refuses them: with 403, as a request that
        does not match its signature, a URL other than the one issued, byte for byte, or a
        ``Content-Length`` or ``Content-Type`` other than the slot's; with 400, an
        ``Authorization`` header (an API key sent to storage). A PUT to no slot's path is
        a 404.
        """
        self.requests += 1
        slot = self.slots.get(put.target.split(b"?", 1)[0])
        if slot is None:
            return _error(404, "no upload slot at this URL")
        if put.target != slot.target:
            return _error(403, "the URL is not the one issued (its query is signed)")
        if put.length != slot.size:
            return _error(403, f"Content-Length {put.length}, the slot was issued for {slot.size}")
        if put.content_type != slot.content_type.encode():
            return _error(403, f"Content-Type {put.content_type!r}, not {slot.content_type!r}")
        if put.authorized:
            return _error(400, "an Authorization header: storage must never see the API key")
        self.stored[slot.attachment_id] = {
            "crc32": put.crc32,
            "received_bytes": put.length,
            "status": "uploaded",
        }
        return self.answers["put"].render(self.date())

    def _slot(self, body: bytes) -> bytes:
        """An upload slot for the file the request describes (its name, type and size)."""
        asked = json.loads(body)
        slot = json.loads(self.answers["slot"].body)
        for key in ("filename", "content_type", "size_bytes"):
            slot[key] = asked[key]
        fresh = str(uuid.uuid4())
        # The recorded URL with this slot's id and file name: put together as text, since
        # yarl would quote the signed query's escapes (%2F) once more.
        url = URL(slot["upload_url"], encoded=True)
        path = f"{url.raw_path.rsplit('/', 2)[0]}/{fresh}/{quote(str(asked['filename']), safe='')}"
        slot["upload_url"] = f"{url.origin()}{path}?{url.raw_query_string}"
        slot["attachment_id"] = fresh
        self.slots[path.encode()] = Slot(
            fresh,
            f"{path}?{url.raw_query_string}".encode(),
            int(asked["size_bytes"]),
            str(asked["content_type"]),
        )
        slot["required_headers"] = {
            **slot["required_headers"],
            "Content-Type": asked["content_type"],
            "Content-Length": str(asked["size_bytes"]),
        }
        return Answer(self.answers["slot"].status, json.dumps(slot).encode(), None).render(
            self.date()
        )


_RECEIVE = 1024 * 1024
"""Bytes read from a connection at a time (into one buffer, reused)."""


def _error(status: int, message: str) -> bytes:
    """An answer with the API's error shape."""
    body = json.dumps({"error": {"status": status, "code": 0, "message": message}}).encode()
    reason = _REASONS.get(status, b"Error")
    return b"".join(
        (
            b"HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n" % (status, reason),
            b"Content-Length: %d\r\n\r\n" % len(body),
            body,
        )
    )


class _Connection(asyncio.BufferedProtocol):
    """HTTP/1.1 with keep-alive: a head, then exactly ``Content-Length`` bytes of body.

    Reads go into one 1 MiB buffer (no allocation per read); a PUT's body is checksummed
    straight from it. A request it cannot take (no ``Content-Length`` on a body, a bad head
    or length, a slot request that is not the JSON it expects) gets a 400 after the
    answers before it, and the connection is closed.
    """

    def __init__(self, fake: LeanFake) -> None:
        self.fake = fake
        self.pending = bytearray()  # request bytes not yet answered (heads, small bodies)
        self.head: tuple[bytes, bytes, int] | None = None
        self.put: Put | None = None
        self.transport: asyncio.Transport | None = None
        self.received = memoryview(bytearray(_RECEIVE))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        return self.received

    def buffer_updated(self, nbytes: int) -> None:
        data = self.received[:nbytes]
        out: list[bytes] = []
        failed = False
        try:
            while data:
                put = self.put
                if put is not None:
                    data = put.feed(data)
                    if put.remaining:
                        break
                    self.put = None
                    out.append(self.fake.stored_put(put))
                else:
                    data = self._requests(data, out)
        except Exception as exc:  # a request this fake cannot read or answer
            out.append(_error(400, f"the lean fake cannot take this request: {exc!r}"))
            failed = True
        if self.transport is not None:
            if out:
                self.transport.write(b"".join(out))
            if failed:
                self.transport.close()

    def _requests(self, data: memoryview, out: list[bytes]) -> memoryview:
        """Answer the whole requests buffered; return body bytes of a PUT that began.

        Raises:
            ValueError: a head it cannot read, a ``Content-Length`` that is not a decimal
                number, or a body without one.
        """
        pending = self.pending
        pending += data
        while True:
            if self.head is None:
                end = pending.find(b"\r\n\r\n")
                if end < 0:
                    break
                lines = bytes(pending[:end]).split(b"\r\n")
                del pending[: end + 4]
                method, target, _ = lines[0].split(b" ", 2)
                length = 0
                content_type = None
                authorized = expects = False
                for line in lines[1:]:
                    name, _, value = line.partition(b":")
                    name, value = name.strip().lower(), value.strip()
                    if name == b"content-length":
                        if not value.isdigit():
                            raise ValueError(f"Content-Length {value!r}")
                        length = int(value)
                    elif name == b"content-type":
                        content_type = value
                    elif name == b"authorization":
                        authorized = True
                    elif name == b"transfer-encoding":
                        raise ValueError("a body without Content-Length")
                    elif name == b"expect" and value.lower() == b"100-continue":
                        expects = True
                if expects:
                    # curl asks before a big body, and waits a second for the go-ahead
                    # (sent after any answer before it, with them).
                    out.append(b"HTTP/1.1 100 Continue\r\n\r\n")
                if method == b"PUT":
                    put = Put(target, length, content_type, authorized)
                    if length:
                        self.put = put
                        rest = memoryview(bytes(pending))
                        pending.clear()
                        return rest
                    out.append(self.fake.stored_put(put))
                    continue
                self.head = (method, target, length)
            method, target, length = self.head
            if len(pending) < length:
                break
            body = bytes(pending[:length])
            del pending[:length]
            self.head = None
            out.append(self.fake.respond(method, target, body))
        return memoryview(b"")


def _stats(fake: LeanFake) -> dict[str, Any]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "maxrss_kib": maxrss_kib(usage),
        "requests": fake.requests,
        "chats": 0,
        "messages": fake.messages,
    }


def _crc32(fake: LeanFake, attachment_id: str) -> dict[str, Any]:
    none = {"crc32": None, "status": None, "received_bytes": None}
    return fake.stored.get(attachment_id, none)


async def serve() -> None:
    """Record the full fake's answers, then replay them until ``quit`` or end of stdin."""
    loop = asyncio.get_running_loop()
    holder: list[LeanFake] = []
    server = await loop.create_server(lambda: _Connection(holder[0]), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    origin = f"http://127.0.0.1:{port}"
    answers = await record(origin)
    holder.append(LeanFake(answers, b"/api/partner/v3/"))
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    hello = {"base_url": f"{origin}/api/partner", "api_key": "lean-fake-key", "pid": os.getpid()}
    print(json.dumps(hello), flush=True)
    try:
        while True:
            words = (await reader.readline()).decode().split()
            if not words or words[0] == "quit":
                break
            if words[0] == "stats":
                print(json.dumps(_stats(holder[0])), flush=True)
            elif words[0] == "crc32" and len(words) == 2:
                print(json.dumps(_crc32(holder[0], words[1])), flush=True)
            else:
                print(json.dumps({"error": f"unknown command {words[0]!r}"}), flush=True)
    finally:
        server.close()


def main() -> int:
    """Entry point."""
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
