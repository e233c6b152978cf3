"""Form tutors (issue 16, point 3): which member of staff tutors which form.

The MIS gives a tutor group's tutor as a name (tutor_groups.csv's tutor_name; OneRoster: the homeroom's primary
teacher's name, the same "given family" name its staff import gives the person). A form's tutor is:
- whoever an admin named as its tutor(s) on the form tutors page, if anyone; else
- the member of staff at the school whose name is exactly the MIS tutor's name (spaces and case aside), if exactly
  one is: two people of one name match nobody, so a tutor is never guessed.
A guest is never a tutor. Features ask `forms_tutored` and decide what a tutor sees (on_report: a tutee's report).
"""

from __future__ import annotations

from typing import Any

from app import clock
from app.db import atomic, parse_id
from app.domain.audit import service as audit
from app.domain.pupils.tables import TutorGroup
from app.domain.pupils.tutor_tables import FormTutor
from app.domain.schools.service import Actor
from app.domain.schools.tables import Membership
from app.errors import NotFound, ValidationFailed

STAFF_ROLES = ("staff", "responder", "pastoral", "pastoral_lead", "head_of_year", "dsl")
MAX_TUTORS = 2  # a form's tutor and a co-tutor (a job share)


def _norm(name: str) -> str:
    return " ".join((name or "").split()).casefold()


async def _staff(school_id: int) -> dict[int, str]:
    """The school's members of staff who can sign in (not guests, not disabled): id -> name."""
    rows = await Membership.select(Membership.person, Membership.person.display_name).where(
        (Membership.school == school_id) & Membership.role.is_in(list(STAFF_ROLES))
        & Membership.person.disabled_at.is_null())
    return {r["person"]: r["person.display_name"] for r in rows}


async def tutors_by_form(school_id: int) -> dict[int, list[int]]:
    """Each form of the school with its tutors (person ids): named by an admin, else matched from the MIS name."""
    staff = await _staff(school_id)
    by_name: dict[str, list[int]] = {}
    for pid, name in staff.items():
        by_name.setdefault(_norm(name), []).append(pid)
    named: dict[int, list[int]] = {}
    for r in await FormTutor.select(FormTutor.tutor_group, FormTutor.person).where(
            FormTutor.school == school_id).order_by(FormTutor.id):
        named.setdefault(r["tutor_group"], []).append(r["person"])
    out: dict[int, list[int]] = {}
    for g in await TutorGroup.select(TutorGroup.id, TutorGroup.tutor_name).where(TutorGroup.school == school_id):
        if g["id"] in named:
            out[g["id"]] = [p for p in named[g["id"]] if p in staff]
        else:
            matches = by_name.get(_norm(g["tutor_name"]), []) if g["tutor_name"].strip() else []
            out[g["id"]] = matches if len(matches) == 1 else []
    return out


async def forms_tutored(actor: Actor) -> set[int]:
    """The forms (tutor group ids) the actor tutors at their current school; none for a guest or without a school."""
    if actor.school_id is None or not actor.has(*STAFF_ROLES):
        return set()
    return {g for g, people in (await tutors_by_form(actor.school_id)).items() if actor.person_id in people}


# The admin's page -------------------------------------------------------------------------------------------------

def _may_set(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has("admin")


async def tutors_page(actor: Actor) -> dict[str, Any]:
    """The school's forms with the MIS tutor's name, the tutors in force and whether an admin named them."""
    if not _may_set(actor):
        raise NotFound()
    staff = await _staff(actor.school_id)
    tutors = await tutors_by_form(actor.school_id)
    named = {r["tutor_group"] for r in await FormTutor.select(FormTutor.tutor_group).where(
        FormTutor.school == actor.school_id)}
    groups = await TutorGroup.select(TutorGroup.id, TutorGroup.name, TutorGroup.year_code,
                                     TutorGroup.tutor_name).where(TutorGroup.school == actor.school_id).order_by(
        TutorGroup.year_code).order_by(TutorGroup.name)
    forms = [{"id": g["id"], "name": g["name"], "year": g["year_code"], "mis_tutor": g["tutor_name"],
              "tutors": [{"id": p, "name": staff[p]} for p in tutors.get(g["id"], []) if p in staff],
              "named": g["id"] in named} for g in groups]
    # Year 7 before year 10 (codes are text: N1, N2, R, 1-14), then by name.
    forms.sort(key=lambda f: (int(f["year"]) if f["year"].isdigit() else -1, f["name"]))
    return {"forms": forms, "staff": sorted(staff.items(), key=lambda s: _norm(s[1]))}


async def set_tutors(actor: Actor, form: dict[str, Any]) -> None:
    """An admin names a form's tutor(s) (none: back to the MIS tutor's name); audited, the same names again change
    nothing."""
    if not _may_set(actor):
        raise NotFound()
    group_id = parse_id(form.get("tutor_group_id"))
    group = await TutorGroup.select(TutorGroup.id).where(
        (TutorGroup.id == (group_id or 0)) & (TutorGroup.school == actor.school_id)).first() if group_id else None
    if not group:
        raise NotFound()
    staff = await _staff(actor.school_id)
    raw = [str(v).strip() for v in (form.get("person_ids") or []) if str(v).strip()]
    chosen = [parse_id(v) for v in raw]
    if any(p not in staff for p in chosen):
        raise ValidationFailed({f"tutors_{group_id}": "Choose tutors from the school's staff."})
    chosen = list(dict.fromkeys(chosen))
    if len(chosen) > MAX_TUTORS:
        raise ValidationFailed({f"tutors_{group_id}": f"Name at most {MAX_TUTORS} tutors for a form."})
    async with atomic():
        before = [r["person"] for r in await FormTutor.select(FormTutor.person).where(
            FormTutor.tutor_group == group_id).order_by(FormTutor.id)]
        if sorted(before) == sorted(chosen):
            return
        await FormTutor.delete().where(FormTutor.tutor_group == group_id)
        now = clock.now()
        if chosen:
            await FormTutor.insert(*[FormTutor(school=actor.school_id, tutor_group=group_id, person=p,
                                               set_by=actor.person_id, set_at=now) for p in chosen])
        await audit.record("tutor_group.tutors_set", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="tutor_group", subject_id=group_id,
                           origin=actor.origin, detail={"tutors": chosen, "was": before})

