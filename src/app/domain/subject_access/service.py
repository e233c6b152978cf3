"""Subject access requests (issue 17, point 6): for one pupil, every record Corridor holds about them that the
requester may receive, other pupils shown as "Pupil B", "Pupil C" (the case-conference pack's redactor), staff names
kept or shown as "Staff member 1, 2..." as the request says, and each safeguarding concern released or withheld by
the DSL team with a reason recorded; exported as a PDF and as JSON, each export audited with the SHA-256 of the bytes.

Who: the DSL team only. A SAR export holds everything: safeguarding concerns, casework, contacts with families. The
admin sees no safeguarding content by default (DESIGN.md) and no pastoral records either, so handling a SAR would
show them more than their role does; the school's DSL team handles SARs (as schools do) and everyone else, and
another school, gets "not found". Requests are the school's, not one person's: any of the DSL team may carry one on.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from dataclasses import dataclass, field

from app import clock
from app.clock import parse_date
from app.db import atomic
from app.domain.attendance.tables import AttendanceMark
from app.domain.audit import service as audit
from app.domain.casework import service as casework
from app.domain.casework.tables import Case, CaseAction, CaseTarget
from app.domain.chronology import service as chronology
from app.domain.chronology.entries import SOURCES, ChronologyEntry
from app.domain.chronology.pack import pupil_aliases
from app.domain.chronology.pack_redaction import Redactor
from app.domain.concerns import service as concerns
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.home_visits import service as home_visits
from app.domain.home_visits.tables import HomeVisit, HomeVisitPupil
from app.domain.interventions import service as interventions
from app.domain.interventions.tables import Attendance
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.service import Actor
from app.domain.schools.tables import Membership
from app.domain.subject_access.tables import SubjectAccessRequest
from app.errors import CorridorError, NotFound, ValidationFailed
from app.settings import Settings

HIDDEN = chronology.HIDDEN
STAFF_NAMES = {"keep": "Keep staff names", "redact": "Show staff as Staff member 1, 2..."}
DECISIONS = {"release": "Release", "withhold": "Withhold"}
REASON_LIMIT = 300
FORMATS = {"pdf": "application/pdf", "json": "application/json"}
SEN = {"N": "No special educational need", "K": "SEN support", "E": "Education, health and care plan"}


class Undecided(CorridorError):
    """An export asked for before every safeguarding item has a decision."""

    status_code = 409


def can_use(actor: Actor) -> bool:
    return concerns.in_dsl_team(actor)


def due_on(received: dt.date) -> dt.date:
    """The statutory deadline: one calendar month from receipt (the same day next month, or that month's last day
    when it has no such day: received 31 January, due 28 or 29 February), as the ICO counts it."""
    year, month = (received.year + 1, 1) if received.month == 12 else (received.year, received.month + 1)
    return dt.date(year, month, min(received.day, calendar.monthrange(year, month)[1]))


def today() -> dt.date:
    return chronology.local_date(clock.now())


# Starting a request -----------------------------------------------------------------------------------------------

async def form_context(actor: Actor, pupil_id: int | None) -> dict:
    if pupil_id is None or not can_use(actor):
        raise NotFound(HIDDEN)
    return {"pupil": await chronology.visible_pupil(actor, pupil_id), "staff_names": STAFF_NAMES}


def parse_request(form: dict) -> dict:
    """The request's details from its form; ValidationFailed with a message per field."""
    errors: dict[str, str] = {}
    name = " ".join(str(form.get("requester_name") or "").split())
    relationship = " ".join(str(form.get("requester_relationship") or "").split())
    raw_received = str(form.get("received_on") or "").strip()
    if not name:
        errors["requester_name"] = "Enter the name of the person who asked."
    elif len(name) > 200:
        errors["requester_name"] = "Keep the name to 200 characters."
    if not relationship:
        errors["requester_relationship"] = "Say who they are to the pupil, for example Mother or the pupil."
    elif len(relationship) > 60:
        errors["requester_relationship"] = "Keep this to 60 characters."
    received = parse_date(raw_received) if raw_received else None
    if not raw_received:
        errors["received_on"] = "Enter the date the request was received, like 07/12/2026."
    elif received is None:
        errors["received_on"] = "Enter the date like 07/12/2026."
    elif received > today():
        errors["received_on"] = "The date received can't be in the future."
    staff = str(form.get("staff_names") or "keep")
    if staff not in STAFF_NAMES:
        errors["staff_names"] = "Choose to keep staff names or to redact them."
    if errors:
        raise ValidationFailed(errors)
    return {"requester_name": name, "requester_relationship": relationship, "received_on": received,
            "staff_names": staff}


@notifications.releases_claim
async def start(actor: Actor, form: dict, *, key: str | None = None, digest: str = "") -> dict:
    """Record a new request (a second submission of the same form answers with the first request)."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    try:
        pupil_id = int(str(form.get("pupil_id") or ""))
    except ValueError:
        raise NotFound(HIDDEN) from None
    pupil = await chronology.visible_pupil(actor, pupil_id)
    details = parse_request(form)

    async def write() -> tuple[dict, list]:
        row = SubjectAccessRequest(school=actor.school_id, pupil=pupil["id"], decisions="{}",
                                   created_by=actor.person_id, created_at=clock.now(), **details)
        await row.save()
        # The requester's name is personal data of someone else: the audit log says that a request was started
        # and when it is due, not who made it.
        await audit.record("subject_access.started", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil["id"],
                           subject_label=f"Subject access request {row.id}", origin=actor.origin,
                           detail={"request": row.id, "received_on": details["received_on"].isoformat(),
                                   "due_on": due_on(details["received_on"]).isoformat(),
                                   "staff_names": details["staff_names"]})
        return {"id": row.id}, []

    return await notifications.answer_once(actor, key, digest, write)


# Reading a request -----------------------------------------------------------------------------------------------

@dataclass
class Request:
    id: int
    pupil: dict
    requester_name: str
    requester_relationship: str
    received_on: dt.date
    staff_names: str
    decisions: dict[str, dict]
    created_at: dt.datetime
    raw_decisions: str = ""

    @property
    def due_on(self) -> dt.date:
        return due_on(self.received_on)

    @property
    def days_left(self) -> int:
        return (self.due_on - today()).days


async def open_request(actor: Actor, request_id: int) -> Request:
    """The school's request, for the DSL team; NotFound for everyone else and another school."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    row = await SubjectAccessRequest.select().where(
        (SubjectAccessRequest.id == request_id) & (SubjectAccessRequest.school == actor.school_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    pupil = await chronology.visible_pupil(actor, row["pupil"])
    return Request(id=row["id"], pupil=pupil, requester_name=row["requester_name"],
                   requester_relationship=row["requester_relationship"], received_on=row["received_on"],
                   staff_names=row["staff_names"], decisions=json.loads(row["decisions"] or "{}"),
                   created_at=row["created_at"], raw_decisions=row["decisions"])


async def requests(actor: Actor) -> list[dict]:
    """The school's requests, soonest due first, for the DSL team's list."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    rows = await SubjectAccessRequest.select(
        SubjectAccessRequest.id, SubjectAccessRequest.received_on, SubjectAccessRequest.pupil.legal_first_name,
        SubjectAccessRequest.pupil.preferred_first_name, SubjectAccessRequest.pupil.legal_last_name,
        SubjectAccessRequest.pupil.preferred_last_name, SubjectAccessRequest.requester_relationship,
    ).where(SubjectAccessRequest.school == actor.school_id)
    out = []
    for r in rows:
        first = r["pupil.preferred_first_name"] or r["pupil.legal_first_name"]
        last = r["pupil.preferred_last_name"] or r["pupil.legal_last_name"]
        out.append({"id": r["id"], "pupil": f"{first} {last}", "relationship": r["requester_relationship"],
                    "received_on": r["received_on"], "due_on": due_on(r["received_on"]),
                    "days_left": (due_on(r["received_on"]) - today()).days})
    return sorted(out, key=lambda r: (r["due_on"], r["id"]))


async def safeguarding_items(actor: Actor, req: Request) -> list[dict]:
    """The pupil's safeguarding concerns, oldest first, each with the DSL team's decision so far."""
    rows = await Concern.select(Concern.id, Concern.reference, Concern.occurred_at, Concern.seen_or_said,
                                Concern.status).where(
        (Concern.pupil == req.pupil["id"]) & (Concern.school == actor.school_id)).order_by(Concern.occurred_at)
    return [{**r, "decision": req.decisions.get(str(r["id"]))} for r in rows]


async def review(settings: Settings, actor: Actor, request_id: int) -> dict:
    """The review page: the request, its clock, the safeguarding items to decide. Audited: it shows concerns."""
    req = await open_request(actor, request_id)
    chronology.require_fresh_check(settings, actor)
    items = await safeguarding_items(actor, req)
    async with atomic():
        await audit.record("subject_access.viewed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=req.pupil["id"],
                           subject_label=f"Subject access request {req.id}", origin=actor.origin,
                           detail={"request": req.id, "safeguarding_items": len(items)})
    return {"request": req, "items": items, "undecided": sum(1 for i in items if not i["decision"])}


# Decisions ----------------------------------------------------------------------------------------------------------

async def _write_decisions(actor: Actor, req: Request, change, action: str, detail: dict) -> bool:
    """Apply `change` to the stored decisions, written only over what was read (two DSLs at once both stay)."""
    for _ in range(5):
        async with atomic():
            row = await SubjectAccessRequest.select(SubjectAccessRequest.decisions).where(
                SubjectAccessRequest.id == req.id).first()
            current = json.loads(row["decisions"] or "{}")
            updated = change(dict(current))
            if updated == current:
                return False
            written = await SubjectAccessRequest.update({SubjectAccessRequest.decisions: json.dumps(updated)}).where(
                (SubjectAccessRequest.id == req.id)
                & (SubjectAccessRequest.decisions == row["decisions"])).returning(SubjectAccessRequest.id)
            if not written:
                continue
            await audit.record(action, actor_id=actor.person_id, actor_label=actor.label,
                               school_id=actor.school_id, subject_type="pupil", subject_id=req.pupil["id"],
                               subject_label=f"Subject access request {req.id}", origin=actor.origin, detail=detail)
            return True
    raise ValidationFailed({"decision": "The request was being changed at the same time. Try again."})


async def decide(settings: Settings, actor: Actor, request_id: int, form: dict) -> bool:
    """Release or withhold one safeguarding concern (withholding needs a reason); False if nothing changed."""
    req = await open_request(actor, request_id)
    chronology.require_fresh_check(settings, actor)
    items = {str(i["id"]): i for i in await safeguarding_items(actor, req)}
    concern_id = str(form.get("concern_id") or "").strip()
    if concern_id not in items:
        raise NotFound(HIDDEN)
    decision = str(form.get("decision") or "")
    reason = " ".join(str(form.get("reason") or "").split())
    errors = {}
    if decision not in DECISIONS:
        errors["decision"] = "Choose to release or to withhold this record."
    if decision == "withhold" and not reason:
        errors["reason"] = "Give the reason it is withheld, for example: serious harm to the child (DPA 2018)."
    elif len(reason) > REASON_LIMIT:
        errors["reason"] = f"Keep the reason to {REASON_LIMIT} characters."
    if errors:
        raise ValidationFailed(errors)
    if decision == "release":
        reason = ""
    entry = {"decision": decision, "reason": reason, "by": actor.display_name, "by_id": actor.person_id}

    def change(current: dict) -> dict:
        old = current.get(concern_id)
        if old and old["decision"] == decision and old["reason"] == reason:
            return current
        current[concern_id] = {**entry, "at": clock.now().isoformat()}
        return current

    # The reason stays with the request: it can describe what is withheld, and admins read the audit log.
    return await _write_decisions(actor, req, change, "subject_access.item_decided",
                                  {"request": req.id, "concern": int(concern_id), "decision": decision,
                                   "reason_characters": len(reason)})


async def set_staff_names(settings: Settings, actor: Actor, request_id: int, form: dict) -> None:
    """Keep staff names in the export, or show them as "Staff member 1, 2..."."""
    req = await open_request(actor, request_id)
    chronology.require_fresh_check(settings, actor)
    choice = str(form.get("staff_names") or "")
    if choice not in STAFF_NAMES:
        raise ValidationFailed({"staff_names": "Choose to keep staff names or to redact them."})
    if choice == req.staff_names:
        return
    async with atomic():
        await SubjectAccessRequest.update({SubjectAccessRequest.staff_names: choice}).where(
            SubjectAccessRequest.id == req.id)
        await audit.record("subject_access.staff_names_set", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=req.pupil["id"],
                           subject_label=f"Subject access request {req.id}", origin=actor.origin,
                           detail={"request": req.id, "staff_names": choice})


# The export ---------------------------------------------------------------------------------------------------------

@dataclass
class Section:
    key: str
    title: str
    items: list[dict] = field(default_factory=list)  # each {"heading": str, "lines": [(label, value)]}


@dataclass
class Export:
    request: Request
    pupil_name: str
    sections: list[Section]
    withheld: list[str]  # "Safeguarding record 1: withheld under <reason>"
    other_pupils: int
    staff_redacted: int


class StaffNames:
    """Staff names, whole, replaced by "Staff member 1", "Staff member 2"... in order of first appearance."""

    def __init__(self, names: list[str]) -> None:
        names = sorted({n.strip() for n in names if len(n.strip()) >= 3}, key=len, reverse=True)
        self.numbers: dict[str, str] = {}
        self.rx = re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.IGNORECASE) if names \
            else None

    def text(self, value: str) -> str:
        if not value or self.rx is None:
            return value

        def swap(match: re.Match) -> str:
            key = match.group(0).casefold()
            if key not in self.numbers:
                self.numbers[key] = f"Staff member {len(self.numbers) + 1}"
            return self.numbers[key]

        return self.rx.sub(swap, value)


def _date(value: dt.date | None) -> str:
    return f"{value:%d/%m/%Y}" if value else ""


def _when(value: dt.datetime | None) -> str:
    return f"{chronology.as_utc(value).astimezone(chronology.LONDON):%d/%m/%Y %H:%M}" if value else ""


async def _pupil_record(actor: Actor, pupil_id: int) -> tuple[str, Section, Section]:
    p = await Pupil.select(
        Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name, Pupil.preferred_last_name,
        Pupil.date_of_birth, Pupil.upn, Pupil.year_code, Pupil.tutor_group.name, Pupil.house, Pupil.keyworker,
        Pupil.sen_provision, Pupil.sen_need, Pupil.medical_alert, Pupil.medical_action, Pupil.allergies,
        Pupil.speak_to_dsl, Pupil.safeguarding_marker, Pupil.left_on, Pupil.mis_id,
    ).where((Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    name = f"{p['preferred_first_name'] or p['legal_first_name']} {p['preferred_last_name'] or p['legal_last_name']}"
    lines = [("Legal name", f"{p['legal_first_name']} {p['legal_last_name']}"),
             ("Preferred name", name), ("Date of birth", _date(p["date_of_birth"])), ("UPN", p["upn"]),
             ("Reference in the school's MIS", p["mis_id"]), ("Year", p["year_code"]),
             ("Form", p["tutor_group.name"] or ""), ("House", p["house"]), ("Keyworker", p["keyworker"]),
             ("SEN provision", SEN.get(p["sen_provision"], p["sen_provision"])), ("SEN need", p["sen_need"]),
             ("Medical alert", p["medical_alert"]), ("Medical action", p["medical_action"]),
             ("Allergies", p["allergies"]), ("Speak to the DSL flag", "Yes" if p["speak_to_dsl"] else "No"),
             ("Safeguarding marker", "Yes" if p["safeguarding_marker"] else "No"), ("Left on", _date(p["left_on"]))]
    record = Section("pupil", "The pupil record", [{"heading": name, "lines": [(k, v) for k, v in lines if v]}])
    contacts = Section("contacts", "Contacts held for the pupil")
    for c in await Contact.select().where(Contact.pupil == pupil_id).order_by(Contact.priority):
        contacts.items.append({"heading": f"{c['name']} ({c['relationship']})", "lines": [
            (k, v) for k, v in (("Priority", str(c["priority"])), ("Phone", c["phone"]), ("Email", c["email"]),
                                ("Parental responsibility", "Yes" if c["parental_responsibility"] else "No"),
                                ("No contact", "Yes" if c["no_contact"] else "")) if v]})
    return name, record, contacts


async def _casework(actor: Actor, pupil_id: int) -> Section:
    """Cases with their plans (strategies), targets and agreed actions; their events and reviews are records."""
    section = Section("casework", "Casework plans and targets")
    cases = await Case.select(Case.id, Case.case_type.name, Case.status, Case.started_on, Case.strategies,
                              Case.next_review_on).where(
        (Case.pupil == pupil_id) & (Case.school == actor.school_id)).order_by(Case.started_on)
    ids = [c["id"] for c in cases]
    targets = await CaseTarget.select().where(CaseTarget.case.is_in(ids)).order_by(CaseTarget.position) if ids else []
    actions = await CaseAction.select().where(CaseAction.case.is_in(ids)).order_by(CaseAction.id) if ids else []
    for c in cases:
        lines = [("Status", casework.STATUSES.get(c["status"], c["status"])),
                 ("Started", _date(c["started_on"])), ("Next review", _date(c["next_review_on"])),
                 ("Plan", c["strategies"])]
        lines += [(f"Target {t['position']}", chronology.join_parts(
            t["text"], f"(in the pupil's words: \u201c{t['pupil_words']}\u201d)" if t["pupil_words"] else "",
            f"- {casework.TARGET_STATES.get(t['state'], t['state'])}")) for t in targets if t["case"] == c["id"]]
        lines += [("Agreed action", chronology.join_parts(a["what"], f"({a['who']})" if a["who"] else ""))
                  for a in actions if a["case"] == c["id"]]
        section.items.append({"heading": f"{c['case_type.name']} case", "lines": [(k, v) for k, v in lines if v]})
    return section


async def _intervention_attendance(pupil_id: int, school_id: int) -> Section:
    section = Section("intervention_attendance", "Intervention sessions")
    rows = await Attendance.select(
        Attendance.mark, Attendance.note, Attendance.session.held_on, Attendance.session.programme.name,
    ).where((Attendance.participant.pupil == pupil_id)
            & (Attendance.session.programme.school == school_id)).order_by(Attendance.session.held_on)
    for r in rows:
        section.items.append({"heading": f"{_date(r['session.held_on'])} · {r['session.programme.name']}", "lines": [
            (k, v) for k, v in (("Mark", interventions.MARKS.get(r["mark"], r["mark"])), ("Note", r["note"])) if v]})
    return section


async def _attendance(pupil_id: int, school_id: int) -> Section:
    section = Section("attendance", "Attendance marks")
    rows = await AttendanceMark.select(AttendanceMark.day, AttendanceMark.session, AttendanceMark.code,
                                       AttendanceMark.minutes_late).where(
        (AttendanceMark.pupil == pupil_id) & (AttendanceMark.school == school_id)).order_by(
        AttendanceMark.day, AttendanceMark.session)
    by_month: dict[str, list[str]] = {}
    for r in rows:
        late = f" ({r['minutes_late']} min late)" if r["minutes_late"] else ""
        by_month.setdefault(f"{r['day']:%B %Y}", []).append(f"{r['day']:%d} {r['session']} {r['code']}{late}")
    for month, marks in by_month.items():
        section.items.append({"heading": month, "lines": [("Marks", ", ".join(marks))]})
    return section


async def _home_visits(pupil_id: int, school_id: int) -> tuple[Section, list[tuple[int, str]]]:
    """Home visits to the pupil's family; the other pupils on a visit (siblings) are named for the redactor."""
    section = Section("home_visits", "Home visits")
    ids = [r["visit"] for r in await HomeVisitPupil.select(HomeVisitPupil.visit).where(
        HomeVisitPupil.pupil == pupil_id)]
    if not ids:
        return section, []
    visits = await HomeVisit.select(
        HomeVisit.id, HomeVisit.planned_start, HomeVisit.purpose, HomeVisit.address, HomeVisit.state,
        HomeVisit.outcome, HomeVisit.outcome_notes, HomeVisit.planner.display_name,
    ).where(HomeVisit.id.is_in(ids) & (HomeVisit.school == school_id)).order_by(HomeVisit.planned_start)
    others = []
    for o in await HomeVisitPupil.select(
            HomeVisitPupil.pupil, HomeVisitPupil.pupil.legal_first_name, HomeVisitPupil.pupil.legal_last_name,
            HomeVisitPupil.pupil.preferred_first_name, HomeVisitPupil.pupil.preferred_last_name).where(
            HomeVisitPupil.visit.is_in(ids) & (HomeVisitPupil.pupil != pupil_id)):
        others.append((o["pupil"], chronology.pupil_name(o, "pupil.")))
    for v in visits:
        section.items.append({"heading": f"{_when(v['planned_start'])} · Home visit", "lines": [
            (k, val) for k, val in (("Purpose", v["purpose"]), ("Address", v["address"]),
                                    ("State", home_visits.STATES.get(v["state"], v["state"])),
                                    ("Outcome", v["outcome"]), ("Notes", v["outcome_notes"]),
                                    ("Planned by", v["planner.display_name"])) if val]})
    return section, others


def _entry_item(e: ChronologyEntry) -> dict:
    lines = [("Detail", e.detail), ("Action", e.action), ("Outcome", e.outcome), ("Recorded by", e.recorded_by)]
    return {"heading": f"{_when(e.at)} · {SOURCES.get(e.source, e.source)} · {e.event}",
            "lines": [(k, v) for k, v in lines if v], "source": e.source}


async def _withheld_concerns(req: Request) -> tuple[set[str], set[str]]:
    """The chronology refs of withheld concerns and of the DSL actions on them."""
    withheld = {cid for cid, d in req.decisions.items() if d["decision"] == "withhold"}
    refs = {f"concern:{cid}" for cid in withheld}
    actions = set()
    if withheld:
        actions = {f"dsl_action:{r['id']}" for r in await ConcernEntry.select(ConcernEntry.id).where(
            ConcernEntry.concern.is_in(sorted(int(c) for c in withheld)))}
    return refs, actions


async def build(actor: Actor, req: Request) -> Export:
    """Everything held about the pupil, as the requester will receive it. Undecided if any concern has no decision."""
    items = await safeguarding_items(actor, req)
    undecided = [i for i in items if not i["decision"]]
    if undecided:
        raise Undecided(f"Decide on every safeguarding record first ({len(undecided)} to go).")
    pupil_id = req.pupil["id"]
    name, record, contacts = await _pupil_record(actor, pupil_id)
    everything = await chronology.entries(actor, pupil_id, audit=False)
    withheld_refs, withheld_actions = await _withheld_concerns(req)
    kept = [e for e in everything if e.ref not in withheld_refs and e.ref not in withheld_actions]
    visits, siblings = await _home_visits(pupil_id, actor.school_id)
    # The redactor learns every other pupil from every entry, released or not, and from the home visits.
    named = everything + [ChronologyEntry(at=clock.now(), source="case", ref="visit", event="",
                                          others_named=tuple(siblings))]
    redactor = Redactor.build(pupil_id, name, named, (),
                              await pupil_aliases(actor, {pid for e in named for pid, _ in e.others_named}))
    sections = [record, contacts]
    records = Section("records", "Records, oldest first", [_entry_item(redactor.entry(e)) for e in kept])
    sections += [records, await _casework(actor, pupil_id), await _intervention_attendance(pupil_id, actor.school_id),
                 await _attendance(pupil_id, actor.school_id), visits]
    withheld = []
    n = 0
    for item in items:
        if item["decision"]["decision"] == "withhold":
            n += 1
            withheld.append(f"Safeguarding record {n}: withheld under {item['decision']['reason']}")
    staff = None
    if req.staff_names == "redact":
        staff = StaffNames([r["person.display_name"] for r in await Membership.select(
            Membership.person.display_name).where(Membership.school == actor.school_id)]
                           + [e.recorded_by for e in everything])
    for section in sections:
        for item in section.items:
            item["heading"] = redactor.text(item["heading"])
            item["lines"] = [(k, redactor.text(v)) for k, v in item["lines"]]
            if staff:
                item["heading"] = staff.text(item["heading"])
                item["lines"] = [(k, staff.text(v)) for k, v in item["lines"]]
    return Export(request=req, pupil_name=name, sections=sections, withheld=withheld,
                  other_pupils=len(redactor.letters), staff_redacted=len(staff.numbers) if staff else 0)


def _json_item(item: dict) -> dict:
    """An item as JSON: its heading and each labelled line; a label that repeats (a case's agreed actions) holds a
    list, so nothing is lost."""
    out: dict = {"heading": item["heading"]}
    for label, value in item["lines"]:
        if label in out:
            out[label] = (out[label] if isinstance(out[label], list) else [out[label]]) + [value]
        else:
            out[label] = value
    return out


def as_json(found: Export, produced_by: str, produced_at: dt.datetime, school: str) -> bytes:
    req = found.request
    doc = {
        "subject_access_request": {
            "school": school, "pupil": found.pupil_name, "requester": req.requester_name,
            "relationship": req.requester_relationship, "received_on": req.received_on.isoformat(),
            "due_on": req.due_on.isoformat(), "produced_by": produced_by,
            "produced_at": produced_at.isoformat(), "staff_names": req.staff_names},
        "sections": {s.key: {"title": s.title, "items": [_json_item(i) for i in s.items]} for s in found.sections},
        "withheld": found.withheld,
        "redaction": {"other_pupils": found.other_pupils,
                      "other_pupils_shown_as": "Pupil B, Pupil C and so on",
                      "staff_names": "redacted as Staff member 1, 2 and so on" if req.staff_names == "redact"
                      else "kept"},
    }
    return json.dumps(doc, ensure_ascii=False, indent=2).encode("utf-8")


async def export(settings: Settings, actor: Actor, request_id: int, fmt: str) -> tuple[bytes, str, str]:
    """The export as a file (body, media type, file name), audited with the SHA-256 of exactly these bytes."""
    from app.domain.subject_access.export import pdf  # the PDF module pulls in fpdf2: only when asked

    if fmt not in FORMATS:
        raise NotFound(HIDDEN)
    req = await open_request(actor, request_id)
    chronology.require_fresh_check(settings, actor)
    found = await build(actor, req)
    now = clock.now()
    body = (pdf(found, actor.display_name, now, actor.school_name) if fmt == "pdf"
            else as_json(found, actor.display_name, now, actor.school_name))
    digest = hashlib.sha256(body).hexdigest()
    async with atomic():
        await audit.record("subject_access.exported", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=req.pupil["id"],
                           subject_label=f"Subject access request {req.id}", origin=actor.origin,
                           detail={"request": req.id, "format": fmt, "sha256": digest, "bytes": len(body),
                                   "records": sum(len(s.items) for s in found.sections),
                                   "withheld": len(found.withheld), "other_pupils": found.other_pupils,
                                   "staff_names": req.staff_names})
    # Named by the request's number only: no pupil's name in a file name, a download list or a log.
    return body, FORMATS[fmt], f"subject-access-{req.id}.{fmt}"

