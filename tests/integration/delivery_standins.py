"""Stand-ins for Zendesk, Slack and a webhook receiver: real aiohttp servers on 127.0.0.1 (a free port each).

Each records every request it receives (:attr:`StandIn.requests`) and keeps the state a real service would
(tickets and comments, channel messages, processed webhook deliveries), so a test can check what a user would
see there. Answers are scriptable per request kind (:meth:`StandIn.script`): :class:`Fail` answers with a status
instead of acting, :class:`Slow` acts and then answers later than the client's timeout, :class:`SlackError`
answers HTTP 200 ``{"ok": false, "error": ...}``. A kind with no script left behaves normally.

Request kinds: Zendesk ``put`` (comment), ``create`` (new ticket), ``comments`` (list), ``lookup`` (tickets by
external id); Slack ``post`` (chat.postMessage), ``history`` (conversations.history); webhook ``hook``.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from wismo.sinks.signed_webhook import verify_signature

ZENDESK_EMAIL = "bot@shop.test"
ZENDESK_TOKEN = "zd-token-1"
SLACK_TOKEN = "xoxb-test-1"
SLACK_CHANNEL = "C0WISMO01"
WEBHOOK_SECRET = "whsec-test-1"


@dataclass(frozen=True)
class Fail:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


@dataclass(frozen=True)
class Slow:
    seconds: float


@dataclass(frozen=True)
class SlackError:
    error: str
    headers: dict[str, str] = field(default_factory=dict)


Script = Fail | Slow | SlackError


@dataclass
class Seen:
    kind: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    at: float
    answer: int | None = None

    def json(self) -> Any:
        import json

        return json.loads(self.body) if self.body else None


class StandIn:
    def __init__(self) -> None:
        self.requests: list[Seen] = []
        self._scripts: dict[str, deque[Script]] = defaultdict(deque)
        self._runner: web.AppRunner | None = None
        self.url = ""

    def script(self, kind: str, *answers: Script) -> None:
        self._scripts[kind].extend(answers)

    def of(self, kind: str) -> list[Seen]:
        return [r for r in self.requests if r.kind == kind]

    async def _record(self, kind: str, request: web.Request) -> tuple[Seen, Script | None]:
        seen = Seen(
            kind,
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            await request.read(),
            time.monotonic(),
        )
        self.requests.append(seen)
        queue = self._scripts.get(kind)
        return seen, (queue.popleft() if queue else None)

    def routes(self, app: web.Application) -> None:
        raise NotImplementedError

    async def start(self) -> str:
        app = web.Application()
        self.routes(app)
        self._runner = web.AppRunner(app, handler_cancellation=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def __aenter__(self) -> StandIn:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def _answer(seen: Seen, script: Script | None, act: Callable[[], web.Response]) -> web.StreamResponse:
    """Run ``act`` (returning the normal response) unless scripted otherwise."""
    if isinstance(script, Fail):
        seen.answer = script.status
        return web.json_response(
            script.body or {"error": "scripted failure"}, status=script.status, headers=script.headers
        )
    if isinstance(script, SlackError):
        seen.answer = 200
        return web.json_response({"ok": False, "error": script.error}, headers=script.headers)
    response = act()
    seen.answer = response.status
    if isinstance(script, Slow):
        await asyncio.sleep(script.seconds)
    return response


class ZendeskStandIn(StandIn):
    """Tickets with comments. ``tickets[id]`` = ``{"id", "requester", "subject", "external_id", "comments"}``."""

    def __init__(self, existing: tuple[int, ...] = ()) -> None:
        super().__init__()
        self.tickets: dict[int, dict[str, Any]] = {}
        self.idempotency: dict[str, int] = {}
        self._ids = iter(range(5000, 10_000_000))
        for tid in existing:
            self.tickets[tid] = {"id": tid, "requester": None, "subject": "", "external_id": None, "comments": []}
        expected = base64.b64encode(f"{ZENDESK_EMAIL}/token:{ZENDESK_TOKEN}".encode()).decode()
        self.auth = f"Basic {expected}"

    def comments_with(self, marker: str) -> list[tuple[int, dict[str, Any]]]:
        return [(tid, c) for tid, t in self.tickets.items() for c in t["comments"] if marker in c["body"]]

    def routes(self, app: web.Application) -> None:
        app.router.add_put("/api/v2/tickets/{id}.json", self._put)
        app.router.add_post("/api/v2/tickets.json", self._create)
        app.router.add_get("/api/v2/tickets/{id}/comments.json", self._comments)
        app.router.add_get("/api/v2/tickets.json", self._lookup)

    def _comment(self, ticket: dict[str, Any], body: str, public: bool) -> dict[str, Any]:
        audit = next(self._ids)
        comment = {"id": next(self._ids), "audit_id": audit, "type": "Comment", "body": body, "public": public}
        ticket["comments"].append(comment)
        return comment

    async def _put(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("put", request)
        if request.headers.get("Authorization") != self.auth:
            return web.json_response({"error": "Couldn't authenticate you"}, status=401)

        def act() -> web.Response:
            ticket = self.tickets.get(int(request.match_info["id"]))
            if ticket is None:
                return web.json_response({"error": "RecordNotFound", "description": "Not found"}, status=404)
            c = seen.json()["ticket"]["comment"]
            comment = self._comment(ticket, c["body"], c.get("public", True))
            audit = {"id": comment["audit_id"], "ticket_id": ticket["id"], "events": [comment]}
            return web.json_response({"ticket": {"id": ticket["id"]}, "audit": audit})

        return await _answer(seen, script, act)

    async def _create(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("create", request)
        if request.headers.get("Authorization") != self.auth:
            return web.json_response({"error": "Couldn't authenticate you"}, status=401)

        def act() -> web.Response:
            key = request.headers.get("Idempotency-Key")
            if key and key in self.idempotency:  # Zendesk answers a repeated key with the ticket it created
                return web.json_response({"ticket": {"id": self.idempotency[key]}}, status=201)
            t = seen.json()["ticket"]
            tid = next(self._ids)
            ticket = {
                "id": tid,
                "requester": t["requester"]["email"],
                "subject": t["subject"],
                "external_id": t.get("external_id"),
                "comments": [],
            }
            self.tickets[tid] = ticket
            self._comment(ticket, t["comment"]["body"], t["comment"].get("public", True))
            if key:
                self.idempotency[key] = tid
            return web.json_response({"ticket": {"id": tid, "external_id": ticket["external_id"]}}, status=201)

        return await _answer(seen, script, act)

    async def _comments(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("comments", request)

        def act() -> web.Response:
            ticket = self.tickets.get(int(request.match_info["id"]))
            if ticket is None:
                return web.json_response({"error": "RecordNotFound"}, status=404)
            comments = list(ticket["comments"])
            if request.query.get("sort_order") == "desc":
                comments.reverse()
            per_page, page = int(request.query.get("per_page", "100")), int(request.query.get("page", "1"))
            chunk = comments[(page - 1) * per_page : page * per_page]
            more = len(comments) > page * per_page
            nxt = f"{self.url}{request.path}?per_page={per_page}&page={page + 1}" if more else None
            if request.query.get("sort_order"):
                nxt = nxt and nxt + f"&sort_order={request.query['sort_order']}"
            return web.json_response({"comments": chunk, "next_page": nxt, "count": len(comments)})

        return await _answer(seen, script, act)

    async def _lookup(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("lookup", request)

        def act() -> web.Response:
            ext = request.query.get("external_id")
            found = [
                {"id": t["id"], "external_id": t["external_id"]}
                for t in self.tickets.values()
                if t["external_id"] == ext
            ]
            return web.json_response({"tickets": found, "next_page": None, "count": len(found)})

        return await _answer(seen, script, act)


class SlackStandIn(StandIn):
    """One workspace; ``messages[channel]`` in posting order."""

    def __init__(self, channels: tuple[str, ...] = (SLACK_CHANNEL,)) -> None:
        super().__init__()
        self.messages: dict[str, list[dict[str, Any]]] = {c: [] for c in channels}
        self._ts = 0.0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/chat.postMessage", self._post)
        app.router.add_get("/api/conversations.history", self._history)

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {SLACK_TOKEN}"

    async def _post(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("post", request)
        if not self._authorized(request):
            return web.json_response({"ok": False, "error": "invalid_auth"})

        def act() -> web.Response:
            body = seen.json()
            channel = body.get("channel")
            if channel not in self.messages:
                return web.json_response({"ok": False, "error": "channel_not_found"})
            self._ts = max(time.time(), self._ts + 0.000001)  # Slack's ts: the posting time, unique per channel
            message = {
                "type": "message",
                "ts": f"{self._ts:.6f}",
                "text": body.get("text"),
                "blocks": body.get("blocks"),
            }
            if body.get("metadata"):
                message["metadata"] = body["metadata"]
            self.messages[channel].append(message)
            return web.json_response({"ok": True, "channel": channel, "ts": message["ts"], "message": message})

        return await _answer(seen, script, act)

    async def _history(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("history", request)
        if not self._authorized(request):
            return web.json_response({"ok": False, "error": "invalid_auth"})

        def act() -> web.Response:
            channel = request.query.get("channel", "")
            if channel not in self.messages:
                return web.json_response({"ok": False, "error": "channel_not_found"})
            oldest = float(request.query.get("oldest", "0"))
            limit = int(request.query.get("limit", "100"))
            start = int(request.query.get("cursor", "0") or "0")
            newest_first = [m for m in reversed(self.messages[channel]) if float(m["ts"]) > oldest]
            page = newest_first[start : start + limit]
            if request.query.get("include_all_metadata") != "true":
                page = [{k: v for k, v in m.items() if k != "metadata"} for m in page]
            more = len(newest_first) > start + limit
            meta = {"next_cursor": str(start + limit) if more else ""}
            return web.json_response({"ok": True, "messages": page, "has_more": more, "response_metadata": meta})

        return await _answer(seen, script, act)


class WebhookReceiver(StandIn):
    """A receiver that verifies the signature and de-duplicates by ``X-Wismo-Action-Id``, as documented."""

    def __init__(self) -> None:
        super().__init__()
        self.processed: dict[str, bytes] = {}
        self.bad_signatures = 0

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/hook", self._hook)

    async def _hook(self, request: web.Request) -> web.StreamResponse:
        seen, script = await self._record("hook", request)
        ok = verify_signature(
            WEBHOOK_SECRET.encode(),
            request.headers.get("X-Wismo-Timestamp"),
            seen.body,
            request.headers.get("X-Wismo-Signature"),
            now=time.time(),
        )
        if not ok:
            self.bad_signatures += 1
            return web.json_response({"error": "bad signature"}, status=401)

        def act() -> web.Response:
            action_id = request.headers["X-Wismo-Action-Id"]
            self.processed.setdefault(action_id, seen.body)  # already processed: accept, do nothing
            return web.json_response({"ok": True}, headers={"X-Request-Id": f"rcv-{len(self.processed)}"})

        return await _answer(seen, script, act)
