"""The fake's API site: ``/api/partner/v3/...`` routes, authentication and JSON errors."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import uuid
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from . import _render as render
from . import _rules as rules
from ._declare import Call, Endpoint, add_message, new_chat, run_handler, uploaded_attachment
from ._envelope import ApiError, api_error_response, default_api_code
from ._routes import ENDPOINTS
from ._routes_account import refuse_blocked_direct_send
from ._state import FakeAttachment, FakeChat, FakeMessage, Replay, Store, utcnow
from ._storage import UploadStorage

API_PREFIX = "/api/partner"
_V3 = f"{API_PREFIX}/v3"


def _new_id() -> str:
    return str(uuid.uuid4())


def _json_response(data: object) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), content_type="application/json")


def _reject_constant(name: str) -> Any:
    # json.loads accepts NaN and Infinity; JSON does not.
    raise ValueError(f"{name} is not valid JSON")


async def _read_json(request: web.Request) -> dict[str, Any]:
    if request.content_type != "application/json":
        raise ApiError(
            400, 1003, f"Content-Type must be application/json, not {request.content_type}"
        )
    raw = await request.read()
    try:
        value = json.loads(raw, parse_constant=_reject_constant)
    except ValueError as exc:
        raise ApiError(400, 1003, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(400, 1003, "the body must be a JSON object")
    return value


class ApiRoutes:
    """The Linq API routes the fake implements, over the shared `_state.Store`.

    Args:
        store: The fake's records.
        storage: The strategy that presigns upload URLs.
        api_key: The only key the routes accept.
        upload_ttl: How long upload URLs stay valid.
    """

    def __init__(
        self, *, store: Store, storage: UploadStorage, api_key: str, upload_ttl: dt.timedelta
    ) -> None:
        self._store = store
        self._storage = storage
        self._api_key = api_key
        self._upload_ttl = upload_ttl

    def install(self, app: web.Application) -> None:
        """Add the routes and the auth/error middleware to ``app``."""
        app.middlewares.append(self._middleware())
        router = app.router
        router.add_post(f"{_V3}/attachments", self.create_attachment)
        router.add_get(f"{_V3}/attachments/{{attachment_id}}", self.get_attachment)
        router.add_delete(f"{_V3}/attachments/{{attachment_id}}", self.delete_attachment)
        router.add_post(f"{_V3}/chats", self.create_chat)
        router.add_get(f"{_V3}/chats", self.list_chats)
        router.add_get(f"{_V3}/chats/{{chat_id}}", self.get_chat)
        router.add_post(f"{_V3}/chats/{{chat_id}}/messages", self.send_message)
        router.add_get(f"{_V3}/chats/{{chat_id}}/messages", self.list_messages)
        router.add_get(f"{_V3}/messages/{{message_id}}", self.get_message)
        for endpoint in ENDPOINTS:
            route = f"{API_PREFIX}{endpoint.route}"
            router.add_route(endpoint.method, route, self._declared(endpoint))

    def _declared(self, endpoint: Endpoint) -> Handler:
        """The aiohttp handler of a declared endpoint: checks, replay, behaviour, answer."""

        async def handle(request: web.Request) -> web.StreamResponse:
            raw = await request.read()
            body: dict[str, Any] = {}
            if endpoint.body is not None:
                body = endpoint.body(await _read_json(request), "")
            elif raw:
                raise ApiError(400, 1005, f"{endpoint.method} {endpoint.route} takes no body")
            query = _check_query(request, endpoint)
            key = None
            if endpoint.idempotency_header:
                key = request.headers.get("Idempotency-Key") or None
            # A header key is scoped to its route: the same key on another endpoint is another
            # request. Checked under the lock, so two concurrent repeats run the handler once.
            replay_key = (self._api_key, f"{endpoint.method} {endpoint.route} {key}")
            call = Call(
                request=request,
                params=dict(request.match_info),
                body=body,
                query=query,
                store=self._store,
                idempotency_key=key,
                storage=self._storage,
            )
            async with self._store.write_lock:
                replay = self._store.replays.get(replay_key) if key else None
                if replay is not None:
                    return web.Response(
                        status=replay.status, body=replay.body, content_type="application/json"
                    )
                result = await run_handler(endpoint, call)
                data = None if result is None else json.dumps(result).encode()
                if key is not None and data is not None:
                    self._store.replays[replay_key] = Replay(status=endpoint.status, body=data)
            if data is None:
                return web.Response(status=endpoint.empty_status)
            return web.Response(
                status=endpoint.status, body=data, content_type=endpoint.content_type
            )

        return handle

    def _middleware(self) -> Middleware:
        @web.middleware
        async def api_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
            try:
                if not request.path.startswith(f"{API_PREFIX}/"):
                    raise ApiError(404, 2001, f"Resource not found: {request.path}")
                self._authorize(request)
                return await handler(request)
            except ApiError as exc:
                return api_error_response(exc)
            except web.HTTPException as exc:
                return api_error_response(_from_http_exception(request, exc))

        return api_errors

    def _authorize(self, request: web.Request) -> None:
        sent = request.headers.get("Authorization", "")
        expected = f"Bearer {self._api_key}"
        if not hmac.compare_digest(
            sent.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape")
        ):
            raise ApiError(
                401,
                2004,
                "Missing or invalid API key" if sent else "Missing Authorization header",
                headers={"WWW-Authenticate": "Bearer"},
            )

    # Attachments

    async def create_attachment(self, request: web.Request) -> web.Response:
        """``POST /v3/attachments``: make an upload slot and presign its URL."""
        spec = rules.attachment_request(await _read_json(request))
        record = FakeAttachment(
            id=_new_id(),
            filename=spec.filename,
            content_type=spec.content_type,
            size_bytes=spec.size_bytes,
            created_at=utcnow(),
        )
        self._store.attachments[record.id] = record
        if self._store.download_url is not None:
            record.download_url = self._store.download_url(record)
        upload = self._storage.presign(record, ttl=self._upload_ttl)
        record.upload_url = upload.url
        record.upload_expires_at = upload.expires_at
        return _json_response(
            {
                "attachment_id": record.id,
                "upload_url": upload.url,
                "download_url": render.download_url(record),
                "http_method": "PUT",
                "expires_at": render.iso(upload.expires_at),
                "required_headers": dict(upload.required_headers),
            }
        )

    async def get_attachment(self, request: web.Request) -> web.Response:
        """``GET /v3/attachments/{id}``."""
        record = self._attachment(request.match_info["attachment_id"])
        await self._storage.refresh(record)
        return _json_response(render.attachment(record))

    async def delete_attachment(self, request: web.Request) -> web.Response:
        """``DELETE /v3/attachments/{id}``: 204; its upload URLs then answer NoSuchKey."""
        attachment_id = request.match_info["attachment_id"]
        if not rules.is_uuid(attachment_id):
            # The API documents 400 (not 404) for a malformed id on DELETE.
            raise ApiError(400, 1005, f"attachment id {attachment_id!r} is not a UUID")
        self._attachment(attachment_id)
        del self._store.attachments[attachment_id]
        return web.Response(status=204)

    def _attachment(self, attachment_id: str) -> FakeAttachment:
        record = self._store.attachments.get(attachment_id)
        if record is None or not rules.is_uuid(attachment_id):
            raise ApiError(404, 2003, f"Attachment {attachment_id} not found")
        return record

    # Chats and messages

    async def create_chat(self, request: web.Request) -> web.Response:
        """``POST /v3/chats``: find or make the chat for from + to, and send into it."""
        body = await _read_json(request)
        async with self._store.write_lock:
            replay = self._replay(body)
            if replay is not None:
                return replay
            spec = rules.chat_request(body)
            refuse_blocked_direct_send(self._store, spec.to)
            if spec.message.has_mention() and len(spec.to) == 1:
                raise _mention_in_direct_chat()
            await self._check_attachments(spec.message)
            chat_key = (spec.from_handle, frozenset(spec.to))
            chat_id = self._store.chat_keys.get(chat_key)
            # A chat your line left is not reused: the same people get a new chat.
            if chat_id is None or self._store.chats[chat_id].left_at is not None:
                _check_first_message(spec.message)
                chat = self._new_chat(spec.from_handle, spec.to)
                self._store.chat_keys[chat_key] = chat.id
            else:
                chat = self._store.chats[chat_id]
                self._check_reply_to(spec.message, chat)
            message = self._add_message(chat, spec.message, spec.override_optout)
            return self._respond(render.created_chat(chat, message), spec.message)

    async def send_message(self, request: web.Request) -> web.Response:
        """``POST /v3/chats/{id}/messages``."""
        chat = self._chat(request.match_info["chat_id"])
        if chat.left_at is not None:
            raise ApiError(409, 2013, f"Chat {chat.id} is unavailable: your line left it")
        body = await _read_json(request)
        async with self._store.write_lock:
            replay = self._replay(body)
            if replay is not None:
                return replay
            spec = rules.send_request(body)
            refuse_blocked_direct_send(self._store, chat.handles)
            if spec.message.has_mention() and not chat.is_group:
                raise _mention_in_direct_chat()
            await self._check_attachments(spec.message)
            self._check_reply_to(spec.message, chat)
            message = self._add_message(chat, spec.message, spec.override_optout)
            data = {"chat_id": chat.id, "message": render.sent_message(message, chat)}
            return self._respond(data, spec.message)

    async def get_chat(self, request: web.Request) -> web.Response:
        """``GET /v3/chats/{id}``."""
        return _json_response(render.chat(self._chat(request.match_info["chat_id"])))

    async def list_chats(self, request: web.Request) -> web.Response:
        """``GET /v3/chats``: newest first, filtered by ``from`` and ``to``."""
        query = request.query
        page = rules.page(query, filters=frozenset({"from", "to"}))
        senders = query.getall("from", [])
        if len(senders) > 1:
            raise ApiError(400, 1005, "from given more than once")
        sender = rules.phone(senders[0], "from") if senders else None
        wanted = [
            rules.handle(item, "to")
            for value in query.getall("to", [])
            for item in value.split(",")
        ]
        chats = [
            chat
            for chat in reversed(self._store.chats.values())
            if (sender is None or chat.from_handle == sender)
            and all(handle in chat.handles for handle in wanted)
        ]
        items, next_cursor = _slice(chats, page)
        return _json_response(
            {"chats": [render.chat(chat) for chat in items], "next_cursor": next_cursor}
        )

    async def list_messages(self, request: web.Request) -> web.Response:
        """``GET /v3/chats/{id}/messages``: newest first."""
        chat = self._chat(request.match_info["chat_id"])
        page = rules.page(request.query)
        messages = [self._store.messages[mid] for mid in reversed(chat.message_ids)]
        items, next_cursor = _slice(messages, page)
        return _json_response(
            {
                "messages": [render.message(message, chat) for message in items],
                "next_cursor": next_cursor,
            }
        )

    async def get_message(self, request: web.Request) -> web.Response:
        """``GET /v3/messages/{id}``."""
        message_id = request.match_info["message_id"]
        message = self._store.messages.get(message_id)
        if message is None or not rules.is_uuid(message_id):
            raise ApiError(404, 2002, f"Message {message_id} not found")
        return _json_response(render.message(message, self._store.chats[message.chat_id]))

    def _chat(self, chat_id: str) -> FakeChat:
        chat = self._store.chats.get(chat_id)
        if chat is None or not rules.is_uuid(chat_id):
            raise ApiError(404, 2001, f"Chat {chat_id} not found")
        return chat

    def _replay(self, body: dict[str, Any]) -> web.Response | None:
        key = rules.idempotency_key(body)
        if key is None:
            return None
        replay = self._store.replays.get((self._api_key, key))
        if replay is None:
            return None
        # The fact sheet: reusing the key of a deleted (or expired) message answers 404 and
        # never sends again.
        answer = json.loads(replay.body)  # POST /v3/chats nests the message in the chat
        message_id = (answer.get("message") or answer.get("chat", {}).get("message", {})).get("id")
        if message_id is not None and message_id not in self._store.messages:
            raise ApiError(404, 2002, f"Message {message_id} was deleted; it is not sent again")
        return web.Response(status=replay.status, body=replay.body, content_type="application/json")

    def _respond(self, data: dict[str, Any], message: rules.MessageRequest) -> web.Response:
        body = json.dumps(data).encode()
        if message.idempotency_key is not None:
            replay = Replay(status=200, body=body)
            self._store.replays[(self._api_key, message.idempotency_key)] = replay
        return web.Response(body=body, content_type="application/json")

    async def _check_attachments(self, message: rules.MessageRequest) -> None:
        for attachment_id in message.attachment_ids():
            await uploaded_attachment(self._store, self._storage, attachment_id)

    def _check_reply_to(self, message: rules.MessageRequest, chat: FakeChat) -> None:
        if message.reply_to is None:
            return
        target_id = message.reply_to["message_id"]
        target = self._store.messages.get(target_id)
        if target is None or target.chat_id != chat.id:
            raise ApiError(404, 2002, f"Message {target_id} not found in chat {chat.id}")
        index = message.reply_to.get("part_index") or 0
        if index >= max(len(target.parts), 1):
            raise ApiError(400, 1005, f"message.reply_to.part_index {index} is out of range")

    def _new_chat(self, from_handle: str, to: list[str]) -> FakeChat:
        return new_chat(self._store, from_handle, to)

    def _add_message(
        self, chat: FakeChat, spec: rules.MessageRequest, override_optout: bool | None
    ) -> FakeMessage:
        return add_message(self._store, chat, spec, override_optout)


def _check_query(request: web.Request, endpoint: Endpoint) -> dict[str, Any]:
    schema = endpoint.query or {}
    query = request.query
    unknown = sorted(set(query) - set(schema))
    if unknown:
        raise ApiError(400, 1005, f"unknown query parameter {unknown[0]!r}")
    checked: dict[str, Any] = {}
    for name, field in schema.items():
        values = query.getall(name, [])
        if len(values) > 1 and not field.repeated:
            raise ApiError(400, 1005, f"{name} given more than once")
        if not values:
            if field.required:
                raise ApiError(400, 1001, f"query parameter {name} is required")
            continue
        checked[name] = field.check(values if field.repeated else values[0], name)
    return checked


def _mention_in_direct_chat() -> ApiError:
    return ApiError(409, 2023, "Mentions are only supported in group chats")


def _check_first_message(message: rules.MessageRequest) -> None:
    if message.has_link():
        raise ApiError(400, 1005, "the first message of a new chat may not contain a link")
    if message.reply_to is not None:
        raise ApiError(400, 1005, "the first message of a new chat may not have reply_to")
    if message.effect is not None:
        raise ApiError(400, 1005, "the first message of a new chat may not have an effect")


def _slice(items: list[Any], page: rules.Page) -> tuple[list[Any], str | None]:
    end = page.offset + page.limit
    return items[page.offset : end], (str(end) if end < len(items) else None)


def _from_http_exception(request: web.Request, exc: web.HTTPException) -> ApiError:
    if exc.status == 404:
        return ApiError(404, 2001, f"Resource not found: {request.path}")
    if exc.status == 405:
        allow = exc.headers.get("Allow", "")
        return ApiError(405, 1005, f"Method {request.method} not allowed", headers={"Allow": allow})
    return ApiError(exc.status, default_api_code(exc.status), exc.reason)
