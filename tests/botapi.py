"""A Bot API server for the tests: real HTTP on 127.0.0.1, the methods irbot calls, and people to drive it.

It behaves like Telegram where the bot could get it wrong: it parses HTML the way Telegram does (unknown tags,
broken nesting or unescaped `<`/`&` are a 400 "can't parse entities"), rejects messages over 4,096 characters,
callback data over 64 bytes and "message is not modified" edits, lets each callback query be answered once,
and hands out updates through `getUpdates` (offset confirms them) or POSTs them to a webhook with its secret
token. It can inject faults: 429 with retry_after, 500s, dropped connections, slow answers.

What a person sees is kept per chat: every message with its plain text, links, blockquotes and buttons.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shutil
import socket
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Callable

import httpx
import tornado.httpserver
import tornado.web

TOKEN = "123456789:AAHk-test-token_DO_NOT_LEAK_abcdefghij"
BOT_ID = 123456789
USERNAME = "ThisBot"

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code",
                "pre", "blockquote", "tg-emoji"}
ENTITY_OF = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
             "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "a": "text_link",
             "code": "code", "pre": "pre", "blockquote": "blockquote", "tg-spoiler": "spoiler", "span": "spoiler"}


class ParseError(Exception):
    pass


class TelegramHTML(HTMLParser):
    """Telegram's HTML parse mode, strictly: the visible text and the entities, or ParseError."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text: list[str] = []
        self.stack: list[tuple[str, dict, int]] = []
        self.entities: list[dict] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise ParseError(f"Unsupported start tag \"{tag}\"")
        attrs = dict(attrs)
        if tag == "a" and not attrs.get("href"):
            raise ParseError("a tag without href")
        if tag == "blockquote" and any(t == "blockquote" for t, _, _ in self.stack):
            raise ParseError("nested blockquote")
        self.stack.append((tag, attrs, len("".join(self.text))))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            raise ParseError(f"Unmatched end tag \"{tag}\"")
        tag, attrs, start = self.stack.pop()
        text = "".join(self.text)[start:]
        kind = ENTITY_OF.get(tag, tag)
        if tag == "blockquote" and "expandable" in attrs:
            kind = "expandable_blockquote"
        self.entities.append({"type": kind, "text": text, **({"url": attrs["href"]} if tag == "a" else {})})

    def handle_data(self, data):
        self.text.append(data)

    def parse(self, source: str) -> tuple[str, list[dict]]:
        # Telegram rejects a bare '<' or '&' that does not start a tag or an entity
        if re.search(r"<(?![a-zA-Z/])", source) or re.search(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)", source):
            raise ParseError("unescaped < or &")
        self.feed(source)
        self.close()
        if self.stack:
            raise ParseError(f"Unclosed start tag \"{self.stack[-1][0]}\"")
        return "".join(self.text), self.entities


def parse_html(source: str) -> tuple[str, list[dict]]:
    return TelegramHTML().parse(source)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class APIError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None):
        super().__init__(description)
        self.code, self.description, self.retry_after = code, description, retry_after


@dataclass
class Msg:
    """One message in a chat, as a person sees it."""
    chat_id: int
    message_id: int
    sender: dict
    text: str
    html: str = ""
    entities: list[dict] = field(default_factory=list)
    buttons: list[list[dict]] = field(default_factory=list)
    reply_to: int | None = None
    edits: int = 0
    via_bot: bool = False
    created: float = field(default_factory=time.perf_counter)

    @property
    def from_bot(self) -> bool:
        return self.sender.get("id") == BOT_ID

    @property
    def blockquotes(self) -> list[str]:
        return [x["text"] for x in self.entities if x["type"] in ("blockquote", "expandable_blockquote")]

    @property
    def expandable(self) -> list[str]:
        return [x["text"] for x in self.entities if x["type"] == "expandable_blockquote"]

    @property
    def links(self) -> list[tuple[str, str]]:
        return [(x["text"], x["url"]) for x in self.entities if x["type"] == "text_link"]

    def button(self, label: str) -> dict:
        for row in self.buttons:
            for b in row:
                if b["text"].strip(" ▸◂").lower() == label.lower():
                    return b
        raise LookupError(f"no button {label!r} under message {self.message_id}: "
                          f"{[b['text'] for row in self.buttons for b in row]}")

    @property
    def labels(self) -> list[str]:
        return [b["text"].strip(" ▸◂") for row in self.buttons for b in row]


def _user(uid: int, name: str) -> dict:
    return {"id": uid, "is_bot": False, "first_name": name, "username": name.lower()}


class _Handler(tornado.web.RequestHandler):
    def initialize(self, api: "BotAPI"):
        self.api = api

    def check_xsrf_cookie(self):
        pass

    async def post(self, token: str, method: str):
        await self.api._serve(self, token, method)

    get = post


class BotAPI:
    """The server, plus the people who talk to the bot through it."""

    def __init__(self, token: str = TOKEN):
        self.token = token
        self.me = {"id": BOT_ID, "is_bot": True, "first_name": "irbot", "username": USERNAME, "can_join_groups": True,
                   "can_read_all_group_messages": False, "supports_inline_queries": True}
        self.calls: list[tuple[str, dict]] = []
        self.updates: list[dict] = []           # not yet confirmed (getUpdates) or delivered (webhook)
        self.update_ids = itertools.count(1)
        self.handed_out: dict[int, int] = {}     # update_id -> times given to the bot
        self.chats: dict[int, dict[int, Msg]] = {}
        self.chat_info: dict[int, dict] = {}
        self.message_ids: dict[int, itertools.count] = {}
        self.callbacks: dict[str, dict] = {}     # id -> the query, and the bot's answer once it came
        self.inline: dict[str, dict] = {}
        self.commands: dict[str, list] = {}
        self.webhook: dict | None = None
        self.left: list[int] = []
        self.faults: list[dict] = []
        self.inline_sent: dict[str, Msg] = {}
        self.errors: list[tuple[str, str]] = []  # 400s the bot caused: (method, description)
        self._changed = asyncio.Condition()
        self._server: tornado.httpserver.HTTPServer | None = None
        self._deliveries: set[asyncio.Task] = set()
        self.port = 0
        self.closing = False
        self.sent = 0                            # messages the bot has sent, in all chats
        self.blocked: set[int] = set()           # private chats whose user blocked the bot
        self.admins: dict[int, set[int]] = {}    # group id -> its administrators' user ids
        self.description = {"description": "", "short_description": ""}

    # --- running -----------------------------------------------------------------------------------------

    async def start(self) -> "BotAPI":
        app = tornado.web.Application([(r"/bot([^/]+)/(\w+)", _Handler, {"api": self})],
                                      log_function=lambda handler: None)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        sock.setblocking(False)
        self.port = sock.getsockname()[1]
        self._server = tornado.httpserver.HTTPServer(app)
        self._server.add_sockets([sock])
        return self

    async def stop(self) -> None:
        self.closing = True
        async with self._changed:
            self._changed.notify_all()
        for t in list(self._deliveries):
            t.cancel()
        if self._server:
            self._server.stop()
            await self._server.close_all_connections()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # --- faults ------------------------------------------------------------------------------------------

    def fail(self, method: str, kind: str, times: int = 1, retry_after: int = 1, delay: float = 0.0) -> None:
        """The next `times` calls of `method` fail: kind '429' (retry_after), '500', 'drop' (the connection
        is closed without an answer, before the call takes effect), 'lose' (the call takes effect, then the
        connection is closed without an answer) or 'slow' (answered after `delay` s)."""
        self.faults.append({"method": method.lower(), "kind": kind, "times": times, "retry_after": retry_after,
                            "delay": delay})

    def _fault_for(self, method: str) -> dict | None:
        for f in self.faults:
            if f["method"] == method.lower() and f["times"] > 0:
                f["times"] -= 1
                return f
        return None

    # --- HTTP --------------------------------------------------------------------------------------------

    async def _serve(self, handler: _Handler, token: str, method: str) -> None:
        if token != self.token:
            handler.set_status(401)
            handler.finish({"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        params = self._params(handler)
        fault = self._fault_for(method)
        if fault and fault["kind"] == "drop":
            self._drop(handler)
            return
        if fault and fault["kind"] == "429":
            handler.set_status(429)
            handler.finish({"ok": False, "error_code": 429, "description": "Too Many Requests: retry after "
                            f"{fault['retry_after']}", "parameters": {"retry_after": fault["retry_after"]}})
            return
        if fault and fault["kind"] == "500":
            handler.set_status(500)
            handler.finish({"ok": False, "error_code": 500, "description": "Internal Server Error"})
            return
        if fault and fault["kind"] == "slow":
            await asyncio.sleep(fault["delay"])
        self.calls.append((method, params))
        impl = getattr(self, f"api_{method.lower()}", None)
        try:
            if impl is None:
                raise APIError(404, "Not Found: method not found")
            result = await impl(params)
        except APIError as err:
            if err.code == 400:
                self.errors.append((method, err.description))
            handler.set_status(err.code)
            handler.finish({"ok": False, "error_code": err.code, "description": err.description})
            return
        finally:
            async with self._changed:
                self._changed.notify_all()
        if fault and fault["kind"] == "lose":
            self._drop(handler)   # it happened, but the answer never reaches the bot
            return
        handler.finish(json.dumps({"ok": True, "result": result}))

    @staticmethod
    def _drop(handler) -> None:
        handler.request.connection.detach().close()
        handler._finished = True  # nothing more to send on a connection that is gone

    JSON_FIELDS = {"reply_markup", "results", "commands", "allowed_updates", "link_preview_options",
                   "reply_parameters", "entities", "button", "scope"}

    def _params(self, handler) -> dict:
        body = handler.request.body
        if handler.request.headers.get("Content-Type", "").startswith("application/json") and body:
            return json.loads(body)
        out = {}
        for k, v in handler.request.arguments.items():
            value = v[-1].decode()
            if k in self.JSON_FIELDS:
                value = json.loads(value)
            elif re.fullmatch(r"-?\d+", value) and k not in ("text", "query", "message_text", "callback_query_id"):
                value = int(value)
            elif value in ("true", "false") and k != "text":
                value = value == "true"
            out[k] = value
        return out

    # --- the methods the bot calls -------------------------------------------------------------------------

    async def api_getme(self, p):
        return self.me

    async def api_setmycommands(self, p):
        scope = (p.get("scope") or {}).get("type", "default")
        self.commands[scope] = p["commands"]
        return True

    async def api_deletemycommands(self, p):
        return True

    async def api_deletewebhook(self, p):
        self.webhook = None
        if p.get("drop_pending_updates"):
            self.updates.clear()
        return True

    async def api_setwebhook(self, p):
        self.webhook = {"url": p["url"], "secret_token": p.get("secret_token"),
                        "allowed_updates": p.get("allowed_updates")}
        for update in self.updates:
            self._deliver(update)
        self.updates = []
        return True

    async def api_getwebhookinfo(self, p):
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self.updates)}

    async def api_getupdates(self, p):
        if self.webhook:
            raise APIError(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = p.get("offset")
        if offset:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
        timeout = float(p.get("timeout") or 0)
        if not self.updates and timeout > 0:
            try:
                async with self._changed:
                    await asyncio.wait_for(self._changed.wait_for(lambda: bool(self.updates) or self.closing), timeout)
            except asyncio.TimeoutError:
                pass
        batch = self.updates[: int(p.get("limit") or 100)]
        for u in batch:
            self.handed_out[u["update_id"]] = self.handed_out.get(u["update_id"], 0) + 1
        return batch

    def _check_markup(self, markup: dict | None) -> list[list[dict]]:
        if not markup:
            return []
        rows = markup.get("inline_keyboard", [])
        for row in rows:
            for b in row:
                if not b.get("text"):
                    raise APIError(400, "Bad Request: text buttons are unallowed in the inline keyboard")
                data = b.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise APIError(400, "Bad Request: BUTTON_DATA_INVALID")
                if "switch_inline_query" in b and len(b["switch_inline_query"]) > 256:
                    raise APIError(400, "Bad Request: switch_inline_query is too long")
        return rows

    def _render(self, source: str, parse_mode: str | None) -> tuple[str, list[dict]]:
        if parse_mode and parse_mode.lower() == "html":
            try:
                text, entities = parse_html(source)
            except ParseError as err:
                raise APIError(400, f"Bad Request: can't parse entities: {err}") from None
        else:
            text, entities = source, []
        if not text.strip():
            raise APIError(400, "Bad Request: message text is empty")
        if utf16_len(text) > 4096:
            raise APIError(400, "Bad Request: message is too long")
        return text, entities

    def _new_message_id(self, chat_id: int) -> int:
        return next(self.message_ids.setdefault(chat_id, itertools.count(1)))

    def _message_json(self, m: Msg) -> dict:
        out = {"message_id": m.message_id, "date": int(time.time()), "chat": self.chat_info[m.chat_id],
               "text": m.text}
        if m.sender:
            out["from"] = m.sender
        if m.buttons:
            out["reply_markup"] = {"inline_keyboard": m.buttons}
        if m.reply_to is not None and m.reply_to in self.chats.get(m.chat_id, {}):
            inner = dict(self._message_json(self.chats[m.chat_id][m.reply_to]))
            inner.pop("reply_to_message", None)
            out["reply_to_message"] = inner
        return out

    async def api_sendmessage(self, p):
        chat_id = int(p["chat_id"])
        if chat_id not in self.chat_info:
            raise APIError(400, "Bad Request: chat not found")
        if chat_id in self.blocked:
            raise APIError(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.left:
            raise APIError(403, "Forbidden: bot is not a member of the group chat")
        text, entities = self._render(p["text"], p.get("parse_mode"))
        buttons = self._check_markup(p.get("reply_markup"))
        reply_to = (p.get("reply_parameters") or {}).get("message_id") or p.get("reply_to_message_id")
        m = Msg(chat_id, self._new_message_id(chat_id), self.me, text, p["text"], entities, buttons, reply_to)
        self.chats.setdefault(chat_id, {})[m.message_id] = m
        self.sent += 1
        return self._message_json(m)

    async def api_editmessagetext(self, p):
        if p.get("inline_message_id"):
            found = self.inline_sent.get(p["inline_message_id"])
            if found is None:
                raise APIError(400, "Bad Request: message to edit not found")
            m = found
        else:
            m = self.chats.get(int(p["chat_id"]), {}).get(int(p["message_id"]))
            if m is None or not m.from_bot:
                raise APIError(400, "Bad Request: message to edit not found")
        text, entities = self._render(p["text"], p.get("parse_mode"))
        buttons = self._check_markup(p.get("reply_markup"))
        if p["text"] == m.html and buttons == m.buttons:
            raise APIError(400, "Bad Request: message is not modified: specified new message content and reply "
                                "markup are exactly the same as a current content and reply markup of the message")
        m.text, m.html, m.entities, m.buttons, m.edits = text, p["text"], entities, buttons, m.edits + 1
        return True if p.get("inline_message_id") else self._message_json(m)

    async def api_answercallbackquery(self, p):
        q = self.callbacks.get(p["callback_query_id"])
        if q is None or q.get("answer") is not None:
            raise APIError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        if len(p.get("text") or "") > 200:
            raise APIError(400, "Bad Request: MESSAGE_TOO_LONG")
        q["answer"] = p
        return True

    async def api_answerinlinequery(self, p):
        q = self.inline.get(p["inline_query_id"])
        if q is None or q.get("answer") is not None:
            raise APIError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        results = p.get("results") or []
        if len(results) > 50 or len({r["id"] for r in results}) != len(results):
            raise APIError(400, "Bad Request: RESULT_ID_DUPLICATE")
        for r in results:
            if not 1 <= len(r["id"].encode()) <= 64:
                raise APIError(400, "Bad Request: RESULT_ID_INVALID")
            content = r["input_message_content"]
            r["_text"], r["_entities"] = self._render(content["message_text"], content.get("parse_mode"))
            self._check_markup(r.get("reply_markup"))
        q["answer"] = p
        return True

    async def api_setmydescription(self, p):
        if len(p.get("description") or "") > 512:
            raise APIError(400, "Bad Request: description is too long")
        self.description["description"] = p.get("description") or ""
        return True

    async def api_setmyshortdescription(self, p):
        if len(p.get("short_description") or "") > 120:
            raise APIError(400, "Bad Request: short description is too long")
        self.description["short_description"] = p.get("short_description") or ""
        return True

    async def api_getchatmember(self, p):
        chat_id, user_id = int(p["chat_id"]), int(p["user_id"])
        info = self.chat_info.get(chat_id)
        if info is None:
            raise APIError(400, "Bad Request: chat not found")
        if info.get("type") == "private":
            status = "member"
        else:
            status = "administrator" if user_id in self.admins.get(chat_id, set()) else "member"
        user = _user(user_id, "someone")
        if status == "administrator":
            return {"status": status, "user": user, "can_be_edited": False, "is_anonymous": False,
                    "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
                    "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                    "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                    "can_delete_stories": False}
        return {"status": status, "user": user}

    async def api_sendchataction(self, p):
        return True

    async def api_leavechat(self, p):
        self.left.append(int(p["chat_id"]))
        return True

    async def api_close(self, p):
        return True

    async def api_logout(self, p):
        return True

    # --- people: what they do ---------------------------------------------------------------------------------

    def person(self, uid: int, name: str) -> dict:
        return _user(uid, name)

    def private_chat(self, user: dict) -> dict:
        chat = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        self.chat_info[chat["id"]] = chat
        return chat

    def group(self, chat_id: int, title: str = "Investors") -> dict:
        chat = {"id": chat_id, "type": "supergroup", "title": title}
        self.chat_info[chat_id] = chat
        return chat

    def _push(self, update: dict) -> dict:
        update.setdefault("update_id", next(self.update_ids))
        if self.webhook:
            self._deliver(update)
        else:
            self.updates.append(update)
        return update

    async def push(self, update: dict) -> dict:
        async with self._changed:
            self._push(update)
            self._changed.notify_all()
        return update

    def _deliver(self, update: dict) -> None:
        async def post():
            headers = {}
            if self.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.webhook["secret_token"]
            async with httpx.AsyncClient() as client:
                r = await client.post(self.webhook["url"], json=update, headers=headers)
                self.webhook.setdefault("responses", []).append(r.status_code)
            async with self._changed:
                self._changed.notify_all()
        task = asyncio.get_running_loop().create_task(post())
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    @staticmethod
    def _entities(text: str) -> list[dict]:
        out = []
        for m in re.finditer(r"(?<![\w/])/\w+(?:@\w+)?|@\w+", text):
            kind = "bot_command" if m.group().startswith("/") else "mention"
            if kind == "bot_command" and m.start() != 0:
                continue
            out.append({"type": kind, "offset": utf16_len(text[:m.start()]), "length": utf16_len(m.group())})
        return out

    async def say(self, user: dict | None, chat: dict, text: str, reply_to: Msg | None = None,
                  sender_chat: dict | None = None, **extra) -> Msg:
        """`user` sends `text` in `chat` (optionally replying to a message); the update goes to the bot."""
        m, update = self.message_update(user, chat, text, reply_to, sender_chat, **extra)
        await self.push(update)
        return m

    def message_update(self, user: dict | None, chat: dict, text: str, reply_to: Msg | None = None,
                       sender_chat: dict | None = None, **extra) -> tuple[Msg, dict]:
        """The message `user` sends, and its update, numbered but not yet delivered (for a test that delivers
        updates itself, as Telegram does to a webhook)."""
        chat_id = chat["id"]
        m = Msg(chat_id, self._new_message_id(chat_id), user or {}, text, reply_to=reply_to.message_id if reply_to else None)
        self.chats.setdefault(chat_id, {})[m.message_id] = m
        message = self._message_json(m)
        if sender_chat:
            message["sender_chat"] = sender_chat
        message.update(extra)
        entities = self._entities(text)
        if entities:
            message["entities"] = entities
        return m, {"message": message, "update_id": next(self.update_ids)}

    async def send_other(self, user: dict | None, chat: dict, kind: str, payload: Any, update_type: str = "message") -> int:
        """A non-text message (photo, sticker, new_chat_members ...) or a channel post; returns its message id."""
        chat_id = chat["id"]
        message = {"message_id": self._new_message_id(chat_id), "date": int(time.time()), "chat": chat, kind: payload}
        if user is not None:
            message["from"] = user
        await self.push({update_type: message})
        return message["message_id"]

    async def edit(self, m: Msg, text: str) -> None:
        m.text, m.edits = text, m.edits + 1
        message = self._message_json(m)
        message["edit_date"] = int(time.time())
        entities = self._entities(text)
        if entities:
            message["entities"] = entities
        await self.push({"edited_message": message})

    async def press(self, user: dict, m: Msg, label: str | None = None, data: str | None = None) -> str:
        """`user` presses a button under bot message `m` (or sends callback `data` of their own making)."""
        if data is None:
            data = m.button(label)["callback_data"]
        qid = f"cq{next(self.update_ids)}"
        query = {"id": qid, "from": user, "chat_instance": str(m.chat_id), "data": data,
                 "message": self._message_json(m)}
        self.callbacks[qid] = {"query": query, "answer": None}
        await self.push({"callback_query": query})
        return qid

    async def inline_query(self, user: dict, text: str) -> str:
        qid = f"iq{next(self.update_ids)}"
        query = {"id": qid, "from": user, "query": text, "offset": ""}
        self.inline[qid] = {"query": query, "answer": None}
        await self.push({"inline_query": query})
        return qid

    async def add_bot(self, user: dict, chat: dict) -> None:
        member = {"status": "member", "user": self.me}
        await self.push({"my_chat_member": {"chat": chat, "from": user, "date": int(time.time()),
                                            "old_chat_member": {"status": "left", "user": self.me},
                                            "new_chat_member": member}})

    # --- waiting for the bot (a deadline only to fail instead of hanging; nothing is timed) --------------------

    async def until(self, predicate: Callable[[], Any], timeout: float = 20.0) -> Any:
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        return predicate()

    def bot_messages(self, chat: dict, after: Msg | int | None = None) -> list[Msg]:
        after_id = after.message_id if isinstance(after, Msg) else (after or 0)
        return [m for mid, m in sorted(self.chats.get(chat["id"], {}).items()) if m.from_bot and mid > after_id]

    async def reply(self, chat: dict, after: Msg | int | None = None) -> Msg:
        """The bot's first message in `chat` after message `after`."""
        return (await self.until(lambda: self.bot_messages(chat, after)))[0]

    async def callback_answer(self, qid: str) -> dict:
        return await self.until(lambda: self.callbacks[qid]["answer"])

    async def inline_answer(self, qid: str) -> dict:
        return await self.until(lambda: self.inline[qid]["answer"])

    async def edited(self, m: Msg, edits: int = 1) -> Msg:
        await self.until(lambda: m.edits >= edits)
        return m


# --- the bot under test -----------------------------------------------------------------------------------------

SHIPPED = Path(__file__).resolve().parent.parent / "corpus"
ACME = """---
id: acme-acmw-2024-03-04
title: "Acme Widgets Agrees to Acquire Borealis Robotics for $120 Million"
company: Acme Widgets Inc.
ticker: ACMW
exchange: NASDAQ
date: 2024-03-04
publisher: Business Wire
source_url: "https://example.com/acme-borealis"
---
SPRINGFIELD, March 4, 2024 -- Acme Widgets Inc. (NASDAQ: ACMW) today announced that it has agreed to acquire Borealis Robotics for $120 million in cash.

The acquisition is expected to close in the second quarter of 2024, subject to regulatory approval.

Acme intends to fund the purchase with cash on hand and borrowings under its existing credit facility.

Borealis, which is based in Oslo, Norway, makes warehouse robots for retailers.

"Borealis gives us the automation capability our customers have been asking for," said Jane Doe, Chief Executive Officer of Acme Widgets.
"""


def make_corpus(folder: Path) -> Path:
    """The shipped corpus (Fusion, FSN) plus a second company (Acme Widgets, ACMW), so that conversations about
    two companies can be told apart."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in SHIPPED.iterdir():
        if f.is_file():
            shutil.copy(f, folder / f.name)
    (folder / "acme-acmw-2024-03-04.md").write_text(ACME, encoding="utf-8")
    return folder


def add_zeta_release(folder: Path) -> None:
    """A third company (Zeta Turbines, ZTX) added to `make_corpus`'s folder, its files dated a minute back (so
    that a reload can trust their size and time): what /reload must pick up."""
    (folder / "zeta.md").write_text(ACME.replace("acme-acmw-2024-03-04", "zeta-ztx-2024-05-01")
                                    .replace("Acme Widgets", "Zeta Turbines").replace("ACMW", "ZTX")
                                    .replace("Borealis Robotics", "Nordlys Energy").replace("Borealis", "Nordlys")
                                    .replace("Acme", "Zeta"), encoding="utf-8")
    past = time.time() - 60
    for f in folder.iterdir():
        os.utime(f, (past, past))


def release_text(folder: Path) -> str:
    return "\n".join(f.read_text(encoding="utf-8") for f in sorted(folder.iterdir()))


def age_state(state: Path, days: float) -> None:
    """Make every row of a state file `days` older, as if it had been written that long before."""
    import sqlite3

    from bot.conversation import SQLiteStore
    with sqlite3.connect(state) as db:
        for table in SQLiteStore.TABLES:
            db.execute(f"UPDATE {table} SET updated = updated - ?", (days * 86400,))


def bot_settings(api: BotAPI, state: Path, corpus: Path, **overrides):
    from bot.settings import Settings
    values = dict(telegram_bot_token=api.token, telegram_base_url=api.base_url,
                  telegram_base_file_url=api.base_file_url, irbot_corpus=str(corpus), irbot_state=state,
                  irbot_flood_per_second=10_000, irbot_flood_group_per_minute=10_000, irbot_admin_ids=[],
                  irbot_allowed_chats=[], irbot_user_questions=1000, irbot_chat_questions=10_000,
                  irbot_retry_backoff=0.01)
    values.update(overrides)
    return Settings(_env_file=None, **values)

