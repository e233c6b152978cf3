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
    "pastoral_lead": "Pastoral lead (sees every case)",
    "head_of_year": "Head of year",
    "dsl": "Designated safeguarding lead",
    "admin": "Admin",
}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GUEST_PASS = dt.timedelta(hours=12)


# Roles that include others: the pastoral lead is a pastoral officer who also sees every case.
IMPLIED_ROLES: dict[str, tuple[str, ...]] = {"pastoral_lead": ("pastoral",)}


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

    def __post_init__(self) -> None:
        # A role that includes another (the pastoral lead is a pastoral officer who sees every case): given alone,
        # it still brings what the other allows, so a lead invited as "Pastoral lead" only can log and follow up.
        implied = {extra for role in self.roles for extra in IMPLIED_ROLES.get(role, ())}
        if not implied <= self.roles:
            object.__setattr__(self, "roles", frozenset(self.roles | implied))

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


async def years_in_scope(actor: Actor, users: tuple[str, ...], see_all: tuple[str, ...]) -> set[str] | None:
    """Whose pastoral records (contacts, referrals) the actor may see: None for every pupil of their school (a role
    in `see_all`), else the years they lead as a head of year; "not found" for anyone with none of `users`."""
    if actor.school_id is None or not actor.has(*users):
        raise NotFound("There is nothing here, or you do not have access to it.")
    if actor.has(*see_all):
        return None
    return await hoy_years(actor)


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


# Setting a school up ----------------------------------------------------------------------------------------

# The DfE's phases of education (Get Information about Schools), with the two kinds of provision schools
# describe themselves by as often as by phase. Keys are stored; labels are shown.
PHASES: dict[str, str] = {
    "nursery": "Nursery",
    "primary": "Primary",
    "middle": "Middle",
    "secondary": "Secondary",
    "all-through": "All-through",
    "16-plus": "16 plus",
    "alternative-provision": "Alternative provision",
    "special": "Special",
}
# What the first admin is given: admin and staff at the school (staff so that they can look pupils up and
# try the quick jobs), and admin of the whole trust, because nobody else can yet add schools to the trust
# or manage a colleague across its schools. Safeguarding content is not theirs by default (DESIGN.md).
FIRST_ADMIN_ROLES = ["admin", "staff"]
FIRST_ADMIN_TRUST_ROLES = ["admin"]


class SetupInvalid(BadRequest):
    """`corridor setup` input that cannot be used: one message per field, keyed by the field's flag name."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(" ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SetupResult:
    created: bool  # False: the school and its admin were already there, and nothing was changed
    school_id: int
    school_slug: str
    school_name: str
    trust_name: str
    admin_id: int
    admin_email: str
    admin_enrolled: bool  # the admin already has a passkey


def clean_name(raw: str | None, what: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise BadRequest(f"Enter the {what}.")
    if len(name) > 200:
        raise BadRequest(f"The {what} is longer than 200 characters.")
    return name


def clean_urn(raw: str | None) -> str:
    """A URN (unique reference number, GIAS): 6 digits; empty when not given."""
    urn = re.sub(r"\s", "", raw or "")
    if urn and not re.fullmatch(r"\d{6}", urn):
        raise BadRequest("A URN is 6 digits, e.g. 137452 (find it on Get Information about Schools).")
    return urn


def clean_laestab(raw: str | None) -> tuple[str, str]:
    """A LAESTAB (DfE number): the 3-digit local-authority number and 4-digit establishment number, written
    as 8014001 or 801/4001; ('', '') when not given."""
    code = re.sub(r"[\s/-]", "", raw or "")
    if not code:
        return "", ""
    if not re.fullmatch(r"\d{7}", code):
        raise BadRequest("A LAESTAB (DfE number) is 7 digits: the 3-digit local-authority number and the "
                         "4-digit establishment number, e.g. 8014001 or 801/4001.")
    return code[:3], code[3:]


def clean_phase(raw: str | None) -> str:
    """One of PHASES, however it is written ("All through", "16+", "alternative_provision"); empty when not given."""
    words = re.sub(r"[\s_-]+", " ", (raw or "").strip().lower()).replace("16+", "16 plus").replace("post 16", "16 plus")
    if not words:
        return ""
    key = words.replace(" ", "-")
    if key not in PHASES:
        raise BadRequest(f"Unknown phase {raw.strip()!r}: use one of {', '.join(PHASES.values()).lower()}.")
    return key


def clean_setup(*, school: str | None, admin: str | None, admin_name: str | None = None, trust: str | None = None,
                urn: str | None = None, laestab: str | None = None, phase: str | None = None) -> dict:
    """Every setup field checked at once; SetupInvalid names each field that cannot be used.

    None means "not given" (an optional field then takes its default); an empty string given for a name is
    refused, since it was given."""
    checks = {
        "school": lambda: clean_name(school, "school's name"),
        "admin": lambda: _clean_email(admin or ""),
        "admin-name": lambda: clean_name(admin_name, "admin's name") if admin_name is not None else None,
        "trust": lambda: clean_name(trust, "trust's name") if trust is not None else None,
        "urn": lambda: clean_urn(urn),
        "laestab": lambda: clean_laestab(laestab),
        "phase": lambda: clean_phase(phase),
    }
    clean, errors = {}, {}
    for field_name, check in checks.items():
        try:
            clean[field_name] = check()
        except BadRequest as exc:
            errors[field_name] = exc.message
    if errors:
        raise SetupInvalid(errors)
    if clean["admin-name"] is None:
        clean["admin-name"] = clean["admin"].split("@")[0]
    if clean["trust"] is None:
        clean["trust"] = clean["school"]
    return clean


def slugify(name: str, fallback: str) -> str:
    """'St Mary's C of E Primary' → 'st-marys-c-of-e-primary'; accents dropped, at most 60 characters."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower().replace("'", "")
    return re.sub(r"[^a-z0-9]+", "-", plain).strip("-")[:60].strip("-") or fallback


async def _free_slug(table: type[School] | type[Trust], base: str) -> str:
    taken = {r["slug"] for r in await table.select(table.slug).where(table.slug.like(f"{base}%"))}
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


async def set_up_school(*, school: str | None, admin: str | None, admin_name: str | None = None,
                        trust: str | None = None, urn: str | None = None, laestab: str | None = None,
                        phase: str | None = None, origin: Origin,
                        defaults: tuple[Callable[[int], Awaitable[None]], ...] = ()) -> SetupResult:
    """Create a trust, its first school and its first admin (for `corridor setup`), all in one transaction.

    Run again with the same school (matched by URN, DfE number or name) and admin, it changes nothing and
    says so (created=False). `defaults` are the features' functions that give a new school its default
    categories, locations and on-call reasons, wired in by the set-up code so this service imports no
    feature above it. Nothing here makes a person other than the admin, nor a rota entry.
    """
    from app.domain.accounts.tables import Passkey

    given = clean_setup(school=school, admin=admin, admin_name=admin_name, trust=trust, urn=urn, laestab=laestab,
                        phase=phase)
    la_code, establishment = given["laestab"]
    async with atomic():
        existing = await _same_school(given["school"], given["urn"], la_code, establishment)
        if existing:
            admins = await Membership.select(Membership.person.id, Membership.person.email).where(
                (Membership.role == "admin")
                & ((Membership.school == existing["id"])
                   | ((Membership.trust == existing["trust"]) & Membership.school.is_null())))
            mine = [a for a in admins if a["person.email"] == given["admin"]]
            if not mine:
                raise SetupInvalid({"admin": f"{existing['name']} is already set up, with another admin. Add "
                                             "people with `corridor invite`, or ask its admin."})
            trust_row = await Trust.select(Trust.name).where(Trust.id == existing["trust"]).first()
            admin_id = mine[0]["person.id"]
            return SetupResult(
                created=False, school_id=existing["id"], school_slug=existing["slug"], school_name=existing["name"],
                trust_name=trust_row["name"], admin_id=admin_id, admin_email=given["admin"],
                admin_enrolled=await Passkey.exists().where(Passkey.person == admin_id))
        if given["trust"].casefold() in {t["name"].casefold() for t in await Trust.select(Trust.name)}:
            raise SetupInvalid({"trust": f"There is already a trust called {given['trust']}. Setup makes a new "
                                         "trust; a trust admin adds further schools to one that exists."})
        holder = await Person.select(Person.id).where(Person.email == given["admin"]).first()
        if holder and await Membership.exists().where(Membership.person == holder["id"]):
            raise SetupInvalid({"admin": "This email address already has a role at another trust: use the "
                                         "admin's address at this school."})
        now = clock.now()
        new_trust = Trust(name=given["trust"], slug=await _free_slug(Trust, slugify(given["trust"], "trust")),
                          created_at=now)
        await new_trust.save()
        new_school = School(trust=new_trust.id, name=given["school"], slug=await _free_slug(
                                School, slugify(given["school"], "school")),
                            urn=given["urn"] or None, la_code=la_code, establishment_number=establishment,
                            phase=given["phase"], created_at=now)
        await new_school.save()
        for give_defaults in defaults:
            await give_defaults(new_school.id)
        await audit.record("school.set_up", actor_label="corridor command", school_id=new_school.id,
                           subject_type="school", subject_id=new_school.id, subject_label=given["school"],
                           origin=origin, detail={"trust": given["trust"], "urn": given["urn"],
                                                  "laestab": la_code + establishment, "phase": given["phase"]})
        admin_id = await add_person(email=given["admin"], display_name=given["admin-name"], school_id=new_school.id,
                                    roles=FIRST_ADMIN_ROLES, actor=None, origin=origin)
        await _add_trust_roles(admin_id, new_trust.id, FIRST_ADMIN_TRUST_ROLES, None, origin)
    return SetupResult(created=True, school_id=new_school.id, school_slug=new_school.slug, school_name=new_school.name,
                       trust_name=new_trust.name, admin_id=admin_id, admin_email=given["admin"], admin_enrolled=False)


async def _same_school(name: str, urn: str, la_code: str, establishment: str) -> dict | None:
    """The school this setup describes, if it is already there: by its URN or DfE number when given (many
    schools share a name, e.g. St Mary's), else by name."""
    if urn or la_code:
        condition = School.urn == urn if urn else None
        if la_code:
            same_dfe = (School.la_code == la_code) & (School.establishment_number == establishment)
            condition = same_dfe if condition is None else condition | same_dfe
        return await School.select().where(condition).first()
    return next((s for s in await School.select() if s["name"].casefold() == name.casefold()), None)


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


# Inviting many people at once (pasted lines) ----------------------------------------------------------------

BULK_INVITE_MAX = 500  # people per request: a whole staff list, and a bound on one transaction's work
BULK_INVITE_MAX_CHARS = 100_000
_FIELD_SEPARATORS = re.compile(r"[,;\t]")  # a typed list, or cells pasted from a spreadsheet (tabs)


def _role_word(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


# A role as a pasted line may name it: its key ("head_of_year", "head of year"), its label ("Head of year",
# "On-call responder") or the short names schools use.
ROLE_WORDS: dict[str, str] = {
    **{_role_word(key): key for key in ROLES},
    **{_role_word(label): key for key, label in ROLES.items()},
    "hoy": "head_of_year", "supply": "guest", "cover": "guest", "on call": "responder",
}


@dataclass
class InviteLine:
    """One pasted line: who, with which roles, what inviting them would do, or what is wrong with it."""

    line: int
    email: str
    name: str
    roles: list[str]
    # new: a new person, who gets a link; account: has a Corridor account at another school of the trust, gets
    # roles here (and a link only if the actor manages them as a whole); here: already at this school, left as
    # they are
    status: str = "new"
    link: bool = True
    errors: list[tuple[str, str]] = field(default_factory=list)  # (field, message)

    @property
    def invitable(self) -> bool:
        return not self.errors and self.status != "here"


@dataclass
class InvitePlan:
    """What inviting the pasted lines would do: nothing is written unless every line can be used."""

    text: str
    lines: list[InviteLine] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # about the paste as a whole (empty, too long)

    @property
    def invitable(self) -> list[InviteLine]:
        return [entry for entry in self.lines if entry.invitable]

    @property
    def faulty(self) -> list[InviteLine]:
        return [entry for entry in self.lines if entry.errors]

    @property
    def can_invite(self) -> bool:
        return not self.problems and not self.faulty and bool(self.invitable)


class InvitesInvalid(BadRequest):
    """Pasted lines that cannot all be used: the preview is shown again with each line's errors."""

    def __init__(self, plan: InvitePlan, message: str = "Nothing was written: correct the lines below.") -> None:
        super().__init__(message)
        self.plan = plan


def parse_invite_lines(text: str) -> InvitePlan:
    """Pasted lines, one person each: `email, role[, role…][, name]`, separated by commas, semicolons or tabs.

    Blank lines, lines starting with # and a spreadsheet's header row are skipped; line numbers are the
    textarea's, so the admin can find them."""
    text = text or ""
    plan = InvitePlan(text=text)
    if len(text) > BULK_INVITE_MAX_CHARS:
        plan.problems.append(f"Lines: the list is longer than {BULK_INVITE_MAX_CHARS:,} characters. Invite at most "
                             f"{BULK_INVITE_MAX} people at a time.")
        return plan
    numbered = [(n, raw.strip()) for n, raw in enumerate(text.splitlines(), start=1)
                if raw.strip() and not raw.strip().startswith("#")]
    if numbered and "@" not in numbered[0][1] and "email" in numbered[0][1].lower():
        numbered = numbered[1:]  # a header row copied with the cells: "Email, Role, Name"
    if not numbered:
        plan.problems.append("Lines: paste one person per line, like: nina.new@school.sch.uk, staff, Nina New")
        return plan
    if len(numbered) > BULK_INVITE_MAX:
        plan.problems.append(f"Lines: at most {BULK_INVITE_MAX} people at a time; this list has {len(numbered)}. "
                             "Invite the rest afterwards.")
        return plan
    for number, raw in numbered:
        plan.lines.append(_parse_invite_line(number, raw))
    return plan


def _parse_invite_line(number: int, raw: str) -> InviteLine:
    fields = [f.strip() for f in _FIELD_SEPARATORS.split(raw) if f.strip()]
    entry = InviteLine(line=number, email="", name="", roles=[])
    email, rest = fields[0], fields[1:]
    try:
        entry.email = _clean_email(email)
    except BadRequest:
        entry.email = email[:254]
        entry.errors.append(("email", f"{email[:80]!r} is not an email address; each line starts with one, "
                                      "like name@school.sch.uk"))
    roles: list[str] = []
    while rest and _role_word(rest[0]) in ROLE_WORDS:
        roles.append(ROLE_WORDS[_role_word(rest.pop(0))])
    entry.roles = sorted(set(roles))
    if len(rest) > 1 or (rest and not roles):
        # After the roles comes at most one field, the name: a second one, or a first one with no role before
        # it, is a role Corridor does not know.
        entry.errors.append(("role", f"{rest[0][:40]!r} is not a role; use {_role_list()}"))
    elif not roles:
        entry.errors.append(("role", f"no role; give at least one of {_role_list()}"))
    else:
        entry.name = rest[0] if rest else ""
        if len(entry.name) > 200:
            entry.errors.append(("name", "longer than 200 characters"))
        if not entry.name and not entry.errors:
            entry.name = entry.email.split("@")[0]  # as `corridor invite` does; shown in the preview
    return entry


def _role_list() -> str:
    keys = [key.replace("_", " ") for key in ROLES]
    return ", ".join(keys[:-1]) + " or " + keys[-1]


async def plan_invites(actor: Actor, text: str) -> InvitePlan:
    """Check pasted lines against who is already in Corridor (the actor's school's admin only). Writes nothing."""
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound()
    plan = parse_invite_lines(text)
    seen: dict[str, list[int]] = {}
    for entry in plan.lines:
        if not any(f == "email" for f, _ in entry.errors):
            seen.setdefault(entry.email, []).append(entry.line)
    for entry in plan.lines:
        lines = seen.get(entry.email, [])
        if len(lines) > 1:
            others = ", ".join(str(n) for n in lines if n != entry.line)
            entry.errors.append(("email", f"{entry.email} is also on line{'s' if len(lines) > 2 else ''} {others}: "
                                          "one line per person"))
    emails = list(seen)
    people: dict[str, dict] = {}
    for start in range(0, len(emails), 500):
        for row in await Person.select(Person.id, Person.email, Person.display_name, Person.disabled_at).where(
                Person.email.is_in(emails[start:start + 500])):
            people[row["email"]] = row
    ids = [p["id"] for p in people.values()]
    memberships: dict[int, list[dict]] = {}
    for start in range(0, len(ids), 500):
        for row in await Membership.select(Membership.person, Membership.trust, Membership.school).where(
                Membership.person.is_in(ids[start:start + 500])):
            memberships.setdefault(row["person"], []).append(row)
    for entry in plan.lines:
        person = people.get(entry.email)
        if person is None or any(f == "email" for f, _ in entry.errors):
            continue
        theirs = memberships.get(person["id"], [])
        if theirs and actor.trust_id not in {m["trust"] for m in theirs}:
            entry.errors.append(("email", "this address belongs to someone at another trust; use the person's "
                                          "address at this school"))
        elif any(m["school"] == actor.school_id or (m["school"] is None and m["trust"] == actor.trust_id)
                 for m in theirs):
            entry.status, entry.link = "here", False
        elif person["disabled_at"]:
            entry.errors.append(("email", f"{person['display_name']}'s account is disabled; a trust admin enables "
                                          "it first"))
        elif theirs:
            entry.status = "account"
            entry.link = await manages_whole_person(actor, person["id"])
    return plan
