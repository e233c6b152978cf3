"""One helper decides whether a request gets a whole page or just a fragment."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader
from litestar import Request, Response
from litestar.enums import MediaType
from litestar.plugins.jinja import JinjaTemplateEngine


def wants_fragment(request: Request) -> bool:
    """htmx 4 asks for a partial unless it is boosted, restoring history, or targeting the body."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
        and headers.get("hx-request-type", "partial") == "partial"
    )


# Times are stored in UTC and always shown on the school's wall clock: a UK school reads 12:23 in summer (BST)
# as 12:23, not 11:23. Every template formats a moment through uk_time; <time datetime> attributes stay UTC.
SCHOOL_ZONE = ZoneInfo("Europe/London")


def uk_time(value: dt.datetime | None, fmt: str = "%d %b %Y %H:%M") -> str:
    """A stored moment (UTC, or naive meaning UTC) formatted in UK time; nothing for no moment."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(SCHOOL_ZONE).strftime(fmt)


_DICT_ATTRIBUTES = frozenset(dir(dict))


class PagesEnvironment(Environment):
    """Jinja's environment, with `row.name` on a dict read as the item at once. Jinja tries the attribute first
    and, when getattr raises, the item: on the rows our services return (dicts) every `c.name` in a loop cost an
    AttributeError, 12% of the quick-entry page's CPU in a profile. What a template gets is unchanged: a dict has no
    attributes but dict's own (`items`, `get`, ...), and those names still go Jinja's way."""

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return super().getattr(obj, attribute)


def template_engine(directory: Path) -> JinjaTemplateEngine:
    """The pages' template engine: templates from `directory`, autoescaped, with our filters."""
    engine = JinjaTemplateEngine.from_environment(
        PagesEnvironment(loader=FileSystemLoader(directory), autoescape=True))
    register_filters(engine)
    return engine


def register_filters(engine: Any) -> None:
    """create_app's template engine calls this once: the filters every template may use."""
    engine.engine.filters["uk_time"] = uk_time
    # Templates change only with a release (a restart): no stat() of every template file on every render.
    engine.engine.auto_reload = False


def render(
    request: Request,
    template_name: str,
    context: dict[str, Any] | None = None,
    *,
    block: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    env = request.app.template_engine.engine  # the Jinja environment Litestar configured
    template = env.get_template(template_name)
    ctx = {"request": request, **(context or {})}
    if block and wants_fragment(request):
        jinja_ctx = template.new_context(ctx)
        html = "".join(template.blocks[block](jinja_ctx))
    else:
        html = template.render(ctx)
    response = Response(html, status_code=status, media_type=MediaType.HTML, headers=headers or {})
    response.headers["Vary"] = "HX-Request"
    return response


# A spreadsheet runs a cell that starts like a formula (=HYPERLINK(...), +, -, @, or after a tab or carriage
# return), so a display name or a note typed by anyone could run in the office's Excel (CSV injection, OWASP).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A CSV cell that a spreadsheet shows as text: a leading quote before anything that starts a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows: list[list[object]]) -> Response[str]:
    """Every CSV export goes through here, so none writes a cell a spreadsheet would run."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return Response(out.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
