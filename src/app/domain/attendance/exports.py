"""The attendance lists of issue 15 as CSV (point 8): today's lates at the gate and the first-day absence list, each
scoped exactly as its page (the rows come from the same service call) and each download audited."""

from __future__ import annotations

from typing import Any

from app.domain.attendance import first_day, gate
from app.domain.audit import service as audit
from app.domain.schools.service import Actor

LATES_COLUMNS = ["Time", "Pupil", "Form", "Code", "After registers closed", "Reason", "Logged by"]
FIRST_DAY_COLUMNS = ["List", "Pupil", "Year", "Form", "Speak to the DSL", "Contacts", "Contacts today"]


async def _exported(actor: Actor, action: str, count: int, day: Any) -> None:
    await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                       subject_type="list", subject_id=str(day), origin=actor.origin,
                       detail={"day": str(day), "rows": count})


async def todays_lates_csv(actor: Actor) -> tuple[str, list[list[Any]]]:
    """Today's lates, earliest first, as the gate page lists them; audited as gate.lates_exported."""
    today = await gate.todays_lates(actor)
    rows = [[late["at"], late["name"], late["form"], late["code"], "yes" if late["code"] == "U" else "no",
             late["reason"], late["by"]] for late in reversed(today["lates"])]
    await _exported(actor, "gate.lates_exported", len(rows), today["today"])
    return f"lates-{today['today'].isoformat()}.csv", rows


def _contact(c: dict) -> str:
    if c.get("no_contact"):
        return f"{c['name']} ({c['relationship']}): not to be contacted"
    words = f"{c['name']} ({c['relationship']}) {c['phone']}".strip()
    return words if c.get("parental_responsibility", True) else words + " [no parental responsibility]"


async def first_day_csv(actor: Actor) -> tuple[str, list[list[Any]]]:
    """The first-day list as its page shows it to this actor (the DSL team's own list first, for the DSL team);
    before the register closes, no rows. Audited as first_day.exported."""
    page = await first_day.first_day_list(actor)
    rows = []
    for list_name, pupils in (("For the DSL team", page.get("dsl", [])), ("To call", page.get("pupils", []))):
        for p in pupils:
            rows.append([list_name, p["name"], p["year"], p["form"], "yes" if p.get("speak_to_dsl") else "no",
                         "; ".join(_contact(c) for c in p.get("contacts", [])), len(p.get("calls", []))])
    await _exported(actor, "first_day.exported", len(rows), page["today"])
    return f"first-day-absence-{page['today'].isoformat()}.csv", rows
