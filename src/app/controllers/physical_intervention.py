"""Physical intervention records: start from an incident or an on-call request, the record (write, complete, sign
off), the list, the oversight report and its CSV, and the school's techniques and deadline."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.db import parse_id
from app.domain.notifications.service import clean_key, request_hash
from app.domain.physical_intervention import service as pi
from app.domain.schools.service import Actor
from app.errors import ValidationFailed
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
LISTS = ("pupil_ids", "staff_ids", "techniques")


def _typed(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if k.startswith("_"):
            continue
        out[k] = [str(x) for x in v] if isinstance(v, list) else str(v)
    for k in LISTS:
        if k in out and not isinstance(out[k], list):
            out[k] = [out[k]]
        out.setdefault(k, [])
    return out


async def _record_page(request: Request, actor: Actor, record_id: int, *, errors: dict | None = None,
                       form: dict | None = None, status: int = 200, saved: str = "") -> Response:
    page = await pi.record_page(actor, record_id)
    return render(request, "physical_intervention/record.html", {
        "actor": actor, **page, "form": form or page["stored_form"], "errors": errors or {}, "states": pi.STATES,
        "how": pi.PARENT_HOW, "to_local": pi.local, "saved": saved}, status=status)


class PhysicalInterventionController(Controller):
    path = "/physical-interventions"

    @get("/", name="physical_intervention.index")
    async def index(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "physical_intervention/index.html", {"actor": actor, **await pi.index(actor),
                                                                    "to_local": pi.local})

    @post("/", name="physical_intervention.start")
    async def start(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _typed(data)
        key = clean_key(str(typed.get("idempotency_key") or ""))
        try:
            record_id = await pi.start(actor, incident_id=parse_id(typed.get("incident_id")),
                                       oncall_id=parse_id(typed.get("oncall_id")), key=key,
                                       digest=request_hash(request.url.path, data))
        except ValidationFailed as exc:
            return render(request, "physical_intervention/refused.html", {"actor": actor, "errors": exc.errors},
                          status=400)
        return Redirect(f"/physical-interventions/{record_id}", status_code=303)

    @get("/{record_id:int}", name="physical_intervention.view")
    async def view(self, request: Request, actor: CurrentActor, record_id: FromPath[int]) -> Response:
        return await _record_page(request, actor, record_id)

    @post("/{record_id:int}", name="physical_intervention.save")
    async def save(self, request: Request, actor: CurrentActor, record_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            complete = await pi.save(actor, record_id, typed, complete=typed.get("action") == "complete")
        except ValidationFailed as exc:
            return await _record_page(request, actor, record_id, errors=exc.errors, form=typed, status=400)
        return await _record_page(request, actor, record_id, saved="complete" if complete else "draft")

    @post("/{record_id:int}/sign-off", name="physical_intervention.sign_off")
    async def sign_off(self, request: Request, actor: CurrentActor, record_id: FromPath[int], data: Form) -> Response:
        typed = _typed(data)
        try:
            await pi.sign_off(actor, record_id, str(typed.get("review_note") or ""))
        except ValidationFailed as exc:
            page = await pi.record_page(actor, record_id)
            return render(request, "physical_intervention/record.html", {
                "actor": actor, **page, "form": page["stored_form"], "errors": exc.errors, "states": pi.STATES,
                "how": pi.PARENT_HOW, "to_local": pi.local, "review_note": typed.get("review_note", "")},
                status=400)
        return Redirect(f"/physical-interventions/{record_id}", status_code=303)

    @get("/report", name="physical_intervention.report")
    async def report(self, request: Request, actor: CurrentActor) -> Response:
        typed = {k: v for k, v in request.query_params.items() if k in ("start", "end")}
        shown, errors, start, end = pi.report_window(typed)
        data = await pi.report(actor, start, end)
        return render(request, "physical_intervention/report.html", {
            "actor": actor, **data, "form": shown, "errors": errors, "states": pi.STATES, "to_local": pi.local,
            "window": pi.REPEAT_WINDOW.days // 7, "repeat_count": pi.REPEAT_COUNT,
            "csv_query": f"start={start.isoformat()}&end={end.isoformat()}"}, status=400 if errors else 200)

    @get("/report.csv", name="physical_intervention.report_csv")
    async def report_csv(self, request: Request, actor: CurrentActor) -> Response:
        typed = {k: v for k, v in request.query_params.items() if k in ("start", "end")}
        _, errors, start, end = pi.report_window(typed)
        rows = await pi.report_csv(actor, start, end)
        return csv_response(f"physical-interventions-{start.isoformat()}-{end.isoformat()}.csv", pi.CSV_COLUMNS,
                            rows)

    @get("/settings", name="physical_intervention.settings")
    async def settings(self, request: Request, actor: CurrentActor) -> Response:
        return render(request, "physical_intervention/settings.html", {
            "actor": actor, "form": await pi.settings_page(actor), "errors": {}})

    @post("/settings", name="physical_intervention.settings_save")
    async def settings_save(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = _typed(data)
        try:
            await pi.update_settings(actor, typed)
        except ValidationFailed as exc:
            return render(request, "physical_intervention/settings.html", {
                "actor": actor, "form": typed, "errors": exc.errors}, status=400)
        return render(request, "physical_intervention/settings.html", {
            "actor": actor, "form": await pi.settings_page(actor), "errors": {}, "saved": True})
