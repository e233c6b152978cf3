"""Pupils on report: the 'on report now' list, the school's day, putting a pupil on report, rating, the report with
its grid and trend, level changes and the end, the CSV and the one-page PDF, and the panel on a pupil's profile."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from app.clock import parse_date
from app.controllers import CurrentActor
from app.controllers.incidents import submission_key
from app.db import parse_id
from app.domain.notifications.service import clean_key, request_hash
from app.domain.on_report import service as on_report
from app.domain.schools.service import Actor
from app.errors import ValidationFailed
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
LISTS = ("period_ids", "visible_to")


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if k.startswith("_"):
            continue
        out[k] = [str(x) for x in v] if isinstance(v, list) else str(v)
    for k in LISTS:
        if k in out and not isinstance(out[k], list):
            out[k] = [out[k]]
    return out


def _context(actor: Actor, **extra: Any) -> dict[str, Any]:
    return {"actor": actor, "levels": on_report.LEVELS, "audiences": on_report.AUDIENCES, "kinds": on_report.KINDS,
            "to_local": on_report.local, "new_key": lambda: str(uuid.uuid4()), **extra}


async def _report_page(request: Request, actor: Actor, report_id: int, *, errors: dict | None = None,
                       form: dict | None = None, status: int = 200) -> Response:
    day = parse_date(request.query_params.get("day"))
    page = await on_report.report_page(actor, report_id, day)
    return render(request, "on_report/report.html", _context(actor, **page, errors=errors or {}, form=form or {}),
                  status=status)


async def _rate_page(request: Request, actor: Actor, report_id: int, period_id: int | None, *,
                     errors: dict | None = None, form: dict | None = None, saved: str = "",
                     status: int = 200) -> Response:
    page = await on_report.rate_page(actor, report_id, period_id)
    return render(request, "on_report/rate.html", _context(actor, **page, errors=errors or {}, form=form or {},
                                                           saved=saved), status=status)


class OnReportController(Controller):
    path = "/on-report"

    @get("/", name="on_report.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        saved = request.query_params.get("saved") or ""
        return render(request, "on_report/index.html", _context(
            actor, **await on_report.index(actor), request_rated=parse_id(request.query_params.get("rated")),
            saved=saved if saved in ("rated", "changed", "unchanged", "kept_newer") else ""))

    @get("/day", name="on_report.day")
    async def day(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "on_report/day.html", _context(
            actor, form=await on_report.day_structure_page(actor), errors={}, rows=on_report.MAX_PERIOD_ROWS))

    @post("/day", name="on_report.day_save")
    async def day_save(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _typed(data)
        try:
            await on_report.update_day_structure(actor, typed)
        except ValidationFailed as exc:
            return render(request, "on_report/day.html", _context(
                actor, form=typed, errors=exc.errors, rows=on_report.MAX_PERIOD_ROWS), status=400)
        return render(request, "on_report/day.html", _context(
            actor, form=await on_report.day_structure_page(actor), errors={}, rows=on_report.MAX_PERIOD_ROWS,
            saved=True))

    @get("/new", name="on_report.new")
    async def new(self, request: Request, actor: CurrentActor) -> Response:
        page = await on_report.new_form(actor, parse_id(request.query_params.get("pupil")))
        return render(request, "on_report/new.html", _context(actor, **page, form=page["defaults"], errors={},
                                                              key=str(uuid.uuid4())))

    @post("/", name="on_report.start")
    async def start(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _typed(data)
        typed.setdefault("period_ids", [])
        typed.setdefault("visible_to", [])
        key = clean_key(str(typed.get("idempotency_key") or "")) or clean_key(request.headers.get("idempotency-key"))
        try:
            report_id = await on_report.put_on_report(actor, typed, key=key,
                                                      digest=request_hash(request.url.path, data))
        except ValidationFailed as exc:
            page = await on_report.new_form(actor, parse_id(typed.get("pupil_id")))
            return render(request, "on_report/new.html", _context(actor, **page, form=typed, errors=exc.errors,
                                                                  key=str(uuid.uuid4())), status=400)
        return Redirect(request.app.route_reverse("on_report.view", report_id=report_id), status_code=303)

    @get("/{report_id:int}", name="on_report.view")
    async def view(self, request: Request, actor: CurrentActor, report_id: FromPath[int]) -> Response:
        return await _report_page(request, actor, report_id)

    @get("/{report_id:int}/rate", name="on_report.rate_page")
    async def rate_page(self, request: Request, actor: CurrentActor, report_id: FromPath[int]) -> Response:
        saved = request.query_params.get("saved") or ""
        return await _rate_page(request, actor, report_id, parse_id(request.query_params.get("period")),
                                saved=saved if saved in ("rated", "changed", "unchanged", "kept_newer") else "")

    @post("/{report_id:int}/rate", name="on_report.rate")
    async def rate(self, request: Request, actor: CurrentActor, report_id: FromPath[int], data: Form) -> Response:
        # An offline-capable form (service_worker/replay.js): the key the page minted, or the outbox's header; the
        # rating's receipt is stored with it, so a replay answers as the first attempt did and saves nothing new.
        key, digest = submission_key(request, data), request_hash(request.url.path, data)
        typed = _typed(data)
        period_id = parse_id(typed.get("period_id"))
        try:
            outcome = await on_report.rate(actor, report_id, typed, key=key, digest=digest)
        except ValidationFailed as exc:  # the claim on the key is released by the service (releases_claim)
            return await _rate_page(request, actor, report_id, period_id, errors=exc.errors, form=typed,
                                    status=400)
        if data.get("_back") == "now":  # rated from the 'on report now' list: back to it
            return Redirect(request.app.route_reverse("on_report.index") + f"?rated={report_id}&saved={outcome}#now-{report_id}",
                            status_code=303)
        target = request.app.route_reverse("on_report.rate_page", report_id=report_id)
        return Redirect(f"{target}?period={period_id}&saved={outcome}", status_code=303)

    @post("/{report_id:int}/level", name="on_report.level")
    async def level(self, request: Request, actor: CurrentActor, report_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await on_report.change_level(actor, report_id, typed)
        except ValidationFailed as exc:
            return await _report_page(request, actor, report_id, errors=exc.errors, form=typed, status=400)
        return Redirect(request.app.route_reverse("on_report.view", report_id=report_id), status_code=303)

    @post("/{report_id:int}/end", name="on_report.end")
    async def end(self, request: Request, actor: CurrentActor, report_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await on_report.end_report(actor, report_id, typed)
        except ValidationFailed as exc:
            return await _report_page(request, actor, report_id, errors=exc.errors,
                                      form={"end_reason": typed.get("reason", "")}, status=400)
        return Redirect(request.app.route_reverse("on_report.view", report_id=report_id), status_code=303)

    @get("/{report_id:int}/report.csv", name="on_report.csv")
    async def csv(self, request: Request, actor: CurrentActor, report_id: FromPath[int]) -> Response:
        _, rows = await on_report.export_rows(actor, report_id)
        # The file is named by the report's number, not the pupil: names stay out of URLs and download lists.
        return csv_response(f"on-report-{report_id}.csv", on_report.CSV_COLUMNS, rows)

    @get("/{report_id:int}/report.pdf", name="on_report.pdf")
    async def pdf(self, request: Request, actor: CurrentActor, report_id: FromPath[int]) -> Response:
        body = await on_report.pdf(actor, report_id)
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="on-report-{report_id}.pdf"'})

    @get("/pupil/{pupil_id:int}", name="on_report.pupil_panel")
    async def pupil_panel(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        return render(request, "on_report/_pupil_panel.html", _context(actor, **await on_report.pupil_panel(
            actor, pupil_id)))
