"""Every route × every principal × school A's records, against the table in matrix_expected.py (issue 10, point 13).

The routes come from create_app(settings).routes, so a new route without a row fails the suite by name. Each
row runs in a fresh world: the cast at school A, a school B in the same trust with its own admin and DSL, an
admin of another trust, and one record of every kind a route takes an id for, all at school A. Principals a row
refuses go first, so a request that changes something (claim, cancel, delete, disable) is made by the
principals who may do it only after everyone else was refused; where several may, each gets a record of its own.

A leak is a cell answered more permissively than the table says, or any answer carrying school A's data that
its cell does not allow (the pupil's name or private details, the concern's text, a colleague's email, an
enrolment link).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable
from urllib.parse import urlencode

import httpx
import pytest
from litestar.channels import ChannelsPlugin

from app import clock
from app.domain.accounts import service as accounts
from app.domain.accounts.tables import Session
from app.domain.audit.service import Origin
from app.domain.concerns import service as concerns
from app.domain.imports import service as imports
from app.domain.incidents import service as incidents
from app.domain.incidents.service import IncidentForm, ensure_defaults
from app.domain.incidents.tables import Category, IncidentPupil, Location
from app.domain.notifications import push
from app.domain.notifications.tables import Notification
from app.domain.oncall import service as oncall
from app.domain.oncall.service import ensure_defaults as ensure_oncall_defaults
from app.domain.oncall.tables import OnCallReason, RotaSlot
from app.domain.pupils.service import mark_changed, prepare_photo
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools import service as schools
from app.domain.schools.tables import Membership, School
from app.main import create_app
from app.settings import Settings
from tests.conftest import BASE_URL, add_pupil, give_passkey
from tests.imports.files import GROUPS, corridor_set, photo, pupil_rows
from tests.security.matrix_expected import EXPECTED, PRINCIPALS, route_of
from tests.softauthn import SoftAuthenticator

STATS: dict[str, Any] = {"routes": 0, "principals": len(PRINCIPALS), "cells": 0, "leaks": 0}

# School A's records, as they would show in an answer. Each name is one no other record or page uses.
PUPIL = {"first": "Zephyrine", "last": "Quillby", "form": "11Q", "upn": "A801400110457", "dob": dt.date(2010, 7, 19),
         "medical": "Wobblewort allergy", "contact": "Marguerite Vantongeren", "phone": "07700 900461"}
CONCERN_TEXT = "Spoke of a locked shed at Hollowmere Farm"
MARKERS = {
    "name": ["Zephyrine", "Quillby"],
    "care": ["Wobblewort"],
    "contacts": ["Vantongeren", "900461"],
    "details": [PUPIL["upn"], "19 Jul 2010", "2010-07-19"],
    "concern": ["Hollowmere"],
}
LINK = re.compile(r"/enrol/([A-Za-z0-9_-]{20,})")
HEX_RUN = re.compile(r"[0-9a-f]{32,}")
EVERYTHING = {"name", "care", "contacts", "details", "email", "link"}
LEVELS = {  # what an answer may carry of school A's records
    "none": set(), "name": {"name"}, "staff": {"name", "care"}, "resp": {"name", "care", "contacts"},
    "all": EVERYTHING, "dsl": EVERYTHING | {"concern"},
}


def shows(code: str) -> set[str]:
    """'ok' may show what the role sees, 'ok:staff' at most the staff view; a refusal nothing, unless the
    principal may see the record ('409:name': refused, and the page shows the pupil's name)."""
    outcome, _, level = code.partition(":")
    return LEVELS[level or ("all" if outcome == "ok" else "none")]
RANK = {"error": 0, "signin": 0, "404": 1, "403": 2, "400": 3, "409": 3, "422": 3, "ok": 4}
PHOTO = prepare_photo(photo())
A_SIDE = ("guest", "staff", "resp", "past", "hoy", "dsl", "admin")


def outcome_of(code: str) -> str:
    return code.partition(":")[0]


def rank(cell: str) -> int:
    return min(RANK.get(outcome_of(code), 3) for code in cell.split("|"))


# The world ----------------------------------------------------------------------------------------------

@dataclass
class World:
    settings: Any
    cast: Any
    school_b: int
    members: dict[str, Any]  # principal -> Member (anon has none)
    tokens: dict[str, str] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict)
    counter: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def a(self) -> int:
        return self.cast.school_id

    def a_only_emails(self) -> set[str]:
        return {m.email for p, m in self.members.items() if p in A_SIDE} | {"pat.only@northbridge.example"}

    async def actor(self, principal: str):
        return await accounts.load_actor(self.settings, self.tokens[principal], Origin(ip="test"))

    async def once(self, name: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if name not in self.memo:
            self.memo[name] = await make()
        return self.memo[name]

    # School A's settings
    async def location(self) -> int:
        return (await Location.select(Location.id).where(
            (Location.school == self.a) & (Location.name == "Canteen")).first())["id"]

    async def category(self) -> int:
        return (await Category.select(Category.id).where(
            (Category.school == self.a) & (Category.name == "Low-level disruption")).first())["id"]

    async def reason(self) -> int:
        return (await OnCallReason.select(OnCallReason.id).where(OnCallReason.school == self.a).first())["id"]

    # Pupils
    async def pupil(self) -> int:
        async def make() -> int:
            pid = await add_pupil(self.a, PUPIL["first"], PUPIL["last"], year="11", form=PUPIL["form"],
                                  upn=PUPIL["upn"], dob=PUPIL["dob"], medical_alert=PUPIL["medical"],
                                  sen_provision="K")
            full, thumb = PHOTO
            await Pupil.update({Pupil.photo: full, Pupil.photo_thumb: thumb}).where(Pupil.id == pid)
            await Contact.insert(Contact(pupil=pid, name=PUPIL["contact"], relationship="Aunt", phone=PUPIL["phone"]))
            await mark_changed(self.a)
            return pid
        return await self.once("pupil", make)

    # Incidents
    async def new_incident(self, key: str | None = None) -> int:
        form = IncidentForm(pupil_ids=[str(await self.pupil())], roles=["instigator"],
                            category_id=str(await self.category()), location_id=str(await self.location()),
                            note="Threw a chair in the canteen")
        return await incidents.record_incident(await self.actor("staff"), form, key=key, digest="matrix" if key else "")

    async def incident(self) -> int:
        return await self.once("incident", self.new_incident)

    async def link(self) -> int:
        return (await IncidentPupil.select(IncidentPupil.id).where(
            IncidentPupil.incident == await self.incident()).first())["id"]

    async def receipt_key(self) -> str:
        async def make() -> str:
            key = str(uuid.uuid4())
            await self.new_incident(key=key)
            return key
        return await self.once("receipt", make)

    async def new_category(self) -> int:
        name = f"Matrix category {next(self.counter)}"
        await incidents.add_category(await self.actor("admin"), kind="negative", name=name, severity=1, points=-1)
        return (await Category.select(Category.id).where(Category.name == name).first())["id"]

    async def new_location(self) -> int:
        name = f"Matrix room {next(self.counter)}"
        await incidents.add_location(await self.actor("admin"), name)
        return (await Location.select(Location.id).where(Location.name == name).first())["id"]

    # Safeguarding
    async def concern(self) -> dict:
        async def make() -> dict:
            await give_passkey(self.members["dsl"])  # enrolled, so the concern alerts them
            receipt = await concerns.record_concern(await self.actor("staff"), {
                "pupil_id": str(await self.pupil()), "seen_or_said": CONCERN_TEXT,
                "childs_words": "The shed at Hollowmere is cold"})
            row = await concerns.Concern.select(concerns.Concern.id).where(
                concerns.Concern.reference == receipt["reference"]).first()
            return {"id": row["id"], "reference": receipt["reference"]}
        return await self.once("concern", make)

    async def notification(self) -> int:
        await self.concern()  # tells the DSL team
        return (await Notification.select(Notification.id).where(
            Notification.person == self.members["dsl"].id).first())["id"]

    # On-call
    async def new_request(self, *, claimed: bool = False) -> int:
        made = await oncall.raise_request(await self.actor("staff"), {
            "location_id": str(await self.location()), "reason_id": str(await self.reason()), "urgency": "urgent",
            "pupil_id": str(await self.pupil()), "note": "Needs removing from the lesson"})
        if claimed:
            await oncall.acknowledge(await self.actor("resp"), made["id"])
        return made["id"]

    async def request(self) -> int:
        return await self.once("request", self.new_request)

    async def new_slot(self) -> int:
        await oncall.add_slot(await self.actor("admin"), {
            "person_id": str(self.members["resp"].id), "weekday": "6", "starts": "23:00", "ends": "23:30",
            "tier": "5"})
        return (await RotaSlot.select(RotaSlot.id).order_by(RotaSlot.id, ascending=False).first())["id"]

    # People and accounts
    async def new_person(self, *, shared: bool = False, disabled: bool = False, email: str | None = None) -> int:
        n = next(self.counter)
        email = email or f"person{n}@northbridge.example"
        pid = await schools.add_person(email=email, display_name=f"Person {n}", school_id=self.a, roles=["staff"],
                                       actor=None, origin=Origin(ip="test"))
        if disabled:
            await schools.disable_person(await self.actor("admin"), pid, "left")
        if shared:
            await schools.add_person(email=email, display_name=f"Person {n}", school_id=self.school_b,
                                     roles=["staff"], actor=None, origin=Origin(ip="test"))
        return pid

    async def a_only_person(self) -> int:
        return await self.once("pat", lambda: self.new_person(email="pat.only@northbridge.example"))

    async def shared_person(self) -> int:
        return await self.once("shared", lambda: self.new_person(shared=True))

    async def enrolment_token(self) -> str:
        async def make() -> str:
            pid = await schools.add_person(email="newt@northbridge.example", display_name="Newt Starter",
                                           school_id=self.a, roles=["staff"], actor=None, origin=Origin(ip="test"))
            link = await accounts.issue_enrolment(self.settings, pid, by=None, origin=Origin(ip="test"))
            return link.rsplit("/", 1)[1]
        return await self.once("enrolment", make)

    async def new_passkey(self) -> int:
        actor = await self.actor("staff")
        options = await accounts.registration_options(self.settings, actor.person_id, session_id=actor.session_id)
        credential = SoftAuthenticator(origin=BASE_URL).create(options["publicKey"])
        return await accounts.add_passkey(self.settings, actor, options["key"], credential, "Work phone")

    async def passkey(self) -> int:
        return await self.once("passkey", self.new_passkey)

    async def spare_passkey(self) -> int:
        await self.passkey()  # the last passkey can never be removed: this one is the teacher's second
        return await self.new_passkey()

    async def teacher_session(self) -> int:
        token = await accounts._create_session(self.settings, self.members["staff"].id, "other device",
                                               Origin(ip="test"), "pytest")
        return (await Session.select(Session.id).where(Session.token_hash == accounts._hash(token)).first())["id"]

    # Imports
    async def new_upload(self) -> str:
        # A delta: applying it never marks the world's pupil as left.
        data = corridor_set(groups=GROUPS[:1], pupils=[pupil_rows()[0]], contacts=False, staff=False)
        return await imports.store_upload(await self.actor("admin"),
                                          imports.Upload(filename="corridor.zip", data=data, delta=True))

    async def upload(self) -> str:
        return await self.once("upload", self.new_upload)

    async def applied_upload(self) -> str:
        async def make() -> str:
            key = await self.new_upload()
            await imports.apply(await self.actor("admin"), key)
            return key
        return await self.once("applied", make)


async def build_world(settings, cast) -> World:
    trust = (await School.select(School.trust).where(School.id == cast.school_id).first())["trust"]
    school_b = School(trust=trust, name="Northbridge South", slug="northbridge-south", la_code="801",
                      establishment_number="4003", created_at=clock.now())
    await school_b.save()
    await ensure_defaults(school_b.id)
    await ensure_oncall_defaults(school_b.id)
    await Membership.update({Membership.years: "9"}).where(
        (Membership.person == cast.head_of_year.id) & (Membership.role == "head_of_year"))
    members = {"guest": cast.guest, "staff": cast.teacher, "resp": cast.responder, "past": cast.pastoral,
               "hoy": cast.head_of_year, "dsl": cast.dsl, "admin": cast.admin, "out": cast.outsider}
    for principal, email, name, roles in (("b_adm", "admin@south.example", "Bea Admin", ["admin", "staff"]),
                                          ("b_dsl", "dsl@south.example", "Bo Lead", ["staff", "dsl"])):
        pid = await schools.add_person(email=email, display_name=name, school_id=school_b.id, roles=roles,
                                       actor=None, origin=Origin(ip="test"))
        members[principal] = type(cast.admin)(pid, email, name, school_b.id)
    world = World(settings=settings, cast=cast, school_b=school_b.id, members=members)
    for principal, member in members.items():
        world.tokens[principal] = await accounts._create_session(settings, member.id, member.email,
                                                                 Origin(ip="test"), "pytest")
    # The records any page could show, in every row: a leak needs something to leak.
    await world.pupil()
    await world.incident()
    await world.concern()
    await world.request()
    return world


# The requests --------------------------------------------------------------------------------------------

Values = Callable[[World, str], Awaitable[dict]]


async def nothing(w: World, p: str) -> dict:
    return {}


@dataclass
class Case:
    path: Values = nothing  # path parameters
    body: Values | None = None  # the body of an unsafe request (None: an empty form)
    query: Values = nothing
    kind: str = "form"  # form | json | multipart | stream
    fresh_session: bool = False  # the request ends its own session


def ids(**getters: Callable[[World], Awaitable[Any]]) -> Values:
    async def values(w: World, p: str) -> dict:
        return {name: await get(w) for name, get in getters.items()}
    return values


def fixed(**fields: Any) -> Values:
    async def values(w: World, p: str) -> dict:
        return dict(fields)
    return values


def of(make: Callable[[World, str], Awaitable[dict]]) -> Values:
    return make


async def pupil_q(w: World, p: str) -> dict:
    return {"pupil": await w.pupil()}


async def incident_form(w: World, p: str) -> dict:
    return {"pupil_id": str(await w.pupil()), "role": "instigator", "category_id": str(await w.category()),
            "location_id": str(await w.location()), "note": "Pushed in the lunch queue"}


async def edit_form(w: World, p: str) -> dict:
    current = await incidents.Incident.select(incidents.Incident.version).where(
        incidents.Incident.id == await w.incident()).first()
    return {"version": str(current["version"]), "occurred_at": "", "location_id": str(await w.location()),
            "note": "Threw a chair in the canteen (edited)", "outcome": ""}


async def concern_form(w: World, p: str) -> dict:
    return {"pupil_id": str(await w.pupil()), "seen_or_said": "Arrived without a coat again",
            "childs_words": "Mum forgot", "place": "Gate"}


async def oncall_form(w: World, p: str) -> dict:
    return {"location_id": str(await w.location()), "reason_id": str(await w.reason()), "urgency": "routine",
            "pupil_id": str(await w.pupil())}


async def hand_over_form(w: World, p: str) -> dict:
    to = w.members["dsl" if p == "past" else "past"]
    return {"to": str(to.id)}


async def invite_form(w: World, p: str) -> dict:
    # A colleague only at school A, new for each principal: the first attempt must not decide the next.
    email = f"invitee{next(w.counter)}@northbridge.example"
    await schools.add_person(email=email, display_name="Ivy Invitee", school_id=w.a, roles=["staff"], actor=None,
                             origin=Origin(ip="test"))
    return {"email": email, "display_name": "Ivy Invitee", "roles": "staff"}


async def bulk_lines(w: World, p: str) -> dict:
    # A's admin invites someone new (a link is theirs to see); anyone else names a colleague only at school A,
    # new for each principal: B's admin may add them to B, never get their link.
    n = next(w.counter)
    if p == "admin":
        return {"lines": f"bulk{n}@northbridge.example, staff, Bo Bulk", "count": "1"}
    email = f"bulk{n}@northbridge.example"
    await schools.add_person(email=email, display_name="Bo Bulk", school_id=w.a, roles=["staff"], actor=None,
                             origin=Origin(ip="test"))
    return {"lines": f"{email}, staff, Bo Bulk", "count": "1"}


async def mis_choice(w: World, p: str) -> dict:
    # Someone at school A never sent a link (as the MIS import leaves them), new for each principal.
    pid = await w.new_person()
    return {"person": str(pid), f"role-{pid}": "responder"}


async def school_form(w: World, p: str) -> dict:
    # A LAESTAB of its own for each principal: two schools of a trust never share one.
    return {"name": "Renamed School", "urn": "", "laestab": f"8019{next(w.counter):03d}"}


async def slot_form(w: World, p: str) -> dict:
    return {"person_id": str(w.members["resp"].id), "weekday": "6", "starts": "22:00", "ends": "22:30", "tier": "5"}


async def override_form(w: World, p: str) -> dict:
    day = (clock.now() + dt.timedelta(days=30)).date().isoformat()
    return {"person_id": str(w.members["resp"].id), "on_date": day, "tier": "5", "on_call": "yes"}


async def upload_files(w: World, p: str) -> dict:
    data = corridor_set(groups=GROUPS[:1], pupils=[pupil_rows()[0]], contacts=False, staff=False)
    return {"files": {"file": ("corridor.zip", data, "application/zip")}, "data": {"mode": "delta"}}


async def referral_form(w: World, p: str) -> dict:
    return {"pupil_id": str(await w.pupil()), "service_id": str(await _referral_service(w, name="CAMHS")),
            "reason": "Low mood", "consent": "not_needed", "consent_not_needed": "Self-referral"}


CREDENTIAL = {"key": "not-a-challenge", "credential": {"id": "AAAA", "type": "public-key", "response": {}}}
PUSH = {"endpoint": "https://fcm.googleapis.com/fcm/send/matrix-device", "keys": {"p256dh": "BNcRdreALRFXTkOOUHK1EtK2"
        "wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM", "auth": "tBHItJI5svbpez7KI4CCXg"}}
CSP_REPORT = {"csp-report": {"effective-directive": "script-src-elem", "blocked-uri": "inline"}}

CASES: dict[str, Case] = {
    "GET /favicon.ico": Case(),
    "GET /healthz": Case(),
    "GET /manifest.webmanifest": Case(),
    "GET /offline": Case(),
    "GET /sw.js": Case(),
    "GET /static/{file_path:path}": Case(path=fixed(file_path="css/app.css")),
    "GET /signin": Case(),
    "GET /signed-out": Case(),
    "POST /auth/signin/options": Case(kind="json", body=fixed()),
    "POST /auth/signin": Case(kind="json", body=fixed(**CREDENTIAL)),
    "GET /enrol/{token:str}": Case(path=ids(token=World.enrolment_token)),
    "POST /enrol/{token:str}/options": Case(path=ids(token=World.enrolment_token), kind="json", body=fixed()),
    "POST /enrol/{token:str}": Case(path=ids(token=World.enrolment_token), kind="json", body=fixed(**CREDENTIAL)),
    "POST /csp-report": Case(kind="json", body=fixed(**CSP_REPORT)),
    "POST /signout": Case(fresh_session=True),
    "GET /": Case(),
    "GET /account": Case(),
    "POST /account/passkeys/options": Case(kind="json", body=fixed()),
    "POST /account/passkeys": Case(kind="json", body=fixed(**CREDENTIAL, name="Phone")),
    "POST /account/passkeys/{passkey_id:int}/name": Case(path=ids(passkey_id=World.passkey),
                                                         body=fixed(name="Work phone")),
    "POST /account/passkeys/{passkey_id:int}/remove": Case(path=ids(passkey_id=World.spare_passkey)),
    "POST /account/sessions/{session_id:int}/end": Case(path=ids(session_id=World.teacher_session)),
    "POST /account/verify/options": Case(kind="json", body=fixed()),
    "POST /account/verify": Case(kind="json", body=fixed(**CREDENTIAL)),
    "POST /account/school": Case(body=of(lambda w, p: fixed(school_id=str(w.a))(w, p))),
    "POST /account/mobile": Case(body=fixed(mobile="07700 900123")),
    "GET /admin/people": Case(),
    "POST /admin/people": Case(body=invite_form),
    "GET /admin/people/bulk": Case(),
    "POST /admin/people/bulk/preview": Case(body=bulk_lines),
    "POST /admin/people/bulk": Case(body=bulk_lines),
    "POST /admin/people/bulk/mis": Case(body=mis_choice),
    "GET /admin/people/{person_id:int} [a-only]": Case(path=ids(person_id=World.a_only_person)),
    "GET /admin/people/{person_id:int} [shared]": Case(path=ids(person_id=World.shared_person)),
    "POST /admin/people/{person_id:int}/roles [a-only]": Case(path=ids(person_id=World.a_only_person),
                                                              body=fixed(roles="staff", years="")),
    "POST /admin/people/{person_id:int}/roles [shared]": Case(path=ids(person_id=World.shared_person),
                                                              body=fixed(roles="staff", years="")),
    "POST /admin/people/{person_id:int}/disable [a-only]": Case(path=ids(person_id=lambda w: w.new_person()),
                                                                body=fixed(reason="Left the school")),
    "POST /admin/people/{person_id:int}/disable [shared]": Case(
        path=ids(person_id=lambda w: w.new_person(shared=True)), body=fixed(reason="Left the school")),
    "POST /admin/people/{person_id:int}/enable [a-only]": Case(
        path=ids(person_id=lambda w: w.new_person(disabled=True))),
    "POST /admin/people/{person_id:int}/enable [shared]": Case(
        path=ids(person_id=lambda w: w.new_person(shared=True, disabled=True))),
    "POST /admin/people/{person_id:int}/link [a-only]": Case(path=ids(person_id=lambda w: w.new_person())),
    "POST /admin/people/{person_id:int}/link [shared]": Case(path=ids(person_id=lambda w: w.new_person(shared=True))),
    "POST /admin/people/{person_id:int}/remove [a-only]": Case(path=ids(person_id=lambda w: w.new_person())),
    "POST /admin/people/{person_id:int}/remove [shared]": Case(
        path=ids(person_id=lambda w: w.new_person(shared=True))),
    "GET /admin/audit": Case(),
    "GET /pupils": Case(),
    "POST /pupils/search [name]": Case(body=fixed(q=PUPIL["last"])),
    "POST /pupils/search [upn]": Case(body=fixed(q=PUPIL["upn"])),
    "POST /pupils/search [year]": Case(body=fixed(q="year 11")),
    "GET /pupils/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil)),
    "GET /pupils/{pupil_id:int}/photo": Case(path=ids(pupil_id=World.pupil)),
    "POST /pupils/{pupil_id:int}/safeguarding": Case(path=ids(pupil_id=World.pupil), body=fixed(speak_to_dsl="yes")),
    "GET /incidents/new": Case(query=pupil_q),
    "POST /incidents/pick [name]": Case(body=fixed(q=PUPIL["last"])),
    "POST /incidents/pick [upn]": Case(body=fixed(q=PUPIL["upn"])),
    "POST /incidents": Case(body=incident_form),
    "GET /incidents/follow-up": Case(),
    "GET /incidents/rewards": Case(query=fixed(year="11")),
    "GET /incidents/{incident_id:int}": Case(path=ids(incident_id=World.incident)),
    "POST /incidents/{incident_id:int}/edit": Case(path=ids(incident_id=World.incident), body=edit_form),
    "POST /incidents/{incident_id:int}/statements": Case(path=ids(incident_id=World.incident),
                                                         body=fixed(kind="note", body="Two witnesses agree")),
    # Each principal asks about a fresh entry a member of staff has just logged: only its author may undo it.
    "POST /incidents/{incident_id:int}/undo": Case(path=ids(incident_id=lambda w: w.new_incident())),
    "POST /incidents/{incident_id:int}/delete": Case(path=ids(incident_id=lambda w: w.new_incident()),
                                                     body=fixed(reason="Logged twice")),
    "POST /incidents/links/{link_id:int}/status": Case(path=ids(link_id=World.link), body=fixed(status="in_progress")),
    "POST /incidents/links/{link_id:int}/actions": Case(path=ids(link_id=World.link),
                                                        body=fixed(action="phone_call_home", note="Rang home")),
    "GET /admin/school": Case(),
    "POST /admin/school": Case(body=school_form),
    "POST /admin/school/new": Case(body=school_form),
    "GET /admin/incidents": Case(),
    "POST /admin/incidents/categories": Case(body=fixed(kind="positive", name="Tidy desk", severity="0", points="1")),
    "POST /admin/incidents/locations": Case(body=fixed(name="Art block")),
    "POST /admin/incidents/categories/{category_id:int}": Case(path=ids(category_id=World.new_category),
                                                               body=fixed(name="Chatting", severity="1", points="-1")),
    "POST /admin/incidents/categories/{category_id:int}/retire": Case(path=ids(category_id=World.new_category)),
    "POST /admin/incidents/locations/{location_id:int}/retire": Case(path=ids(location_id=World.new_location)),
    "GET /concerns/new": Case(query=pupil_q),
    "POST /concerns": Case(body=concern_form),
    "GET /concerns/receipt/{reference:str}": Case(path=of(lambda w, p: _concern_ref(w))),
    "GET /concerns": Case(),
    "GET /concerns/{concern_id:int}": Case(path=of(lambda w, p: _concern_id(w))),
    "POST /concerns/{concern_id:int}/entries": Case(path=of(lambda w, p: _concern_id(w)),
                                                    body=fixed(kind="action", body="Called children's services")),
    "GET /concerns/chronology/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil)),
    "GET /concerns/continue": Case(query=fixed(to="/concerns/")),
    "GET /notifications": Case(),
    "POST /notifications/{notification_id:int}/open": Case(path=ids(notification_id=World.notification)),
    "GET /notifications/stream": Case(kind="stream"),
    "GET /notifications/push/key": Case(),
    "POST /notifications/push/subscribe": Case(kind="json", body=fixed(**PUSH)),
    "GET /oncall/new": Case(query=of(lambda w, p: _oncall_q(w))),
    "POST /oncall": Case(body=oncall_form),
    "POST /oncall/duty": Case(body=fixed(on="no")),
    "GET /oncall/board": Case(),
    "GET /oncall/board/stream": Case(kind="stream"),
    "GET /oncall/report": Case(),
    "GET /oncall/{request_id:int}": Case(path=ids(request_id=World.request)),
    "GET /oncall/{request_id:int}/stream": Case(kind="stream", path=ids(request_id=World.request)),
    "POST /oncall/{request_id:int}/acknowledge": Case(path=ids(request_id=lambda w: w.new_request())),
    "POST /oncall/{request_id:int}/en-route": Case(path=ids(request_id=lambda w: w.new_request(claimed=True))),
    "POST /oncall/{request_id:int}/on-scene": Case(path=ids(request_id=lambda w: w.new_request(claimed=True))),
    "POST /oncall/{request_id:int}/resolve": Case(path=ids(request_id=lambda w: w.new_request(claimed=True)),
                                                  body=fixed(outcome="returned")),
    "POST /oncall/{request_id:int}/hand-over": Case(path=ids(request_id=lambda w: w.new_request(claimed=True)),
                                                    body=hand_over_form),
    "POST /oncall/{request_id:int}/note": Case(path=ids(request_id=World.request), body=fixed(note="Now in B12")),
    "POST /oncall/{request_id:int}/cancel": Case(path=ids(request_id=lambda w: w.new_request())),
    "GET /admin/oncall": Case(),
    "POST /admin/oncall/slots": Case(body=slot_form),
    "POST /admin/oncall/slots/{slot_id:int}/remove": Case(path=ids(slot_id=World.new_slot)),
    "POST /admin/oncall/overrides": Case(body=override_form),
    "POST /admin/oncall/settings": Case(body=fixed(ack_seconds="60", top_tier="2")),
    "GET /referrals": Case(),
    "GET /referrals/chase": Case(),
    "GET /referrals/pupil/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil)),
    "GET /referrals/new": Case(query=pupil_q),
    "POST /referrals": Case(body=referral_form),
    "GET /referrals/{referral_id:int}": Case(path=ids(referral_id=lambda w: _referral(w))),
    "POST /referrals/{referral_id:int}/move": Case(path=ids(referral_id=lambda w: _referral(w, fresh=True)),
                                                   body=fixed(from_state="draft", to_state="sent", note="Emailed")),
    "POST /referrals/{referral_id:int}/consent": Case(path=ids(referral_id=lambda w: _referral(w)),
                                                      body=fixed(consent="not_needed", consent_not_needed="Self-referral")),
    "GET /admin/referrals": Case(),
    "POST /admin/referrals/services": Case(body=fixed(name="Youth offending team")),
    "POST /admin/referrals/services/{service_id:int}": Case(path=ids(service_id=lambda w: _referral_service(w)),
                                                            body=fixed(name="Renamed service")),
    "POST /admin/referrals/services/{service_id:int}/retire": Case(
        path=ids(service_id=lambda w: _referral_service(w))),
    "POST /admin/referrals/settings": Case(body=fixed(chase_after_days="12")),
    "GET /casework": Case(),
    "GET /casework/mine": Case(),
    "GET /casework/pupil/{pupil_id:int}": Case(path=ids(pupil_id=lambda w: _case_pupil(w))),
    "GET /casework/new": Case(query=pupil_q),
    "POST /casework": Case(body=of(lambda w, p: _case_form(w, p))),
    "GET /casework/{case_id:int}": Case(path=ids(case_id=lambda w: _case(w))),
    "POST /casework/{case_id:int}/status": Case(path=ids(case_id=lambda w: _case(w)), body=fixed(status="on_hold")),
    "POST /casework/{case_id:int}/plan": Case(path=ids(case_id=lambda w: _case(w)),
                                              body=fixed(strategies="Meet at the gate", new_who="Aunt",
                                                         new_what="Walk to school")),
    "POST /casework/{case_id:int}/targets": Case(path=ids(case_id=lambda w: _case(w)),
                                                 body=fixed(target_text="Eat lunch in the canteen")),
    "GET /casework/{case_id:int}/review": Case(path=ids(case_id=lambda w: _case(w))),
    "POST /casework/{case_id:int}/review": Case(path=ids(case_id=lambda w: _case(w)),
                                                body=of(lambda w, p: _review_form(w))),
    "GET /casework/types": Case(),
    "POST /casework/types": Case(body=of(lambda w, p: fixed(name=f"Matrix type {p}", review_weeks="5")(w, p))),
    "GET /contact-log/new": Case(query=pupil_q),
    "POST /contact-log": Case(body=of(lambda w, p: _contact_log_form(w))),
    "GET /contact-log/pupil/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil)),
    "GET /contact-log/{log_id:int}": Case(path=ids(log_id=lambda w: _contact_log(w))),
    "GET /chronology/pupil/{pupil_id:int}": Case(path=of(lambda w, p: _chronology_pupil(w))),
    "GET /chronology/pupil/{pupil_id:int}/csv": Case(path=of(lambda w, p: _chronology_pupil(w))),
    "POST /chronology/pupil/{pupil_id:int}/significant": Case(
        path=of(lambda w, p: _chronology_pupil(w)),
        body=of(lambda w, p: _significant_form(w))),
    "GET /case-pack/new": Case(query=of(lambda w, p: _pack_pupil_q(w))),
    "POST /case-pack": Case(body=of(lambda w, p: _pack_form(w, p))),
    "GET /case-pack/{pack_id:int}": Case(path=of(lambda w, p: _pack(w, p))),
    "POST /case-pack/{pack_id:int}/redactions": Case(path=of(lambda w, p: _pack(w, p)),
                                                     body=fixed(phrase="Room 12")),
    "GET /case-pack/{pack_id:int}/pack.pdf": Case(path=of(lambda w, p: _pack(w, p))),
    "GET /case-pack/{pack_id:int}/pack.csv": Case(path=of(lambda w, p: _pack(w, p))),
    "GET /subject-access": Case(path=of(lambda w, p: _sar(w))),
    "GET /subject-access/new": Case(query=of(lambda w, p: _pack_pupil_q(w))),
    "POST /subject-access": Case(body=of(lambda w, p: _sar_form(w))),
    "GET /subject-access/{request_id:int}": Case(path=of(lambda w, p: _sar(w))),
    "POST /subject-access/{request_id:int}/decisions": Case(path=of(lambda w, p: _sar(w)),
                                                            body=of(lambda w, p: _sar_decision(w))),
    "POST /subject-access/{request_id:int}/staff-names": Case(path=of(lambda w, p: _sar(w)),
                                                              body=fixed(staff_names="redact")),
    "GET /subject-access/{request_id:int}/export.pdf": Case(path=of(lambda w, p: _sar(w))),
    "GET /subject-access/{request_id:int}/export.json": Case(path=of(lambda w, p: _sar(w))),
    "GET /interventions": Case(),
    "GET /interventions/new": Case(),
    "POST /interventions": Case(body=of(lambda w, p: _programme_form(w, p))),
    "GET /interventions/instruments": Case(),
    "POST /interventions/instruments": Case(body=of(lambda w, p: fixed(
        kind="scale", name=f"Matrix scale {p}", low="0", high="10", direction="higher", threshold="6")(w, p))),
    "GET /interventions/{programme_id:int}": Case(path=ids(programme_id=lambda w: _programme(w))),
    "POST /interventions/{programme_id:int}/pupils": Case(path=ids(programme_id=lambda w: _programme(w, fresh=True)),
                                                          body=of(lambda w, p: _pupil_form(w))),
    "GET /interventions/{programme_id:int}/register": Case(path=ids(programme_id=lambda w: _programme(w))),
    "POST /interventions/{programme_id:int}/register": Case(path=ids(programme_id=lambda w: _programme(w)),
                                                            body=of(lambda w, p: _register_form(w))),
    "GET /interventions/{programme_id:int}/measures/{participant_id:int}": Case(path=of(lambda w, p: _on_programme(w))),
    "POST /interventions/{programme_id:int}/measures/{participant_id:int}": Case(
        path=of(lambda w, p: _on_programme(w, fresh=True)),
        body=of(lambda w, p: fixed(stage="baseline", taken_on=clock.now().date().isoformat(), score="4",
                                   rater="Pupil")(w, p))),
    "GET /interventions/{programme_id:int}/impact": Case(path=ids(programme_id=lambda w: _programme(w))),
    "GET /interventions/{programme_id:int}/impact.csv": Case(path=ids(programme_id=lambda w: _programme(w))),
    "GET /interventions/terms/{term:str}": Case(path=of(lambda w, p: _programme_term(w))),
    "GET /interventions/terms/{term:str}/impact.csv": Case(path=of(lambda w, p: _programme_term(w))),
    "GET /admin/import": Case(),
    "POST /admin/import": Case(kind="multipart", body=upload_files),
    "GET /admin/import/{key:str}": Case(path=ids(key=World.upload)),
    "POST /admin/import/{key:str}/apply": Case(path=ids(key=lambda w: w.new_upload())),
    "GET /admin/import/{key:str}/result": Case(path=ids(key=World.applied_upload)),
    "GET /admin/attendance": Case(),
    "POST /admin/attendance": Case(kind="multipart", body=of(lambda w, p: _attendance_files(w))),
    "POST /admin/attendance/bands": Case(body=fixed(expected_from="96", persistent_below="90",
                                                    severe_at_or_below="50")),
    "GET /admin/attendance/{key:str}": Case(path=ids(key=lambda w: _attendance_upload(w))),
    "POST /admin/attendance/{key:str}/apply": Case(path=ids(key=lambda w: _attendance_upload(w, fresh=True))),
    "GET /admin/attendance/{key:str}/result": Case(path=ids(key=lambda w: _attendance_applied(w))),
    "GET /attendance/pupil/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil)),
    "GET /gate": Case(),
    "POST /gate/find": Case(body=fixed(q=PUPIL["last"])),
    "POST /gate": Case(body=of(lambda w, p: _gate_tap(w))),
    "GET /admin/register-close": Case(),
    "POST /admin/register-close": Case(body=fixed(am_close="09:00", pm_close="13:45")),
    "GET /admin/tutors": Case(),
    "POST /admin/tutors": Case(body=of(lambda w, p: _tutor_form(w))),
    "GET /attendance/first-day": Case(),
    "GET /attendance/first-day/csv": Case(),
    "GET /gate/today.csv": Case(),
    "GET /data-review": Case(query=fixed(year="11")),
    "GET /data-review/csv/{key:str}": Case(path=fixed(key="places"), query=fixed(year="11")),
    "GET /data-review/early-intervention": Case(),
    "GET /data-review/early-intervention.csv": Case(),
    "GET /data-review/early-intervention/{pupil_id:int}/case": Case(path=ids(pupil_id=World.pupil)),
    "POST /data-review/early-intervention/{pupil_id:int}/dismiss": Case(path=ids(pupil_id=World.pupil),
                                                                        body=fixed(reason="Spoken to")),
    "GET /data-review/thresholds": Case(),
    "POST /data-review/thresholds": Case(body=fixed(negative_incidents="3", negative_days="7", attendance_below="92",
                                                    attendance_weeks="4", lates_per_half_term="5", drop_points="5",
                                                    penalty="1", missing_clock_days="10")),
    "GET /rewards": Case(query=fixed(year="11")),
    "GET /rewards/csv/{table:str}": Case(path=fixed(table="pupils"), query=fixed(year="11")),
    "GET /rewards/leaderboard": Case(query=fixed(year="11")),
    "GET /rewards/leaderboard/present": Case(query=fixed(year="11")),
    "GET /rewards/leaderboard.csv": Case(query=fixed(year="11")),
    "GET /rewards/certificates": Case(query=fixed(year="11")),
    "POST /rewards/certificates": Case(body=of(lambda w, p: _reward_print(w))),
    "GET /rewards/milestones": Case(),
    "POST /rewards/milestones": Case(body=fixed(milestones="50, 100, 250")),
    "GET /admin/retention": Case(),
    "POST /admin/retention": Case(body=fixed(safeguarding_years="30", behaviour_basis="years", behaviour_years="6",
                                             casework_basis="age", casework_years="25", attendance_years="6", oncall_years="3",
                                             alerts_years="1")),
    "GET /retention/hold/{pupil_id:int}": Case(path=ids(pupil_id=lambda w: _held_pupil(w))),
    "GET /retention/hold/{pupil_id:int}/panel": Case(path=ids(pupil_id=lambda w: _held_pupil(w))),
    "POST /retention/hold/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil), body=fixed(reason="Police inquiry")),
    "POST /retention/hold/{pupil_id:int}/lift": Case(path=ids(pupil_id=lambda w: _held_pupil(w)),
                                                     body=fixed(lift_reason="Inquiry closed")),
    "GET /home-visits": Case(),
    "GET /home-visits/ladder": Case(),
    "POST /home-visits/ladder": Case(body=fixed(tier1_minutes="5", tier2_minutes="15", tier3_minutes="30",
                                                ack_seconds="120")),
    "GET /home-visits/new": Case(query=pupil_q),
    "POST /home-visits": Case(body=of(lambda w, p: _visit_form(w))),
    "GET /home-visits/{visit_id:int}": Case(path=of(lambda w, p: _visit(w, fresh=False))),
    "POST /home-visits/{visit_id:int}/checklist": Case(path=of(lambda w, p: _visit(w, fresh=False)),
                                                       body=of(lambda w, p: _visit_checklist())),
    "POST /home-visits/{visit_id:int}/override": Case(path=of(lambda w, p: _visit(w, lone=True)),
                                                      body=fixed(override_reason="Doorstep only")),
    "POST /home-visits/{visit_id:int}/authorise": Case(path=of(lambda w, p: _visit(w, stage="checked"))),
    "POST /home-visits/{visit_id:int}/cancel": Case(path=of(lambda w, p: _visit(w)),
                                                    body=fixed(cancel_reason="Back at school")),
    "POST /home-visits/{visit_id:int}/start": Case(path=of(lambda w, p: _visit(w, stage="authorised")),
                                                   body=of(lambda w, p: _tap_key())),
    "POST /home-visits/{visit_id:int}/arrive": Case(path=of(lambda w, p: _visit(w, stage="started")),
                                                    body=of(lambda w, p: _tap_key())),
    "POST /home-visits/{visit_id:int}/extend": Case(path=of(lambda w, p: _visit(w, stage="started")),
                                                    body=of(lambda w, p: _tap_key())),
    "POST /home-visits/{visit_id:int}/safe": Case(path=of(lambda w, p: _visit(w, stage="started")),
                                                  body=of(lambda w, p: _tap_key())),
    "GET /home-visits/{visit_id:int}/alarm": Case(path=of(lambda w, p: _visit(w, stage="escalated", fresh=False))),
    "POST /home-visits/{visit_id:int}/acknowledge": Case(path=of(lambda w, p: _visit(w, stage="escalated"))),
    "POST /home-visits/{visit_id:int}/checkout": Case(path=of(lambda w, p: _visit(w, stage="started")),
                                                      body=of(lambda w, p: _tap_key())),
    "POST /home-visits/{visit_id:int}/outcome": Case(path=of(lambda w, p: _visit(w, stage="started")),
                                                     body=of(lambda w, p: _outcome_form())),
    "GET /home-visits/board": Case(),
    "GET /home-visits/board/stream": Case(kind="stream"),
    "GET /home-visits/{visit_id:int}/pack": Case(path=of(lambda w, p: _visit(w, stage="authorised", fresh=False))),
    "GET /home-visits/offline": Case(),
    "GET /outbox": Case(),
    "GET /outbox/session": Case(),
    "GET /outbox/receipts/{key:str}": Case(path=ids(key=World.receipt_key)),
    "GET /physical-interventions": Case(),
    "POST /physical-interventions": Case(body=of(lambda w, p: _pi_start_form(w))),
    "GET /physical-interventions/report": Case(),
    "GET /physical-interventions/report.csv": Case(),
    "GET /physical-interventions/settings": Case(),
    "POST /physical-interventions/settings": Case(body=fixed(technique_list="Guide (open hand)\nSeated hold",
                                                             hours="24")),
    "GET /physical-interventions/{record_id:int}": Case(path=of(lambda w, p: _pi_record(w))),
    "POST /physical-interventions/{record_id:int}": Case(path=of(lambda w, p: _pi_record(w)),
                                                         body=of(lambda w, p: _pi_draft(w))),
    "POST /physical-interventions/{record_id:int}/sign-off": Case(path=of(lambda w, p: _pi_record(w, completed=True)),
                                                                  body=fixed(review_note="Proportionate")),
    "GET /on-report": Case(),
    "GET /on-report/day": Case(),
    "POST /on-report/day": Case(body=fixed(name_0="Period 1", starts_0="09:00", ends_0="10:00", kind_0="lesson",
                                           labels="Not met\nMet")),
    "GET /on-report/new": Case(query=pupil_q),
    "POST /on-report": Case(body=of(lambda w, p: _report_form(w))),
    "GET /on-report/{report_id:int}": Case(path=of(lambda w, p: _report(w))),
    "GET /on-report/{report_id:int}/rate": Case(path=of(lambda w, p: _report(w))),
    "POST /on-report/{report_id:int}/rate": Case(path=of(lambda w, p: _report(w)),
                                                 body=of(lambda w, p: _rating_form(w))),
    "POST /on-report/{report_id:int}/level": Case(path=of(lambda w, p: _report(w, fresh=True)),
                                                  body=fixed(level="2", reason="Walked out")),
    "POST /on-report/{report_id:int}/end": Case(path=of(lambda w, p: _report(w, fresh=True)),
                                                body=fixed(reason="Targets met")),
    "GET /on-report/{report_id:int}/report.csv": Case(path=of(lambda w, p: _report(w))),
    "GET /on-report/{report_id:int}/report.pdf": Case(path=of(lambda w, p: _report(w))),
    "GET /on-report/pupil/{pupil_id:int}": Case(path=ids(pupil_id=World.pupil)),
}


async def _report_form(w: World) -> dict:
    """A report on A's year-11 pupil covering A's lessons; each request its own fortnight, so none overlaps."""
    import datetime as dt

    from app.domain.on_report import service as on_report

    start = on_report.today() + dt.timedelta(days=400 + 14 * next(w.counter))
    lessons = [str(p["id"]) for p in await on_report.periods(w.a) if p["kind"] == "lesson"]
    return {"pupil_id": str(await w.pupil()), "level": "1", "starts_on": start.isoformat(),
            "ends_on": (start + dt.timedelta(days=4)).isoformat(), "target_1": "Stay in lessons",
            "period_ids": lessons, "visible_to": ["tutor", "head_of_year", "pastoral"],
            "idempotency_key": str(uuid.uuid4())}


async def _tutor_form(w: World) -> dict:
    """Name no tutor for A's pupil's form (back to the MIS tutor): only A's admin may."""
    group = (await Pupil.select(Pupil.tutor_group).where(Pupil.id == await w.pupil()).first())["tutor_group"]
    return {"tutor_group_id": str(group), "person_ids": ""}


async def _report(w: World, *, fresh: bool = False) -> dict:
    """A report put by A's pastoral officer: the running one (today, covering an all-day period so that a rating is
    taken whatever the time of day), or a fresh future one for each request that changes it."""
    import datetime as dt

    from app.domain.on_report import service as on_report
    from app.domain.on_report.tables import SchoolPeriod

    async def all_day() -> int:
        await on_report.periods(w.a)
        row = SchoolPeriod(school=w.a, name="All day", starts="00:00", ends="23:59", kind="lesson", position=99)
        await row.save()
        return row.id

    async def make(form: dict) -> int:
        return await on_report.put_on_report(await w.actor("past"), form)

    if fresh:
        return {"report_id": await make(await _report_form(w))}

    async def running() -> int:
        form = await _report_form(w)
        today = on_report.today()
        form.update(starts_on=today.isoformat(), ends_on=(today + dt.timedelta(days=13)).isoformat(),
                    period_ids=[str(await w.once("all_day_period", all_day))])
        return await make(form)
    return {"report_id": await w.once("on_report", running)}


async def _rating_form(w: World) -> dict:
    from app.domain.on_report.tables import OnReportTarget

    rid = (await _report(w))["report_id"]
    target = await OnReportTarget.select(OnReportTarget.id).where(OnReportTarget.report == rid).first()
    return {"target_id": str(target["id"]), "period_id": str(await w.once("all_day_period", lambda: None)),
            "score": "3"}


async def _pi_start_form(w: World) -> dict:
    return {"incident_id": str(await w.incident()), "idempotency_key": str(uuid.uuid4())}


async def _pi_record(w: World, *, completed: bool = False) -> dict:
    """A record of A's pupil started by A's DSL from the teacher's incident; a completed one (owned by A's admin, no
    staff named, so A's DSL may sign it off) fresh for each request."""
    from app.domain.physical_intervention import service as pi
    from app.domain.physical_intervention.tables import PhysicalIntervention, PhysicalInterventionStaff

    async def make() -> int:
        rid = await pi.start(await w.actor("dsl"), incident_id=await w.incident())
        if completed:
            await PhysicalIntervention.update({PhysicalIntervention.completed_at: clock.now(),
                                               PhysicalIntervention.owner: w.members["admin"].id}).where(
                PhysicalIntervention.id == rid)
            await PhysicalInterventionStaff.delete().where(PhysicalInterventionStaff.record == rid)
        return rid
    return {"record_id": await make() if completed else await w.once("pi_record", make)}


async def _pi_draft(w: World) -> dict:
    from app.domain.physical_intervention.tables import PhysicalIntervention

    rid = (await _pi_record(w))["record_id"]
    row = await PhysicalIntervention.select(PhysicalIntervention.occurred_at).where(
        PhysicalIntervention.id == rid).first()
    at = row["occurred_at"].astimezone(incidents.LONDON)
    return {"occurred_date": at.date().isoformat(), "occurred_time": at.strftime("%H:%M"),
            "location_id": str(await w.location()), "pupil_ids": str(await w.pupil()),
            "lead_up": "Threw a chair", "action": "save"}


async def _visit_form(w: World, lone: bool = False) -> dict:
    """A visit to the year-11 pupil's home by A's pastoral officer, with a second pastoral colleague (or alone)."""
    from app.domain.incidents.service import local_now

    async def mate() -> int:
        return await schools.add_person(email="vic.mate@northbridge.example", display_name="Vic Mate",
                                        school_id=w.a, roles=["staff", "pastoral"], actor=None,
                                        origin=Origin(ip="test"))
    now = local_now()
    form = {"pupil_id": str(await w.pupil()), "address": "7 Matrix Row", "purpose": "Absent three days",
            "date": now.date().isoformat(), "start": now.strftime("%H:%M"), "minutes": "45",
            "staff_1": str(w.members["past"].id), "phone_1": "07700900111", "idempotency_key": str(uuid.uuid4())}
    if not lone:
        form.update(staff_2=str(await w.once("visit_mate", mate)), phone_2="07700900222")
    return form


async def _visit_checklist() -> dict:
    return {"check_adults_dogs": "None known", "check_past_incidents": "None", "check_social_worker": "no_worker",
            "check_purpose_agreed": "yes"}


async def _tap_key() -> dict:
    return {"idempotency_key": str(uuid.uuid4())}


async def _outcome_form() -> dict:
    return {"idempotency_key": str(uuid.uuid4()), "outcome": "seen_alone", "outcome_present": "Mum",
            "outcome_note_left": "no"}


async def _visit(w: World, *, stage: str = "planned", lone: bool = False, fresh: bool = True) -> dict:
    """A visit planned by A's pastoral officer, taken as far as `stage` (checked, authorised by A's DSL, started,
    escalated to tier 2: the on-call responder and the DSL alerted); a fresh one for each request that changes it."""
    from app.domain.home_visits import service as visits

    async def make() -> int:
        past = await w.actor("past")
        form = await _visit_form(w, lone=lone)
        vid = (await visits.plan_visit(past, {k: v for k, v in form.items() if k != "idempotency_key"}))["id"]
        if stage == "planned":
            return vid
        await visits.complete_checklist(past, vid, await _visit_checklist())
        if stage == "checked":
            return vid
        await visits.authorise(await w.actor("dsl"), vid)
        if stage == "authorised":
            return vid
        await visits.start(past, vid)
        if stage == "escalated":
            ends = (await visits.view(past, vid))["ends_at"]
            await visits.tick(ends + dt.timedelta(minutes=16))
            await visits.tick(ends + dt.timedelta(minutes=20))
        return vid
    return {"visit_id": await make() if fresh else await w.once(f"visit_{stage}", make)}


async def _chronology_pupil(w: World) -> dict:
    """The pupil, with an incident and a concern about them, so the chronology has something to show."""
    await w.incident()
    await w.concern()
    return {"pupil_id": await w.pupil()}


async def _significant_form(w: World) -> dict:
    return {"ref": f"incident:{await w.incident()}", "significant": "yes"}


async def _pack_pupil_q(w: World) -> dict:
    await w.incident()
    await w.concern()
    return {"pupil": await w.pupil()}


async def _pack_form(w: World, p: str) -> dict:
    from app.domain.chronology.entries import SOURCES

    await _pack_pupil_q(w)
    return {"pupil_id": str(await w.pupil()), "sources": list(SOURCES),
            "idempotency_key": str(uuid.uuid4())}


async def _pack(w: World, p: str) -> dict:
    """A pack of the pupil's chronology: the DSL's own for the DSL, else the pastoral officer's (a pack is its
    producer's working document)."""
    from app.domain.chronology import pack as packs
    from app.domain.chronology.entries import SOURCES

    maker = "dsl" if p == "dsl" else "past"

    async def make() -> int:
        await _pack_pupil_q(w)
        form = {"pupil_id": str(await w.pupil()), "sources": list(SOURCES)}
        return (await packs.create_draft(await w.actor(maker), form))["id"]
    return {"pack_id": await w.once(f"case_pack_{maker}", make)}


async def _sar_form(w: World) -> dict:
    await _pack_pupil_q(w)
    return {"pupil_id": str(await w.pupil()), "requester_name": "Ann Aunt", "requester_relationship": "Aunt",
            "received_on": "2026-11-20", "staff_names": "keep", "idempotency_key": str(uuid.uuid4())}


async def _sar(w: World) -> dict:
    """A subject access request for the pupil, started by A's DSL, with the world's concern already released."""
    import json

    from app.domain.subject_access.tables import SubjectAccessRequest

    async def make() -> int:
        await _pack_pupil_q(w)
        concern = await w.concern()
        row = SubjectAccessRequest(school=w.a, pupil=await w.pupil(), requester_name="Ann Aunt",
                                   requester_relationship="Aunt", received_on=clock.now().date(),
                                   decisions=json.dumps({str(concern["id"]): {"decision": "release", "reason": "",
                                                                              "by": "Dee", "by_id": 0, "at": ""}}),
                                   created_by=w.members["dsl"].id, created_at=clock.now())
        await row.save()
        return row.id
    return {"request_id": await w.once("sar", make)}


async def _sar_decision(w: World) -> dict:
    return {"concern_id": str((await w.concern())["id"]), "decision": "release", "reason": ""}


async def _held_pupil(w: World) -> int:
    """The year-11 pupil, under a legal hold A's DSL set."""
    from app.domain.retention.tables import LegalHold

    async def make() -> int:
        pupil = await w.pupil()
        await LegalHold.insert(LegalHold(school=w.a, pupil=pupil, reason="Police inquiry",
                                         set_by=w.members["dsl"].id, set_at=clock.now()))
        return pupil
    return await w.once("held_pupil", make)


async def _attendance_csv(w: World) -> bytes:
    """A morning's mark for the world's pupil, by MIS id (an error line never echoes a UPN or name)."""
    mis = (await Pupil.select(Pupil.mis_id).where(Pupil.id == await w.pupil()).first())["mis_id"]
    day = (clock.now().date() - dt.timedelta(days=1)).isoformat()
    return f"mis_id,date,session,code,minutes_late\r\n{mis},{day},AM,L,5\r\n".encode()


async def _attendance_files(w: World) -> dict:
    return {"files": {"file": ("marks.csv", await _attendance_csv(w), "text/csv")}, "data": {}}


async def _attendance_upload(w: World, fresh: bool = False) -> str:
    from app.domain.attendance import service as attendance

    async def make() -> str:
        return await attendance.store_upload(await w.actor("admin"), "marks.csv", await _attendance_csv(w))
    return await make() if fresh else await w.once("attendance_upload", make)


async def _attendance_applied(w: World) -> str:
    from app.domain.attendance import service as attendance

    async def make() -> str:
        key = await _attendance_upload(w, fresh=True)
        await attendance.apply(await w.actor("admin"), key)
        return key
    return await w.once("attendance_applied", make)


async def _concern_ref(w: World) -> dict:
    return {"reference": (await w.concern())["reference"]}


async def _concern_id(w: World) -> dict:
    return {"concern_id": (await w.concern())["id"]}


async def _referral_service(w: World, name: str = "") -> int:
    from app.domain.referrals import service as referrals
    from app.domain.referrals.tables import ReferralService

    await referrals.ensure_defaults(w.a)
    if not name:  # a service of its own for each request that renames or retires one
        name = f"Matrix service {next(w.counter)}"
        await referrals.add_service(await w.actor("admin"), name)
    return (await ReferralService.select(ReferralService.id).where(
        (ReferralService.school == w.a) & (ReferralService.name == name)).first())["id"]


async def _referral(w: World, fresh: bool = False) -> int:
    from app.domain.referrals import service as referrals

    async def make() -> int:
        made = await referrals.create_referral(await w.actor("past"), await referral_form(w, "past"))
        return made["id"]
    return await make() if fresh else await w.once("referral", make)


async def _case_form(w: World, p: str) -> dict:
    from app.domain.casework import service as casework
    from app.domain.casework.tables import CaseType

    await casework.ensure_types(w.a)
    kind = {"past": "SEMH", "dsl": "Behaviour"}.get(p, "Attendance")  # each its own: one open case a type
    type_id = (await CaseType.select(CaseType.id).where((CaseType.school == w.a) & (CaseType.name == kind)).first())["id"]
    member = w.members.get(p) or w.members["past"]
    return {"pupil_id": str(await w.pupil()), "keyworker_id": str(member.id), "type_id": str(type_id),
            "reason": "Low mood since half term", "started_on": "2026-01-05", "review_weeks": ""}


async def _case(w: World) -> int:
    from app.domain.casework import service as casework

    async def make() -> int:
        dsl = await w.actor("dsl")
        form = {**await _case_form(w, "dsl"), "keyworker_id": str(w.members["past"].id)}
        case_id = await casework.open_case(dsl, form)
        await casework.add_target(dsl, case_id, "Attend every tutor time", "I want to be on time")
        return case_id
    return await w.once("case", make)


async def _reward_print(w: World) -> dict:
    """A certificate for A's pupil, who has reached no milestone: refused (400) to whoever may print."""
    return {"year": "11", "period": "year", "key": str(uuid.uuid4()), "pick": f"{await w.pupil()}:50"}


async def _gate_tap(w: World) -> dict:
    return {"pupil_id": str(await w.pupil()), "reason": "Bus"}


async def _contact_log_form(w: World) -> dict:
    pid = await w.pupil()
    contact = (await Contact.select(Contact.id).where(Contact.pupil == pid).first())["id"]
    return {"pupil_id": str(pid), "contact_id": str(contact), "method": "phone", "direction": "out",
            "outcome": "spoke", "summary": "Talked about the bus"}


async def _contact_log(w: World) -> int:
    from app.domain.contact_log import service as contact_log

    async def make() -> int:
        return (await contact_log.log_contact(await w.actor("past"), await _contact_log_form(w)))["id"]
    return await w.once("contact_log", make)


async def _case_pupil(w: World) -> int:
    await _case(w)
    return await w.pupil()


async def _review_form(w: World) -> dict:
    from app.domain.casework.tables import CaseTarget

    target = (await CaseTarget.select(CaseTarget.id).where(CaseTarget.case == await _case(w)).first())["id"]
    return {"held_on": clock.now().date().isoformat(), f"rating_{target}": "6", f"state_{target}": "in_progress",
            "notes": "Better week"}


async def _interv_instrument(w: World) -> int:
    from app.domain.interventions import service as interventions

    async def make() -> int:
        return await interventions.add_instrument(await w.actor("dsl"), {
            "kind": "scale", "name": "Matrix confidence", "low": "0", "high": "10", "direction": "higher",
            "threshold": "6"})
    return await w.once("interv_instrument", make)


async def _programme_form(w: World, p: str) -> dict:
    member = w.members.get(p) or w.members["past"]
    return {"name": "Matrix group", "kind": "group", "aims": "Calmer lunchtimes", "facilitator_id": str(member.id),
            "planned_sessions": "6", "cost": "300", "instrument_id": str(await _interv_instrument(w)),
            "starts_on": "2026-01-05"}


async def _programme(w: World, fresh: bool = False) -> int:
    """A programme set up by the DSL with the year-11 pupil on it (a fresh one, empty, for each add)."""
    from app.domain.interventions import service as interventions

    async def make(with_pupil: bool) -> int:
        dsl = await w.actor("dsl")
        programme_id = await interventions.create_programme(dsl, await _programme_form(w, "dsl"))
        if with_pupil:
            await interventions.add_pupil(dsl, programme_id, await _pupil_form(w))
        return programme_id
    return await make(False) if fresh else await w.once("programme", lambda: make(True))


async def _pupil_form(w: World) -> dict:
    return {"pupil_id": str(await w.pupil()), "goals": ""}


async def _on_programme(w: World, fresh: bool = False) -> dict:
    from app.domain.interventions import service as interventions
    from app.domain.interventions.tables import Participant

    programme_id = await _programme(w, fresh=fresh)
    if fresh:
        await interventions.add_pupil(await w.actor("dsl"), programme_id, await _pupil_form(w))
    row = await Participant.select(Participant.id).where(Participant.programme == programme_id).first()
    return {"programme_id": programme_id, "participant_id": row["id"]}


async def _register_form(w: World) -> dict:
    participant = (await _on_programme(w))["participant_id"]
    return {"held_on": clock.now().date().isoformat(), f"mark_{participant}": "attended", "notes": "Matrix session"}


async def _programme_term(w: World) -> dict:
    await _programme(w)
    return {"term": "2025-spring"}


async def _oncall_q(w: World) -> dict:
    return {"pupil": await w.pupil(), "location": await w.location()}



# Asking and judging --------------------------------------------------------------------------------------

def route_key(method: str, path: str) -> str:
    return f"{method} {path}"


def app_routes(app) -> set[str]:
    found = set()
    for route in app.routes:
        for handler in route.route_handlers:
            for method in getattr(handler, "http_methods", ()):
                if method not in ("OPTIONS", "HEAD"):
                    found.add(route_key(method, route.path))
    return found


def fill(template: str, values: dict) -> str:
    def one(match: re.Match) -> str:
        name = match.group(1).split(":")[0]
        return str(values[name])
    return re.sub(r"\{([^}]+)\}", one, template)


@dataclass
class Answer:
    status: int
    location: str
    text: str


async def stream_answer(app, path: str, query: str, cookies: dict[str, str], client_ip: str) -> Answer:
    """A live stream never ends: take its status and what it sends in its first moments, then hang up."""
    headers = [(b"host", b"localhost:8000"), (b"accept", b"text/event-stream"), (b"last-event-id", b"1")]
    if cookies:
        headers.append((b"cookie", "; ".join(f"{k}={v}" for k, v in cookies.items()).encode()))
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": headers, "client": (client_ip, 50000), "server": ("localhost", 8000)}
    started: dict[str, Any] = {}
    chunks: list[bytes] = []
    first = asyncio.Event()
    hang_up = asyncio.Event()
    sent_request = False

    async def receive() -> dict:
        nonlocal sent_request
        if not sent_request:
            sent_request = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await hang_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
            first.set()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    task = asyncio.create_task(app(scope, receive, send))
    try:
        await asyncio.wait_for(first.wait(), 5)
        await asyncio.sleep(0.1)  # the catch-up of missed events, if any
    finally:
        hang_up.set()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass
    location = dict((k.decode().lower(), v.decode()) for k, v in started.get("headers", [])).get("location", "")
    return Answer(started.get("status", 0), location, b"".join(chunks).decode("utf-8", "replace"))


class Principal:
    def __init__(self, app, world: World, name: str, ip: str) -> None:
        self.app, self.world, self.name, self.ip = app, world, name, ip
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(ip, 50000)),
                                        base_url=BASE_URL, follow_redirects=False)
        if name in world.tokens:
            self.client.cookies.set(world.settings.session_cookie, world.tokens[name])
        self.token = ""

    async def fresh_session(self) -> None:
        member = self.world.members[self.name]
        token = await accounts._create_session(self.world.settings, member.id, member.email, Origin(ip="test"),
                                               "pytest")
        self.client.cookies.set(self.world.settings.session_cookie, token)
        self.token = ""

    async def csrf(self) -> str:
        if not self.token:
            if self.name in self.world.tokens:  # the outbox's JSON: no page to render
                self.token = (await self.client.get("/outbox/session")).json()["csrf"]
            else:
                page = await self.client.get("/signed-out")
                found = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
                assert found, "no CSRF token on /signed-out"
                self.token = found.group(1)
        return self.token

    async def ask(self, method: str, url: str, case: Case, query: dict, body: Any) -> Answer:
        if case.kind == "stream":
            cookies = {k: v for k, v in self.client.cookies.items()}
            return await stream_answer(self.app, url, urlencode(query), cookies, self.ip)
        if method == "GET":
            response = await self.client.get(url, params=query)
        else:
            headers = {"x-csrftoken": await self.csrf()}
            if case.kind == "json":
                response = await self.client.post(url, json=body or {}, params=query,
                                                  headers={**headers, "accept": "application/json"})
            elif case.kind == "multipart":
                response = await self.client.post(url, files=body["files"], data=body["data"], headers=headers)
            else:
                response = await self.client.post(url, data=body or {}, params=query, headers=headers)
        return Answer(response.status_code, response.headers.get("location", ""),
                      response.content.decode("utf-8", "replace"))


def outcome(answer: Answer) -> str:
    if answer.status >= 500:
        return "error"  # wrong in any cell, but not a leak in itself
    if answer.status == 401 or (300 <= answer.status < 400 and answer.location.split("?")[0].endswith("/signin")):
        return "signin"
    if 200 <= answer.status < 400:
        return "ok"
    return str(answer.status)


def shown(world: World, principal: str, answer: Answer, asked: str) -> set[str]:
    """Which kinds of school A's data the answer carries (what the request itself sent does not count)."""
    # A page's CSRF token is 128 hex digits, so a digits-only marker (the phone's "900461") turns up in one
    # about once in 140,000 pages by chance; tokens are cut out first. No marker is hex: names and the UPN have
    # letters outside a-f, and a phone inside a longer hex run is not a phone number on a page.
    text = HEX_RUN.sub(" ", answer.text + "\n" + answer.location)
    found = {kind for kind, marks in MARKERS.items() if any(m in text and m not in asked for m in marks)}
    own = world.members[principal].email if principal in world.members else ""
    if any(e in text and e != own and e not in asked for e in world.a_only_emails()):
        found.add("email")
    if any(token not in asked for token in LINK.findall(text)):
        found.add("link")
    return found


def judge(cell: str, got: str, kinds: set[str]) -> tuple[bool, bool]:
    """(right, leak) for one cell: right if one of its alternatives holds; a leak if the answer was more
    permissive than every alternative allows, or showed what none of them allows."""
    options = cell.split("|")
    for code in options:
        if outcome_of(code) == got and kinds <= shows(code):
            return True, False
    too_open = RANK.get(got, 3) > max(rank(c) for c in options)
    too_much = bool(kinds) and not any(kinds <= shows(c) for c in options if outcome_of(c) == got)
    return False, too_open or too_much


# The tests -----------------------------------------------------------------------------------------------

def test_a_csrf_token_that_happens_to_hold_a_marker_is_not_a_leak_but_the_phone_on_a_page_is():
    world = World(settings=None, cast=None, school_b=0, members={})
    token = "0" * 40 + "900461" + "ab" * 41  # 128 hex digits, as a page's CSRF token is
    page = f'<meta name="csrf-token" content="{token}"><p>Not found</p>'
    assert shown(world, "anon", Answer(404, "", page), "") == set()
    assert shown(world, "anon", Answer(404, "", page + "<p>07700 900461</p>"), "") == {"contacts"}


async def test_it_has_a_row_for_every_route_and_no_other(matrix_app):
    routes = app_routes(matrix_app)
    listed = {route_of(case) for case in EXPECTED}
    missing = sorted(routes - listed)
    assert not missing, "routes with no row in tests/security/matrix_expected.py: " + ", ".join(missing)
    stale = sorted(listed - routes)
    assert not stale, "rows in matrix_expected.py for routes the app no longer has: " + ", ".join(stale)
    assert set(CASES) == set(EXPECTED), (
        f"cases without a row: {sorted(set(CASES) - set(EXPECTED))}; rows without a case: "
        f"{sorted(set(EXPECTED) - set(CASES))}")


@pytest.fixture(scope="session")
async def matrix_app(database):
    """One app, its live channels started, for every row: building it takes longer than a row of requests."""
    app = create_app(Settings.from_env())
    async with app.plugins.get(ChannelsPlugin):
        yield app


@pytest.mark.parametrize("case", sorted(EXPECTED))
async def test_it_answers_every_principal_as_the_table_says(matrix_app, settings, cast, case, monkeypatch):
    app = matrix_app

    async def public_address(host: str) -> list[str]:  # DNS is a boundary: a push service's public address
        return ["142.250.180.10"]

    monkeypatch.setattr(push, "resolve", public_address)
    method, template = route_of(case).split(" ", 1)
    spec, row = CASES[case], EXPECTED[case]
    failures, leaks = [], []
    world = await build_world(settings, cast)
    # Refused principals first: whatever the request changes, the principals allowed to change it come last.
    for n, principal in enumerate(sorted(PRINCIPALS, key=lambda p: rank(row[p]))):
        who = Principal(app, world, principal, f"10.0.{n}.{PRINCIPALS.index(principal) + 1}")
        try:
            if spec.fresh_session and principal != "anon":
                await who.fresh_session()
            url = fill(template, await spec.path(world, principal))
            query = await spec.query(world, principal)
            body = await spec.body(world, principal) if spec.body else None
            answer = await who.ask(method, url, spec, query, body)
        finally:
            await who.client.aclose()
        got = outcome(answer)
        asked = url + json.dumps(query, default=str) + json.dumps(body, default=str)
        kinds = shown(world, principal, answer, asked)
        right, leak = judge(row[principal], got, kinds)
        STATS["cells"] += 1
        if not right:
            line = (f"{principal:6} expected {row[principal]:12} got {got} (HTTP {answer.status}"
                    f"{' → ' + answer.location if answer.location else ''})"
                    + (f" showing {', '.join(sorted(kinds))} of school A" if kinds else ""))
            (leaks if leak else failures).append(line)
    STATS["routes"] += 1
    STATS["leaks"] += len(leaks)
    report = [f"LEAK  {line}" for line in leaks] + [f"wrong {line}" for line in failures]
    assert not report, f"{case}:\n  " + "\n  ".join(report)
