"""Schools, people and roles: who may act where. Record-level access is decided here."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass, field
from typing import Awaitable, Callable

from piccolo.engine.base import Engine

from app import clock
from app.db import atomic
from app.domain.audit import service as audit
from app.domain.audit.service import Origin
from app.domain.schools.tables import Membership, Person, School, Trust
from app.errors import BadRequest, NotFound

ROLES: dict[str, str] = {
    "staff": "Staff",
    "guest": "Guest (supply / cover)",
    "responder": "On-call responder",
    "pastoral": "Pastoral",
    "head_of_year": "Head of year",
    "dsl": "Designated safeguarding lead",
    "admin": "Admin",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GUEST_PASS = dt.timedelta(hours=12)


@dataclass(frozen=True)
class Actor:
    """The signed-in person acting at one school in this request."""

    person_id: int
    display_name: str
    email: str
    session_id: int
    school_id: int | None
    trust_id: int | None
    school_name: str
    roles: frozenset[str]
    verified_at: dt.datetime
    origin: Origin = field(default=Origin())

    @property
    def label(self) -> str:
        return f"{self.display_name} <{self.email}>"

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))


def db() -> Engine:
    return Person._meta.db


async def roles_at(person_id: int, school_id: int, trust_id: int | None = None) -> frozenset[str]:
    """The person's roles at a school: those given there, plus trust-wide roles of its trust."""
    if trust_id is None:
        school = await School.select(School.trust).where(School.id == school_id).first()
        if not school:
            return frozenset()
        trust_id = school["trust"]
    rows = await Membership.select(Membership.role).where(
        (Membership.person == person_id)
        & (
            (Membership.school == school_id)
            | ((Membership.trust == trust_id) & Membership.school.is_null())
        )
    )
    return frozenset(r["role"] for r in rows)


async def schools_of(person_id: int) -> list[dict]:
    """Every school the person has a role at (directly or through a trust-wide role), by name."""
    rows = await Membership.select(Membership.school, Membership.trust).where(Membership.person == person_id)
    school_ids = {r["school"] for r in rows if r["school"]}
    trust_ids = {r["trust"] for r in rows if not r["school"]}
    if not school_ids and not trust_ids:
        return []
    condition = School.id.is_in(list(school_ids) or [-1]) | School.trust.is_in(list(trust_ids) or [-1])
    return await School.select(School.id, School.name, School.slug, School.trust).where(condition).order_by(School.name)


async def school_by_slug(slug: str) -> dict:
    school = await School.select().where(School.slug == slug).first()
    if not school:
        raise NotFound(f"There is no school called {slug!r}.")
    return school


def _clean_email(raw: str) -> str:
    email = (raw or "").strip().lower()
    if not EMAIL_RE.match(email) or len(email) > 254:
        raise BadRequest("Enter an email address like name@school.sch.uk.")
    return email


def _clean_roles(roles: list[str]) -> list[str]:
    chosen = sorted(set(roles or []))
    if not chosen:
        raise BadRequest("Choose at least one role.")
    unknown = [r for r in chosen if r not in ROLES]
    if unknown:
        raise BadRequest(f"Unknown role: {', '.join(unknown)}.")
    return chosen


async def visible_person(actor: Actor, person_id: int) -> dict:
    """A person an admin of the actor's school may manage; anyone else is 'not found'."""
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound("There is nothing here, or you do not have access to it.")
    person = await Person.select().where(Person.id == person_id).first()
    if not person or actor.school_id not in {s["id"] for s in await schools_of(person_id)}:
        raise NotFound("There is nothing here, or you do not have access to it.")
    return person


async def is_trust_admin(actor: Actor) -> bool:
    """An admin of the whole trust (a trust-wide admin membership), not only of one school."""
    if actor.trust_id is None:
        return False
    return await Membership.exists().where(
        (Membership.person == actor.person_id) & (Membership.trust == actor.trust_id)
        & Membership.school.is_null() & (Membership.role == "admin"))


async def manages_whole_person(actor: Actor, person_id: int) -> bool:
    """Whether the actor may act on the person as a whole (an enrolment link, disable, enable).

    A school's admin may only when every role the person holds is at a school they administer: a link or a
    disable acts at every school, so an admin of one school must never reach a colleague's account at
    another (that was a takeover: a link for another school's DSL signs in as the DSL). Only a trust-level
    admin manages a person across schools.
    """
    if actor.trust_id is None or not actor.has("admin"):
        return False
    rows = await Membership.select(Membership.school, Membership.trust).where(Membership.person == person_id)
    if not rows or any(r["trust"] != actor.trust_id for r in rows):
        return False
    if await is_trust_admin(actor):
        return True
    administered = {r["school"] for r in await Membership.select(Membership.school).where(
        (Membership.person == actor.person_id) & (Membership.role == "admin") & Membership.school.is_not_null())}
    return all(r["school"] is not None and r["school"] in administered for r in rows)


async def require_whole_person(actor: Actor, person_id: int, doing: str) -> None:
    if not await manages_whole_person(actor, person_id):
        raise BadRequest(f"This person also works at another school of the trust, so {doing} is for a trust "
                         "admin. You can change or remove their roles at this school.")


async def list_people(actor: Actor) -> list[dict]:
    """Everyone with a role at the actor's school, with their roles there."""
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound()
    rows = await Membership.select(
        Membership.person.id, Membership.person.display_name, Membership.person.email,
        Membership.person.disabled_at, Membership.role,
    ).where(
        (Membership.school == actor.school_id)
        | ((Membership.trust == actor.trust_id) & Membership.school.is_null())
    )
    people: dict[int, dict] = {}
    for r in rows:
        p = people.setdefault(r["person.id"], {
            "id": r["person.id"], "display_name": r["person.display_name"], "email": r["person.email"],
            "disabled_at": r["person.disabled_at"], "roles": set(),
        })
        p["roles"].add(r["role"])
    return sorted(people.values(), key=lambda p: p["display_name"].lower())


async def add_person(
    *, email: str, display_name: str, school_id: int, roles: list[str], actor: Actor | None, origin: Origin,
    trust_wide: bool = False,
) -> int:
    """Create (or find, within the same trust) a person and give them roles at one school, or (trust_wide, for
    the `corridor` command or a trust admin) at every school of its trust."""
    email = _clean_email(email)
    display_name = (display_name or "").strip()
    if not display_name or len(display_name) > 200:
        raise BadRequest("Enter the person's name as colleagues know it.")
    roles = _clean_roles(roles)
    school = await School.select().where(School.id == school_id).first()
    if not school:
        raise NotFound()
    now = clock.now()
    async with db().transaction():
        existing = await Person.select().where(Person.email == email).first()
        if existing:
            trusts = {m["trust"] for m in await Membership.select(Membership.trust).where(Membership.person == existing["id"])}
            if trusts and school["trust"] not in trusts:
                raise BadRequest("This email address cannot be used here. Use the person's address at this school.")
            person_id = existing["id"]
        else:
            only_guest = roles == ["guest"]
            person = Person(
                email=email, display_name=display_name, user_handle=secrets.token_urlsafe(32),
                guest_until=now + GUEST_PASS if only_guest else None, created_at=now,
            )
            await person.save()
            person_id = person.id
            await audit.record(
                "person.created", actor_id=actor.person_id if actor else None,
                actor_label=actor.label if actor else "corridor command", school_id=school_id,
                subject_type="person", subject_id=person_id, subject_label=email, origin=origin,
            )
        if trust_wide:
            if actor is not None and not await is_trust_admin(actor):
                raise NotFound()
            await _add_trust_roles(person_id, school["trust"], roles, actor, origin)
        else:
            await _set_roles(person_id, school, roles, actor, origin)
    return person_id


async def _add_trust_roles(person_id: int, trust_id: int, roles: list[str], actor: Actor | None,
                           origin: Origin) -> None:
    current = {r["role"] for r in await Membership.select(Membership.role).where(
        (Membership.person == person_id) & (Membership.trust == trust_id) & Membership.school.is_null())}
    added = sorted(set(roles) - current)
    for role in added:
        await Membership.insert(Membership(person=person_id, trust=trust_id, school=None, role=role,
                                           created_at=clock.now()))
    if added:
        label = (await Person.select(Person.email).where(Person.id == person_id).first())["email"]
        await audit.record(
            "roles.changed", actor_id=actor.person_id if actor else None,
            actor_label=actor.label if actor else "corridor command", subject_type="person", subject_id=person_id,
            subject_label=label, origin=origin, detail={"added": added, "removed": [], "trust_wide": True})


YEAR_CODES = ("N1", "N2", "R", *(str(n) for n in range(1, 15)))


def _clean_years(raw: str) -> str:
    """'9, 10' → '9,10': the NC years a head of year leads (empty: every year)."""
    years = [y.strip().upper() for y in (raw or "").replace(";", ",").split(",") if y.strip()]
    unknown = [y for y in years if y not in YEAR_CODES]
    if unknown:
        raise BadRequest(f"Unknown year: {', '.join(unknown)}. Use NC years such as 7, 8, 9 (or R, N1, N2).")
    return ",".join(dict.fromkeys(years))


async def set_roles(actor: Actor, person_id: int, roles: list[str], years: str | None = None) -> None:
    """Replace a person's roles at the actor's school (an admin may not remove their own admin role); for a
    head of year, also the years they lead."""
    person = await visible_person(actor, person_id)
    roles = _clean_roles(roles)
    if person_id == actor.person_id and "admin" not in roles:
        raise BadRequest("You cannot remove your own admin role. Ask another admin.")
    led = _clean_years(years) if years is not None else None
    school = await School.select().where(School.id == actor.school_id).first()
    async with db().transaction():
        await _set_roles(person["id"], school, roles, actor, actor.origin)
        if led is not None and "head_of_year" in roles:
            before = await Membership.select(Membership.years).where(
                (Membership.person == person_id) & (Membership.school == actor.school_id)
                & (Membership.role == "head_of_year")).first()
            if before and before["years"] != led:
                await Membership.update({Membership.years: led}).where(
                    (Membership.person == person_id) & (Membership.school == actor.school_id)
                    & (Membership.role == "head_of_year"))
                await audit.record("roles.years_changed", actor_id=actor.person_id, actor_label=actor.label,
                                   school_id=actor.school_id, subject_type="person", subject_id=person_id,
                                   subject_label=person["email"], origin=actor.origin,
                                   detail={"from": before["years"], "to": led})


async def hoy_years(actor: Actor) -> set[str] | None:
    """The years this head of year leads at the actor's school (None: every year, as for a trust-wide role)."""
    rows = await Membership.select(Membership.years).where(
        (Membership.person == actor.person_id) & (Membership.role == "head_of_year")
        & ((Membership.school == actor.school_id)
           | ((Membership.trust == actor.trust_id) & Membership.school.is_null())))
    years: set[str] = set()
    for r in rows:
        if not r["years"]:
            return None
        years |= set(r["years"].split(","))
    return years


async def leads_year(actor: Actor, year_code: str) -> bool:
    """Whether the actor, as a head of year, leads this year group."""
    if not actor.has("head_of_year"):
        return False
    years = await hoy_years(actor)
    return years is None or year_code in years


async def years_led(person_id: int, school_id: int) -> str:
    row = await Membership.select(Membership.years).where(
        (Membership.person == person_id) & (Membership.school == school_id) & (Membership.role == "head_of_year")).first()
    return row["years"] if row else ""


async def _set_roles(person_id: int, school: dict, roles: list[str], actor: Actor | None, origin: Origin) -> None:
    current = {r["role"] for r in await Membership.select(Membership.role).where(
        (Membership.person == person_id) & (Membership.school == school["id"]))}
    added, removed = sorted(set(roles) - current), sorted(current - set(roles))
    if not added and not removed:
        return
    if removed:
        await Membership.delete().where(
            (Membership.person == person_id) & (Membership.school == school["id"]) & Membership.role.is_in(removed))
    for role in added:
        await Membership.insert(Membership(person=person_id, trust=school["trust"], school=school["id"], role=role,
                                           created_at=clock.now()))
    label = (await Person.select(Person.email).where(Person.id == person_id).first())["email"]
    await audit.record(
        "roles.changed", actor_id=actor.person_id if actor else None,
        actor_label=actor.label if actor else "corridor command", school_id=school["id"],
        subject_type="person", subject_id=person_id, subject_label=label, origin=origin,
        detail={"added": added, "removed": removed},
    )


async def remove_from_school(actor: Actor, person_id: int) -> None:
    """Remove every role a person holds at the actor's school (their account and roles elsewhere stay)."""
    person = await visible_person(actor, person_id)
    if person_id == actor.person_id:
        raise BadRequest("You cannot remove yourself. Ask another admin.")
    async with db().transaction():
        removed = await Membership.delete().where(
            (Membership.person == person_id) & (Membership.school == actor.school_id)).returning(Membership.role)
        if not removed:
            raise BadRequest("This person's roles come from the trust, not this school: ask a trust admin.")
        await audit.record(
            "roles.changed", actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
            subject_type="person", subject_id=person_id, subject_label=person["email"], origin=actor.origin,
            detail={"added": [], "removed": sorted(r["role"] for r in removed)})


async def disable_person(actor: Actor, person_id: int, reason: str) -> None:
    """Disable a person: every session ends at once and unused enrolment links stop working."""
    from app.domain.accounts.service import end_all_sessions, revoke_enrolments

    person = await visible_person(actor, person_id)
    if person_id == actor.person_id:
        raise BadRequest("You cannot disable yourself.")
    await require_whole_person(actor, person_id, "disabling them")
    reason = (reason or "").strip()[:300]
    if person["disabled_at"]:
        return
    async with db().transaction():
        await Person.update({Person.disabled_at: clock.now(), Person.disabled_reason: reason}).where(Person.id == person_id)
        await end_all_sessions(person_id, reason="disabled")
        await revoke_enrolments(person_id)
        await audit.record(
            "person.disabled", actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
            subject_type="person", subject_id=person_id, subject_label=person["email"], origin=actor.origin,
            detail={"reason": reason} if reason else None,
        )


async def enable_person(actor: Actor, person_id: int) -> None:
    person = await visible_person(actor, person_id)
    await require_whole_person(actor, person_id, "enabling them")
    if not person["disabled_at"]:
        return
    async with db().transaction():
        await Person.update({Person.disabled_at: None, Person.disabled_reason: ""}).where(Person.id == person_id)
        await audit.record(
            "person.enabled", actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
            subject_type="person", subject_id=person_id, subject_label=person["email"], origin=actor.origin,
        )


async def create_trust_with_school(*, trust_name: str, trust_slug: str, school_name: str, school_slug: str,
                                   la_code: str, establishment_number: str, urn: str | None = None) -> int:
    """Create a trust and its first school (a small install is a trust of one); returns the school id."""
    now = clock.now()
    async with db().transaction():
        trust = Trust(name=trust_name, slug=trust_slug, created_at=now)
        await trust.save()
        school = School(trust=trust.id, name=school_name, slug=school_slug, la_code=la_code,
                        establishment_number=establishment_number, urn=urn, created_at=now)
        await school.save()
        from app.domain.incidents.service import ensure_defaults
        from app.domain.oncall.service import ensure_defaults as ensure_oncall_defaults

        await ensure_defaults(school.id)
        await ensure_oncall_defaults(school.id)
    return school.id


# A school's details, edited by its admin; further schools of the trust, added by a trust admin ---------------

URN_RE = re.compile(r"^\d{6}$")  # the DfE's unique reference number (Get Information about Schools)
LAESTAB_RE = re.compile(r"^(\d{3})\s*/?\s*(\d{4})$")  # LA code + establishment number: 8014001 or 801/4001


class SchoolDetailsInvalid(BadRequest):
    """The school form's errors, field by field: the form is shown again with what was typed."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Please check the highlighted fields.")
        self.errors = errors


def _clean_school_details(name: str, urn: str, laestab: str) -> dict:
    name, urn, laestab = " ".join((name or "").split()), (urn or "").strip(), (laestab or "").strip()
    errors = {}
    if not name or len(name) > 200:
        errors["name"] = "School name: enter the name of the school (up to 200 characters)."
    if urn and not URN_RE.match(urn):
        errors["urn"] = "URN: six digits, as on Get Information about Schools (like 137402), or leave it empty."
    found = LAESTAB_RE.match(laestab)
    if not found:
        errors["laestab"] = ("LAESTAB: seven digits, the 3-digit LA code and the 4-digit establishment number "
                             "(like 8014001 or 801/4001).")
    if errors:
        raise SchoolDetailsInvalid(errors)
    return {"name": name, "urn": urn or None, "la_code": found.group(1), "establishment_number": found.group(2)}


async def _require_unique_in_trust(trust_id: int, details: dict, except_school: int | None) -> None:
    """Imports match a trust's schools by URN or LAESTAB, so two schools of one trust never share either."""
    others = await School.select(School.id, School.urn, School.la_code, School.establishment_number).where(
        (School.trust == trust_id) & (School.id != (except_school or -1)))
    errors = {}
    if details["urn"] and any(o["urn"] == details["urn"] for o in others):
        errors["urn"] = "URN: another school of the trust already has this URN."
    if any((o["la_code"], o["establishment_number"]) == (details["la_code"], details["establishment_number"])
           for o in others):
        errors["laestab"] = "LAESTAB: another school of the trust already has this LAESTAB."
    if errors:
        raise SchoolDetailsInvalid(errors)


async def school_details(actor: Actor) -> dict:
    """The actor's school, for its admin; anyone else is 'not found'."""
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound()
    school = await School.select().where(School.id == actor.school_id).first()
    if not school:
        raise NotFound()
    return school


async def trust_schools(actor: Actor) -> list[dict]:
    """The schools of the actor's trust, for a trust admin only (others see none)."""
    if not await is_trust_admin(actor):
        return []
    return await School.select(School.id, School.name, School.urn, School.la_code, School.establishment_number
                                ).where(School.trust == actor.trust_id).order_by(School.name)


async def update_school(actor: Actor, *, name: str, urn: str, laestab: str) -> None:
    """Rename the actor's school or correct its URN and LAESTAB (its admin only; audited)."""
    school = await school_details(actor)
    details = _clean_school_details(name, urn, laestab)
    async with atomic():
        await _require_unique_in_trust(school["trust"], details, school["id"])
        changed = {k: {"from": school[k], "to": v} for k, v in details.items() if school[k] != v}
        if not changed:
            return
        await School.update(details).where(School.id == school["id"])
        await audit.record("school.updated", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=school["id"], subject_type="school", subject_id=school["id"],
                           subject_label=details["name"], origin=actor.origin, detail=changed)


def _slug_base(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "school"


async def add_school(actor: Actor, *, name: str, urn: str, laestab: str,
                     prepare: tuple[Callable[[int], Awaitable[None]], ...] = ()) -> int:
    """A further school of the actor's trust (a trust admin only; audited). `prepare` gives it the features'
    defaults in the same transaction: the caller wires them, so this service imports no feature above it."""
    if actor.school_id is None or not await is_trust_admin(actor):
        raise NotFound()
    details = _clean_school_details(name, urn, laestab)
    async with atomic():
        await _require_unique_in_trust(actor.trust_id, details, None)
        base, n = _slug_base(details["name"]), 1
        slug = base
        while await School.exists().where(School.slug == slug):
            n += 1
            slug = f"{base}-{n}"
        school = School(trust=actor.trust_id, slug=slug, created_at=clock.now(), **details)
        await school.save()
        for step in prepare:
            await step(school.id)
        await audit.record("school.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=school.id, subject_type="school", subject_id=school.id,
                           subject_label=details["name"], origin=actor.origin,
                           detail={k: v for k, v in details.items()} | {"slug": slug})
    return school.id
