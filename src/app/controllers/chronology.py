"""A pupil's chronology: the page with its filter form (GET: dates and sources only in the query string), the
CSV of the filtered chronology, and the "significant" toggle on each row."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body, FromPath
from litestar.response import Redirect

from app.controllers import AppSettings, CurrentActor
from app.controllers.concerns import ask_for_step_up
from app.domain.chronology import service as chronology
from app.errors import NeedsVerification, ValidationFailed
from app.rendering import csv_response, render

Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]


def _typed(request: Request) -> dict[str, Any]:
    """The filter form as typed (kept on the page when a filter cannot be used)."""
    q = request.query_params
    return {"start": str(q.get("start") or "")[:40], "end": str(q.get("end") or "")[:40],
            "source": [str(v)[:40] for v in q.getall("source", [])][:20],
            "significant_only": str(q.get("significant_only") or "")[:10], "all": str(q.get("all") or "")[:10]}


def _query(typed: dict[str, Any]) -> str:
    # Only dates, source keys and the flag: nothing about the pupil rides in a URL.
    pairs = [(k, typed[k]) for k in ("start", "end") if typed[k]] + [("source", s) for s in typed["source"]]
    if typed["significant_only"]:
        pairs.append(("significant_only", typed["significant_only"]))
    if typed.get("all") == "yes":
        pairs.append(("all", "yes"))
    return urlencode(pairs)


class ChronologyController(Controller):
    path = "/chronology"
    exception_handlers = {NeedsVerification: ask_for_step_up}

    @get("/pupil/{pupil_id:int}", name="chronology.view")
    async def view(self, request: Request, settings: AppSettings, actor: CurrentActor,
                   pupil_id: FromPath[int]) -> Response:
        typed = _typed(request)
        page = await chronology.page(settings, actor, pupil_id, typed)
        return render(request, "chronology/pupil.html", {"actor": actor, **page, "query": _query(typed),
                                                         "all_query": _query({**typed, "all": "yes"}),
                                                         "labels": chronology.SOURCES},
                      block="filtered", status=400 if page["errors"] else 200)

    @get("/pupil/{pupil_id:int}/csv", name="chronology.csv")
    async def csv(self, request: Request, settings: AppSettings, actor: CurrentActor,
                  pupil_id: FromPath[int]) -> Response:
        await chronology.visible_pupil(actor, pupil_id)
        chronology.require_fresh_check(settings, actor)
        typed = _typed(request)
        try:
            filters = chronology.parse_filters(actor, typed)
        except ValidationFailed:
            # The download link is built from a checked form: back to the page, which says what is wrong.
            return Redirect(request.url_for("chronology.view", pupil_id=pupil_id) + "?" + _query(typed),
                            status_code=303)
        rows = await chronology.export_csv(actor, pupil_id, **filters)
        # The file is named by the pupil's id only: no name in a file name that lands in a downloads folder.
        response = csv_response(f"chronology-{pupil_id}.csv", chronology.CSV_COLUMNS, rows)
        response.headers["Cache-Control"] = "no-store"
        return response

    @post("/pupil/{pupil_id:int}/significant", name="chronology.significant")
    async def significant(self, request: Request, settings: AppSettings, actor: CurrentActor,
                          pupil_id: FromPath[int], data: Form) -> Response:
        # The row's button sends toggle="yes:<ref>" (mark) or "no:<ref>" (unmark); ref and significant also work.
        flag, _, ref = str(data.get("toggle") or "").partition(":")
        if not ref:
            ref, flag = str(data.get("ref") or ""), str(data.get("significant") or "")
        significant = {"yes": "yes", "no": ""}.get(flag, flag)
        entry = await chronology.significant_row(settings, actor, pupil_id, ref, significant)
        if request.headers.get("hx-request") == "true":
            return render(request, "chronology/_row.html", {"e": entry, "pupil_id": pupil_id,
                                                            "labels": chronology.SOURCES})
        back = str(data.get("back") or "")
        query = back if back and all(c.isalnum() or c in "=&-_%+." for c in back) else ""
        return Redirect(request.url_for("chronology.view", pupil_id=pupil_id) + (f"?{query}" if query else "")
                        + f"#{chronology.row_id(ref)}", status_code=303)
