"""create_app(settings): the one place that wires routes, middleware, templates, handlers and the lifespan."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, AsyncIterator

from litestar import Litestar, Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException
from litestar.logging import LoggingConfig
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from app import db
from app.live import PooledNotify, SteadySubscriptions
from app.controllers.account import AccountController
from app.controllers.admin import AdminController
from app.controllers.attendance import AttendanceController, AttendanceImportController
from app.controllers.data_review import DataReviewController
from app.controllers.rewards import RewardsController
from app.controllers.gate import FirstDayController, GateController, RegisterCloseController
from app.controllers.retention import LegalHoldController, RetentionPolicyController
from app.controllers.auth import AuthController
from app.controllers.case_pack import CasePackController
from app.controllers.subject_access import SubjectAccessController
from app.controllers.casework import CaseworkController
from app.controllers.chronology import ChronologyController
from app.controllers.concerns import ConcernsController
from app.controllers.contact_log import ContactLogController
from app.controllers.csp import CspReportController
from app.controllers.home import HomeController
from app.controllers.home_visits import HomeVisitsController
from app.controllers.visit_pack import VisitPackController
from app.controllers.imports import ImportsController
from app.controllers.incidents import IncidentsController, IncidentSettingsController
from app.controllers.interventions import InterventionsController
from app.controllers.notifications import NotificationsController
from app.controllers.oncall import OnCallController, RotaController
from app.controllers.outbox import OutboxController
from app.controllers.on_report import OnReportController
from app.controllers.tutors import TutorsController
from app.controllers.physical_intervention import PhysicalInterventionController
from app.controllers.pupils import PupilsController
from app.controllers.referrals import ReferralsController, ReferralSettingsController
from app.controllers.school_settings import SchoolSettingsController
from app.domain.accounts.service import load_actor
from app.domain.audit import service as audit
from app.domain.audit.service import Origin
from app.domain.notifications import push as web_push
from app.domain.notifications import sms
from app.domain.notifications import service as notifications
from app.domain.concerns import service as concerns
from app.domain.home_visits import service as home_visits
from app.domain.oncall import service as oncall
from app.domain.physical_intervention import service as physical_intervention
from app.domain.attendance import first_day
from app.domain.referrals import service as referrals
from app.domain.schools.service import Actor
from app.domain.schools.service import db as db_engine
from app.csrf import SessionBoundCSRFMiddleware
from app.errors import error_handler, refusal_reason
from app.inputs import ids_in_range
from app.logs import quiet_loggers
from app.rendering import template_engine
from app.settings import PROJECT_ROOT, Settings, SettingsError

refusals = logging.getLogger("corridor.refused")

# Paths anyone may reach without a session.
PUBLIC_PATHS = ["^/signin", "^/auth/", "^/enrol/", "^/static/", "^/healthz", "^/sw.js", "^/manifest.webmanifest",
                "^/offline", "^/favicon.ico", "^/signed-out"]

CSP = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
    "font-src 'self'", "connect-src 'self'", "manifest-src 'self'", "worker-src 'self'", "object-src 'none'",
    "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    # Violations are reported to controllers/csp.py (and over https through the Reporting API too, below).
    "report-uri /csp-report",
])
# Chromium reads Reporting-Endpoints only from https responses, and ignores report-uri when a policy names
# report-to: over plain http (development, the browser tests on localhost) report-to would silence reports.
CSP_HTTPS = CSP + "; report-to csp"


def origin_of(connection: ASGIConnection) -> Origin:
    return Origin(ip=connection.client.host if connection.client else "",
                  device=connection.headers.get("user-agent", "")[:300])


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Loads the server-side session named by the cookie; no session means 401 (a redirect to sign in)."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        settings: Settings = connection.app.state.settings
        actor = await load_actor(settings, connection.cookies.get(settings.session_cookie), origin_of(connection))
        if actor is None:
            raise NotAuthorizedException("Please sign in.")
        return AuthenticationResult(user=actor, auth=actor.session_id)


class TrustedProxyMiddleware:
    """The client's address from X-Forwarded-For, and the scheme from X-Forwarded-Proto, only when the request
    comes from a proxy named in TRUSTED_PROXIES: anyone else could write any address there and escape the sign-in
    rate limit or forge the address in the audit log. The client is the right-most address not a trusted proxy."""

    def __init__(self, app: ASGIApp, proxies: tuple[str, ...]) -> None:
        self.app = app
        self.proxies = [ipaddress.ip_network(p, strict=False) for p in proxies]

    def trusted(self, address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = scope.get("client")
        if self.proxies and scope["type"] in ("http", "websocket") and client and self.trusted(client[0]):
            headers = dict(scope["headers"])
            hops = [h.strip() for h in headers.get(b"x-forwarded-for", b"").decode("latin-1").split(",") if h.strip()]
            while hops and self.trusted(hops[-1]):
                hops.pop()
            if hops:
                try:
                    scope = {**scope, "client": (str(ipaddress.ip_address(hops[-1])), 0)}
                except ValueError:
                    pass  # not an address: keep the proxy's
            proto = headers.get(b"x-forwarded-proto", b"").decode("latin-1").strip().lower()
            if proto in ("http", "https"):
                scope = {**scope, "scheme": proto}
        await self.app(scope, receive, send)


request_log = logging.getLogger("corridor.request")


class ServerTimingMiddleware:
    """Adds `Server-Timing: app;dur=<ms>`: the benchmark reads server time from it, not from the client.
    At LOG_LEVEL=DEBUG it also logs each request's method, route, status and time (nothing of its contents)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                elapsed = (time.perf_counter() - started) * 1000
                MutableScopeHeaders.from_message(message)["Server-Timing"] = f"app;dur={elapsed:.2f}"
                if request_log.isEnabledFor(logging.DEBUG):
                    # The route's template, never the path itself: a path can hold an enrolment token.
                    request_log.debug("%s %s %s %.1f ms", scope["method"], scope.get("path_template", "?"),
                                      message["status"], elapsed)
            await send(message)

        await self.app(scope, receive, timed_send)


def handle_error(request: Request, exc: Exception) -> Response:
    """The one error handler (app/errors.py), and a record of every refusal: 404s for what someone may not see,
    no session, CSRF and rate limits are logged with the person, the route and the reason (never the path, a
    message or a record), and a signed-in person's refusals also go to the audit log, where an admin sees a
    probing account (OWASP ASVS V16)."""
    response = error_handler(request, exc)
    reason = refusal_reason(exc)
    if reason is None:
        return response
    actor = request.scope.get("user")
    route = request.scope.get("path_template") or "(no such route)"
    who = f"person {actor.person_id}" if isinstance(actor, Actor) else "no session"
    client = request.client.host if request.client else "-"
    refusals.warning("refused %s %s: %s; %s from %s", request.method, route, reason, who, client)
    if isinstance(actor, Actor):
        response.background = BackgroundTask(record_refusal, actor, f"{request.method} {route}", reason,
                                             response.status_code)
    return response


async def record_refusal(actor: Actor, route: str, reason: str, status: int) -> None:
    async with db_engine().transaction():
        await audit.record("access.refused", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="route", subject_label=route,
                           origin=actor.origin, detail={"reason": reason, "status": status})


def live_backend(settings: Settings, engine: db.Engine | None = None):
    kind = settings.live_backend
    if kind == "auto":
        kind = "postgres" if settings.is_postgres else "memory"
    if kind == "postgres":
        from litestar.channels.backends.asyncpg import AsyncPgChannelsBackend

        class PostgresBackend(PooledNotify, SteadySubscriptions, AsyncPgChannelsBackend):
            pass

        backend = PostgresBackend(dsn=settings.database_url.replace("postgres://", "postgresql://", 1))
        backend.engine = engine
        return backend
    if kind == "redis":
        try:
            from litestar.channels.backends.redis import RedisChannelsPubSubBackend
            from redis.asyncio import Redis
        except ImportError:
            raise SettingsError("LIVE_BACKEND=redis needs the redis package: pip install redis") from None

        class RedisBackend(SteadySubscriptions, RedisChannelsPubSubBackend):
            pass

        return RedisBackend(redis=Redis.from_url(settings.redis_url))
    return MemoryChannelsBackend(history=0)


async def escalate_forever(every: float = 2.0) -> None:
    while True:
        await asyncio.sleep(every)
        try:
            await oncall.escalate_due()
        except Exception:
            logging.getLogger("corridor").warning("escalation check failed", exc_info=True)
        await referrals.chase_if_due()  # at most once a minute; one process alerts each referral's owner
        await physical_intervention.remind_if_due()  # likewise: one process reminds each record's owner
        await first_day.alert_dsl_every_minute()  # the DSL team told once of each flagged first-day absence


async def time_home_visits_forever(every: float = 2.0) -> None:
    """Home visits' timers run on the server, not the phone: every process ticks; each step is taken once."""
    while True:
        await asyncio.sleep(every)
        try:
            await home_visits.tick()
        except Exception:
            logging.getLogger("corridor").warning("home visit timer check failed", exc_info=True)


async def text_home_visits_forever(every: float = 2.0) -> None:
    """The home-visit alarm's texts, sent after their tier commits; apart from the timer, so that a slow SMS gateway
    never holds up the next tier."""
    while True:
        await asyncio.sleep(every)
        try:
            await home_visits.send_texts()
        except Exception:
            logging.getLogger("corridor").warning("home visit texts check failed", exc_info=True)


async def refresh_statistics_daily(engine: db.Engine, every: float = 24 * 3600) -> None:
    """ANALYZE at start and then daily: the planners' statistics follow the audit log and incidents as they grow."""
    while True:
        try:
            await db.refresh_statistics(engine, if_free=True)
        except Exception:
            logging.getLogger("corridor").warning("refreshing the query planner's statistics failed", exc_info=True)
        await asyncio.sleep(every)


def security_headers(settings: Settings):
    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        headers = MutableScopeHeaders.from_message(message)
        if settings.secure_cookies:
            headers["Content-Security-Policy"] = CSP_HTTPS
            headers["Reporting-Endpoints"] = 'csp="/csp-report"'
        else:
            headers["Content-Security-Policy"] = CSP
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"
        headers["X-Frame-Options"] = "DENY"
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if settings.secure_cookies:
            headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        path = scope.get("path", "")
        if not path.startswith("/static/") and "cache-control" not in headers:
            # Pages can hold personal data: never store them in any cache, the browser's included.
            headers["Cache-Control"] = "no-store"

    return before_send


def create_app(settings: Settings | None = None) -> Litestar:
    settings = settings or Settings.from_env()
    engine = db.bind(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        # Start a pool only if nobody else (a test session, the CLI) already has one for this engine.
        own_pool = settings.is_postgres and getattr(engine, "pool", None) is None
        if own_pool:
            await engine.start_connection_pool(min_size=1, max_size=10)
        web_push.load_sender()
        # Escalation timers: every process checks; the conditional update lets exactly one escalate.
        escalator = asyncio.create_task(escalate_forever())
        visit_timer = asyncio.create_task(time_home_visits_forever())
        visit_texts = asyncio.create_task(text_home_visits_forever())
        statistics = asyncio.create_task(refresh_statistics_daily(engine))
        # PostgreSQL: audit entries a busy moment left waiting are chained within a second (audit.sweep_forever).
        sweeper = asyncio.create_task(audit.sweep_forever()) if settings.is_postgres else None
        try:
            yield
        finally:
            escalator.cancel()
            visit_timer.cancel()
            visit_texts.cancel()
            statistics.cancel()
            if sweeper is not None:
                sweeper.cancel()
            if own_pool:
                await engine.close_connection_pool()
            await db.close(engine)

    def provide_settings() -> Settings:
        return settings

    def provide_actor(request: Request) -> Any:
        return request.user

    def provide_origin(request: Request) -> Origin:
        return origin_of(request)

    async def is_auth_attempt(request: Request) -> bool:
        # Async on purpose: Litestar runs a plain function given here in a worker thread, on every request. The
        # scope's path, not request.url.path: building the URL object was 2% of an incident POST's CPU.
        return request.method == "POST" and request.scope["path"].startswith(("/auth/", "/enrol/"))

    static = create_static_files_router(path="/static", directories=[PROJECT_ROOT / "static"],
                                        send_as_attachment=False, include_in_schema=False,
                                        cache_control=None, opt={"exclude_from_auth": True})

    # Live updates fan out through channels: memory for one process; PostgreSQL LISTEN/NOTIFY or Redis when
    # several processes serve one school (LIVE_BACKEND).
    channels = ChannelsPlugin(backend=live_backend(settings, engine), arbitrary_channels_allowed=True)

    async def publish(names: list[str], data: object) -> None:
        await channels.wait_published(data, names)

    async def push(people: set[int], payload: dict) -> None:
        await web_push.send(settings, people, payload)

    async def text(to: str, body: str, reference: str) -> None:
        await sms.send(settings, to, body, reference)

    def wire() -> None:
        """Point the services' live updates, pushes and texts at this app (the last app made in a process)."""
        notifications.set_publisher(publish)
        oncall.set_publisher(publish, push)
        concerns.set_pusher(push)
        home_visits.set_pusher(push)
        home_visits.set_publisher(publish)
        home_visits.set_texter(*((text, settings.public_url) if sms.configured(settings) else (None,)))

    wire()

    app = Litestar(
        plugins=[channels],
        route_handlers=[HomeController, AuthController, AccountController, AdminController, PupilsController,
                        IncidentsController, IncidentSettingsController, ConcernsController, NotificationsController,
                        OnCallController, RotaController,
                        ImportsController, OutboxController, CspReportController, static,
                        AttendanceImportController, AttendanceController, GateController, RegisterCloseController,
                        FirstDayController, SubjectAccessController,
                        SchoolSettingsController, ReferralsController, ReferralSettingsController,
                        ContactLogController, CaseworkController, InterventionsController, ChronologyController,
                        CasePackController, HomeVisitsController, RetentionPolicyController, LegalHoldController,
                        VisitPackController,
                        PhysicalInterventionController, DataReviewController, RewardsController,
                        OnReportController, TutorsController],
        dependencies={"settings": Provide(provide_settings, sync_to_thread=False),
                      "actor": Provide(provide_actor, sync_to_thread=False),
                      "origin": Provide(provide_origin, sync_to_thread=False)},
        middleware=[
            DefineMiddleware(TrustedProxyMiddleware, proxies=settings.trusted_proxies),
            ServerTimingMiddleware,
            RateLimitConfig(rate_limit=("minute", settings.auth_rate_limit_per_minute),
                            check_throttle_handler=is_auth_attempt).middleware,
            DefineMiddleware(SessionAuthMiddleware, exclude=PUBLIC_PATHS),
            # CSRF tokens are bound to the session (app/csrf.py); htmx sends the token as X-CSRFToken.
            DefineMiddleware(SessionBoundCSRFMiddleware, session_cookie=settings.session_cookie, config=CSRFConfig(
                secret=settings.secret_key, cookie_name=settings.csrf_cookie, cookie_secure=settings.secure_cookies,
                cookie_httponly=True, cookie_samesite="strict", header_name="x-csrftoken")),
        ],
        # gzip: pages and fragments are mostly markup (a fifth of their size compressed). Photos (already
        # JPEG) and live streams (which must not be buffered) opt out.
        compression_config=CompressionConfig(backend="gzip", gzip_compress_level=6, minimum_size=500,
                                             exclude_opt_key="skip_compression"),
        template_config=TemplateConfig(instance=template_engine(Path(__file__).parent / "templates")),
        exception_handlers={Exception: handle_error},
        before_request=ids_in_range,
        before_send=[security_headers(settings)],
        lifespan=[lifespan],
        logging_config=LoggingConfig(root={"level": settings.log_level, "handlers": ["queue_listener"]},
                                     loggers=quiet_loggers(), log_exceptions="debug",
                                     # Litestar's format with the process id: with `--workers` the lines of
                                     # every worker share one stream (the journal, a file).
                                     formatters={"standard": {"format": "%(levelname)s - %(asctime)s - "
                                                              "[%(process)d] %(name)s - %(module)s - %(message)s"}}),
        openapi_config=None,
        debug=False,
    )
    app.state.settings = settings
    app.state.wire = wire  # the test suite reuses one app per settings, and wires it again before each test
    logging.getLogger("corridor").setLevel(settings.log_level)
    return app
