"""The data review: charts for a year group (drawn on the server as SVG, each with its table and CSV), the
early-intervention list (add to a caseload, or dismiss with a reason), and the school's thresholds."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath, FromQuery
from litestar.response import Redirect

from app.controllers import CurrentActor
from app.domain.casework import service as casework
from app.domain.data_review import service as review
from app.errors import NotFound, ValidationFailed
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
LABELS = {"negative_incidents": "Negative incidents", "negative_days": "… within this many days",
          "attendance_below": "Attendance under (%)", "attendance_weeks": "… over this many school weeks",
          "lates_per_half_term": "Lates in a half term",
          "drop_points": "Drop in attendance from last half term (points)",
          "penalty": "Penalty threshold watcher (1 on, 0 off)",
          "missing_clock_days": "Missing-education clock (school days)"}


class DataReviewController(Controller):
    path = "/data-review"

    @get("/", name="data_review.index")
    async def index(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None,
                    form: FromQuery[str | None] = None, start: FromQuery[str | None] = None,
                    end: FromQuery[str | None] = None) -> Response:
        page = await review.review(actor, year, form, start, end)
        s = page["scope"]
        query = f"year={s.year}&form={s.form}&start={s.start.isoformat()}&end={s.end.isoformat()}"
        return render(request, "data_review/index.html", {"actor": actor, **page, "query": query})

    @get("/csv/{key:str}", name="data_review.csv")
    async def chart_csv(self, request: Request, actor: CurrentActor, key: FromPath[str],
                        year: FromQuery[str | None] = None, form: FromQuery[str | None] = None,
                        start: FromQuery[str | None] = None, end: FromQuery[str | None] = None) -> Response:
        filename, chart = await review.chart_csv(actor, key, year=year, form=form, start=start, end=end)
        return csv_response(filename, chart.columns, chart.rows)

    @get("/early-intervention", name="data_review.early")
    async def early(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None) -> Response:
        page = await review.early_intervention(actor, year)
        return render(request, "data_review/early.html", {"actor": actor, **page, "errors": {}, "typed": {},
                                                          "can_case": casework.can_work(actor)})

    @get("/early-intervention.csv", name="data_review.early_csv")
    async def early_csv(self, request: Request, actor: CurrentActor, year: FromQuery[str | None] = None) -> Response:
        rows = await review.early_intervention_csv(actor, year)
        return csv_response("early-intervention.csv", ["Pupil", "Year", "Form", "Reasons"], rows)

    @get("/early-intervention/{pupil_id:int}/case", name="data_review.case")
    async def case(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int]) -> Response:
        """The case form, filled in from the pupil's flag; it posts to casework.create as the usual form does."""
        form = await review.case_prefill(actor, pupil_id)
        return render(request, "casework/new.html", {
            "actor": actor, "form": form, "errors": {}, "pupil": await casework.pupil_for_case(actor, pupil_id),
            "types": await casework.case_types(actor.school_id), "keyworkers": await casework.keyworker_choices(actor),
            "today": casework.today().isoformat(), "key": str(uuid.uuid4())})

    @post("/early-intervention/{pupil_id:int}/dismiss", name="data_review.dismiss")
    async def dismiss(self, request: Request, actor: CurrentActor, pupil_id: FromPath[int], data: Form) -> Response:
        reason = str(data.get("reason") or "")
        try:
            await review.dismiss(actor, pupil_id, reason)
        except ValidationFailed as exc:
            page = await review.early_intervention(actor)
            return render(request, "data_review/early.html", {
                "actor": actor, **page, "errors": {pupil_id: exc.errors["reason"]}, "typed": {pupil_id: reason},
                "can_case": casework.can_work(actor)}, status=400)
        return Redirect(request.app.route_reverse("data_review.early"), status_code=303)

    async def _thresholds(self, request: Request, actor, values: dict, errors: dict, done: bool = False,
                          status: int = 200) -> Response:
        return render(request, "data_review/thresholds.html", {
            "actor": actor, "values": values, "errors": errors, "labels": LABELS, "done": done}, status=status)

    @get("/thresholds", name="data_review.thresholds")
    async def thresholds(self, request: Request, actor: CurrentActor, done: FromQuery[str] = "") -> Response:
        saved = await review.thresholds_for(actor)
        return await self._thresholds(request, actor, {k: f"{v:g}" for k, v in saved.items()}, {}, done == "1")

    @post("/thresholds", name="data_review.set_thresholds")
    async def set_thresholds(self, request: Request, actor: CurrentActor, data: Form) -> Response:
        typed = {k: str(data.get(k, "")) for k in review.DEFAULTS}
        try:
            await review.set_thresholds(actor, typed)
        except ValidationFailed as exc:
            if not review.can_set_thresholds(actor):
                raise NotFound() from exc
            return await self._thresholds(request, actor, typed, exc.errors, status=400)
        return Redirect(request.app.route_reverse("data_review.thresholds") + "?done=1", status_code=303)
