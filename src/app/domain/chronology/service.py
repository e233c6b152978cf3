"""One chronology per pupil (issue 13, point 5): incidents, contacts, referral changes, intervention milestones,
case events and reviews, on-call requests naming the pupil and, for the DSL team only, safeguarding concerns and
the DSL's actions, merged oldest first.

It sits above the features it reads (DESIGN.md, "Shape of the code"): this module imports them, none of them
imports it. Who may open a pupil's chronology is who may see the pupil's referrals (pastoral staff, the pastoral
lead and the DSL team for the whole school, a head of year for their years); within it, each source shows only
what its own feature would show the viewer (a pastoral officer sees the cases they work on). Anyone else, and
another school's pupil, is "not found". Every view is audited.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

from app import clock
from app.clock import parse_date
from app.db import atomic
from app.domain.accounts.service import recently_verified
from app.domain.audit import service as audit
from app.domain.casework import service as casework
from app.domain.casework.tables import Case, CaseReview
from app.domain.chronology.entries import DSL_ONLY_SOURCES, LEAD_ONLY_SOURCES, LEADS, SOURCES, ChronologyEntry
from app.domain.chronology.tables import ChronologyFlag
from app.domain.concerns import service as concerns
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.contact_log import service as contact_log
from app.domain.contact_log.tables import ContactLog
from app.domain.home_visits import service as home_visits
from app.domain.incidents import service as incidents
from app.domain.incidents.tables import FollowUpAction, IncidentPupil
from app.domain.interventions import service as interventions
from app.domain.interventions.tables import Measure, Participant
from app.domain.on_report import service as on_report
from app.domain.physical_intervention import service as physical_intervention
from app.domain.oncall import service as oncall
from app.domain.oncall.tables import OnCallPupil
from app.domain.referrals import service as referrals
from app.domain.referrals.tables import ReferralEvent
from app.domain.schools.service import Actor
from app.errors import NeedsVerification, NotFound, ValidationFailed
from app.settings import Settings

LONDON = ZoneInfo("Europe/London")
HIDDEN = "There is nothing here, or you do not have access to it."
REF_LIMIT = 60
PAGE_SIZE = 100  # entries on the page at first, the newest; a link shows them all


# Who ----------------------------------------------------------------------------------------------------------

def can_view(actor: Actor) -> bool:
    """Whether the actor's roles open chronologies at all (which pupils: visible_pupil)."""
    return referrals.can_use(actor)


def in_dsl_team(actor: Actor) -> bool:
    return concerns.in_dsl_team(actor)


def sources_for(actor: Actor) -> dict[str, str]:
    """The sources this actor's chronology shows, in the filter's order, with their labels."""
    dsl = in_dsl_team(actor)
    lead = actor.has(*LEADS)
    return {key: label for key, label in SOURCES.items()
            if (dsl or key not in DSL_ONLY_SOURCES) and (lead or key not in LEAD_ONLY_SOURCES)}


async def visible_pupil(actor: Actor, pupil_id: int) -> dict:
    """The pupil ({"id", "name", "year", "tutor_group"}) if the actor may see their chronology; else NotFound.
    The same rule as referrals and the contact log: pastoral, pastoral lead and DSL the whole school, a head of
    year their years, nobody else, and never another school's pupil."""
    if not can_view(actor):
        raise NotFound(HIDDEN)
    pupil = await referrals.visible_pupil(actor, pupil_id)
    if pupil is None:
        raise NotFound(HIDDEN)
    return pupil


# Small helpers ----------------------------------------------------------------------------------------------------

def pupil_name(row: dict, prefix: str) -> str:
    """The name a pupil goes by, from a row of the four name columns selected under `prefix` (e.g. "pupil.")."""
    first = row[f"{prefix}preferred_first_name"] or row[f"{prefix}legal_first_name"]
    last = row[f"{prefix}preferred_last_name"] or row[f"{prefix}legal_last_name"]
    return f"{first} {last}"


def _name_columns(pupil_column: Any) -> list[Any]:
    return [pupil_column.legal_first_name, pupil_column.legal_last_name, pupil_column.preferred_first_name,
            pupil_column.preferred_last_name]


def as_utc(value: dt.datetime) -> dt.datetime:
    """A stored time as an aware UTC time (SQLite gives them back naive, PostgreSQL aware)."""
    return value.replace(tzinfo=dt.timezone.utc) if value.tzinfo is None else value.astimezone(dt.timezone.utc)


def _on(day: dt.date, stamp: dt.datetime | None) -> dt.datetime:
    """The moment of a dated event: when it was written if that was on the day, else noon (UK) on the day (a
    review held on Monday and written up on Tuesday sits on Monday)."""
    if stamp is not None and as_utc(stamp).astimezone(LONDON).date() == day:
        return as_utc(stamp)
    return dt.datetime.combine(day, dt.time(12), tzinfo=LONDON).astimezone(dt.timezone.utc)


def row_id(ref: str) -> str:
    """The HTML id of an entry's row ("incident:12" -> "e-incident-12")."""
    return "e-" + ref.replace(":", "-")  # refs are ours (source, letters, digits, "_"), checked before use


def local_date(at: dt.datetime) -> dt.date:
    return as_utc(at).astimezone(LONDON).date()


def join_parts(*parts: str, sep: str = " ") -> str:
    """The non-blank parts, stripped, joined by `sep`."""
    return sep.join(p for p in (s.strip() for s in parts) if p)


# Sources: each turns its rows into ChronologyEntry values ---------------------------------------------------------

# One statement for the pupil's incidents and everyone on them (the pupil's own row is among "everyone"): the rows
# are read once. Reward points are left out: a chronology is of significant events (pastoral-practice.md,
# section 4), and a pupil can earn hundreds of points a year; they are on the profile and in the rewards totals.
# CROSS JOIN makes SQLite test the category before it reads the incident (the pupil's reward rows, most of them,
# are then dropped without a read of their incident); PostgreSQL plans it as the inner join it is.
_INCIDENTS = """
SELECT me.id AS mine, o.id, o.pupil, o.role, o.points, o.status, c.name AS category, c.kind, i.id AS incident,
       i.occurred_at, i.note, i.outcome, p.display_name AS recorded_by, l.name AS location, q.legal_first_name,
       q.legal_last_name, q.preferred_first_name, q.preferred_last_name
FROM incident_pupil me CROSS JOIN category mc CROSS JOIN incident i JOIN person p ON p.id = i.recorded_by
LEFT JOIN location l ON l.id = i.location JOIN incident_pupil o ON o.incident = i.id
JOIN category c ON c.id = o.category JOIN pupil q ON q.id = o.pupil
WHERE me.pupil = {} AND mc.id = me.category AND mc.kind != 'positive' AND i.id = me.incident AND i.school = {}
      AND i.deleted_at IS NULL
"""
_FOLLOW_UPS = """
SELECT f.incident_pupil, f.action, f.note FROM follow_up_action f JOIN incident_pupil me ON me.id = f.incident_pupil
WHERE me.pupil = {} ORDER BY f.id
"""


async def _incidents(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    found = await IncidentPupil.raw(_INCIDENTS, pupil_id, actor.school_id)
    if not found:
        return []
    rows = []
    others: dict[int, list[tuple[int, str]]] = {}
    happened: dict[int, list[str]] = {}
    for o in found:
        if o["id"] == o["mine"]:
            rows.append(o)
        if o["kind"] != "neutral":
            names = happened.setdefault(o["incident"], [])
            if o["category"] not in names:
                names.append(o["category"])
        if o["pupil"] != pupil_id:
            others.setdefault(o["incident"], []).append((o["pupil"], pupil_name(o, "")))
    actions: dict[int, list[str]] = {}
    for a in await IncidentPupil.raw(_FOLLOW_UPS, pupil_id):
        label = incidents.ACTIONS.get(a["action"], a["action"])
        actions.setdefault(a["incident_pupil"], []).append(f"{label}: {a['note']}" if a["note"] else label)
    out = []
    for r in rows:
        kind, role = r["kind"], incidents.PUPIL_ROLES.get(r["role"], r["role"])
        if kind == "neutral":
            event = f"{role}: {', '.join(happened.get(r['incident'], [])) or r['category']}"
        else:
            event = f"{r['category']} ({role.lower()}), {r['points']:+d} points"
        if r["location"]:
            event += f" · {r['location']}"
        done = actions.get(r["id"], [])
        if done:
            action = "; ".join(done)
        elif kind == "negative":
            action = "No follow-up action recorded yet" if r["status"] != "resolved" else "Resolved with no follow-up action"
        else:
            action = ""  # a target's or witness's part: the follow-up is the instigator's
        outcome = r["outcome"] or (incidents.STATUSES.get(r["status"], "") if kind == "negative" else "")
        out.append(ChronologyEntry(
            at=as_utc(r["occurred_at"]), source="incident", ref=f"incident:{r['incident']}", event=event,
            detail=r["note"], action=action, outcome=outcome,
            recorded_by=r["recorded_by"],
            others_named=tuple(others.get(r["incident"], ()))))
    return out


_CONTACTS = """
SELECT c.id, c.with_label, c.agency, c.method, c.direction, c.outcome, c.occurred_at, c.summary, c.voice,
       c.follow_up_on, p.display_name AS "recorded_by.display_name"
FROM contact_log c JOIN person p ON p.id = c.recorded_by WHERE c.pupil = {} AND c.school = {}
"""


async def _contacts(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    rows = await ContactLog.raw(_CONTACTS, pupil_id, actor.school_id)
    out = []
    for r in rows:
        who = r["with_label"] or r["agency"] or "a contact"
        method = contact_log.METHODS.get(r["method"], r["method"])
        event = f"{method} {'with' if r['method'] in ('meeting', 'home_visit') else ('to' if r['direction'] == 'out' else 'from')} {who}"
        voice = f"Their words: \u201c{r['voice']}\u201d" if r["voice"] else ""
        follow = f"Follow up by {r['follow_up_on'].strftime('%d %b %Y')}" if r["follow_up_on"] else ""
        out.append(ChronologyEntry(
            at=as_utc(r["occurred_at"]), source="contact", ref=f"contact:{r['id']}", event=event,
            detail=join_parts(r["summary"], voice, sep="\n"), action=follow or "No follow-up needed",
            outcome=contact_log.OUTCOMES.get(r["outcome"], r["outcome"]), recorded_by=r["recorded_by.display_name"]))
    return out


_REFERRALS = """
SELECT e.id, e.from_state, e.to_state, e.note, e.at, p.display_name AS "by.display_name", r.id AS "referral.id",
       r.reason AS "referral.reason", s.name AS "referral.service.name"
FROM referral_event e JOIN referral r ON r.id = e.referral JOIN referral_service s ON s.id = r.service
JOIN person p ON p.id = e."by" WHERE r.pupil = {} AND r.school = {}
"""


async def _referrals(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    rows = await ReferralEvent.raw(_REFERRALS, pupil_id, actor.school_id)
    out = []
    for r in rows:
        state = referrals.STATES.get(r["to_state"], r["to_state"])
        service = r["referral.service.name"]
        if r["to_state"] == "draft":
            event, detail = f"Referral to {service} drafted", r["referral.reason"]
        else:
            event, detail = f"Referral to {service}: {state.lower()}", ""
        final = r["to_state"] in ("declined", "closed", "accepted", "active")
        out.append(ChronologyEntry(
            at=as_utc(r["at"]), source="referral", ref=f"referral:{r['id']}", event=event, detail=detail,
            action=r["note"], outcome=state if final else "", recorded_by=r["by.display_name"]))
    return out


# The remaining readers' statements are written out too (left joins, as Piccolo's would be): building a Piccolo
# select cost about as much CPU as running it.
_PARTICIPANTS = """
SELECT pa.id, pa.added_at, pa.goals, pr.name AS "programme.name", pr.kind AS "programme.kind",
       f.display_name AS "programme.facilitator.display_name", ins.name AS "programme.instrument.name"
FROM intervention_participant pa JOIN intervention_programme pr ON pr.id = pa.programme
LEFT JOIN person f ON f.id = pr.facilitator LEFT JOIN intervention_instrument ins ON ins.id = pr.instrument
WHERE pa.pupil = {} AND pr.school = {}
"""
_MEASURES = """
SELECT m.id, m.participant, m.stage, m.taken_on, m.score, m.rater, m.created_at, b.display_name AS "by.display_name"
FROM intervention_measure m JOIN intervention_participant pa ON pa.id = m.participant
JOIN intervention_programme pr ON pr.id = pa.programme LEFT JOIN person b ON b.id = m."by"
WHERE pa.pupil = {} AND pr.school = {}
"""


async def _interventions(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    joined = await Participant.raw(_PARTICIPANTS, pupil_id, actor.school_id)
    if not joined:
        return []
    out = []
    for p in joined:
        kind = interventions.KINDS.get(p["programme.kind"], "")
        goals = "; ".join(g.strip() for g in p["goals"].splitlines() if g.strip())
        out.append(ChronologyEntry(
            at=as_utc(p["added_at"]), source="intervention", ref=f"intervention:j{p['id']}",
            event=f"Joined {kind.lower()} intervention: {p['programme.name']}", detail=f"Goals: {goals}" if goals else "",
            action=f"Facilitator {p['programme.facilitator.display_name']}", recorded_by=p["programme.facilitator.display_name"]))
    names = {p["id"]: p["programme.name"] for p in joined}
    instruments = {p["id"]: p["programme.instrument.name"] for p in joined}
    for m in await Measure.raw(_MEASURES, pupil_id, actor.school_id):
        stage = interventions.STAGES.get(m["stage"], m["stage"])
        rater = f" (rated by {m['rater']})" if m["rater"] else ""
        out.append(ChronologyEntry(
            at=_on(m["taken_on"], m["created_at"]), source="intervention", ref=f"intervention:m{m['id']}",
            event=f"{stage} measure, {names[m['participant']]}",
            detail=f"{instruments[m['participant']]}{rater}",
            outcome=f"Score {m['score']:g}", recorded_by=m["by.display_name"]))
    return out


# A case's reviews with their targets' ratings counted, by pupil; only those of the cases the actor sees are kept.
_REVIEWS = """
SELECT r.id, r."case", r.held_on, r.notes, r.pupil_voice, r.created_at, b.display_name AS "by.display_name",
       (SELECT count(*) FROM target_rating t WHERE t.review = r.id) AS marks,
       (SELECT count(*) FROM target_rating t WHERE t.review = r.id AND t.state = 'met') AS met
FROM case_review r JOIN pupil_case c ON c.id = r."case" LEFT JOIN person b ON b.id = r."by"
WHERE c.pupil = {} AND c.school = {}
"""


async def _cases(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    # A pastoral officer sees the cases they work on; the lead and DSL all; a head of year those of their years.
    visible = await casework._visible(actor)
    if visible is None:
        return []
    cases = await Case.select(
        Case.id, Case.reason, Case.started_on, Case.created_at, Case.status, Case.outcome, Case.closing_summary,
        Case.closed_on, Case.updated_at, Case.case_type.name, Case.keyworker.display_name,
        Case.opened_by.display_name,
    ).where(visible & (Case.pupil == pupil_id))
    if not cases:
        return []
    out = []
    types = {c["id"]: c["case_type.name"] for c in cases}
    for c in cases:
        kind = c["case_type.name"]
        out.append(ChronologyEntry(
            at=_on(c["started_on"], c["created_at"]), source="case", ref=f"case:{c['id']}",
            event=f"{kind} case opened", detail=c["reason"], action=f"Keyworker {c['keyworker.display_name']}",
            recorded_by=c["opened_by.display_name"]))
        if c["status"] == "closed" and c["closed_on"]:
            out.append(ChronologyEntry(
                at=_on(c["closed_on"], c["updated_at"]), source="case", ref=f"case:{c['id']}:closed",
                event=f"{kind} case closed", detail=c["closing_summary"],
                outcome=casework.OUTCOMES.get(c["outcome"], c["outcome"]), recorded_by=c["keyworker.display_name"]))
    for r in await CaseReview.raw(_REVIEWS, pupil_id, actor.school_id):
        if r["case"] not in types:
            continue  # a case this actor does not see
        marks, met = r["marks"], r["met"]
        voice = f"Pupil's voice: \u201c{r['pupil_voice']}\u201d" if r["pupil_voice"] else ""
        out.append(ChronologyEntry(
            at=_on(r["held_on"], r["created_at"]), source="case", ref=f"case_review:{r['id']}",
            event=f"{types[r['case']]} case review", detail=join_parts(r["notes"], voice, sep="\n"),
            action="Targets rated and next review set",
            outcome=f"{met} of {marks} target{'s' if marks != 1 else ''} met" if marks else "",
            recorded_by=r["by.display_name"]))
    return out


_ONCALL = """
SELECT r.id, r.urgency, r.note, r.state, r.raised_at, r.outcome, rs.name AS reason, l.name AS location,
       req.display_name AS requester, resp.display_name AS responder
FROM on_call_pupil op JOIN on_call_request r ON r.id = op.request JOIN on_call_reason rs ON rs.id = r.reason
JOIN location l ON l.id = r.location JOIN person req ON req.id = r.requester LEFT JOIN person resp ON resp.id = r.responder
WHERE op.pupil = {} AND r.school = {}
"""
_ONCALL_OTHERS = """
SELECT o.request, o.pupil, q.legal_first_name, q.legal_last_name, q.preferred_first_name, q.preferred_last_name
FROM on_call_pupil me JOIN on_call_pupil o ON o.request = me.request AND o.pupil != me.pupil JOIN pupil q ON q.id = o.pupil
WHERE me.pupil = {}
"""


async def _oncall(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    rows = await OnCallPupil.raw(_ONCALL, pupil_id, actor.school_id)
    if not rows:
        return []
    others: dict[int, list[tuple[int, str]]] = {}
    for o in await OnCallPupil.raw(_ONCALL_OTHERS, pupil_id):
        others.setdefault(o["request"], []).append((o["pupil"], pupil_name(o, "")))
    out = []
    for r in rows:
        urgency = oncall.URGENCIES.get(r["urgency"], r["urgency"])
        responder = r["responder"]
        state = r["state"]
        if state == "cancelled":
            action = "Cancelled by the requester"
        elif responder:
            action = f"{responder} responded"
        else:
            action = "Nobody has claimed it yet" if state == "raised" else ""
        outcome = oncall.OUTCOMES.get(r["outcome"], "") or oncall.STATES.get(state, state)
        out.append(ChronologyEntry(
            at=as_utc(r["raised_at"]), source="oncall", ref=f"oncall:{r['id']}",
            event=f"On-call ({urgency.lower()}): {r['reason']}, {r['location']}",
            detail=r["note"], action=action, outcome=outcome,
            recorded_by=r["requester"], others_named=tuple(others.get(r["id"], ()))))
    return out


_CONCERNS = """
SELECT c.id, c.reference, c.occurred_at, c.seen_or_said, c.childs_words, c.action_taken, c.status, c.outcome,
       a.display_name AS "author.display_name"
FROM concern c LEFT JOIN person a ON a.id = c.author WHERE c.pupil = {} AND c.school = {}
"""
_CONCERN_ENTRIES = """
SELECT e.id, e.concern, e.kind, e.body, e.reason, e.at, b.display_name AS "by.display_name"
FROM concern_entry e JOIN concern c ON c.id = e.concern LEFT JOIN person b ON b.id = e."by"
WHERE c.pupil = {} AND c.school = {}
"""


async def _concerns(actor: Actor, pupil_id: int, wanted: set[str]) -> list[ChronologyEntry]:
    """Safeguarding concerns and the DSL's actions, decisions and outcomes: the DSL team's alone."""
    rows = await Concern.raw(_CONCERNS, pupil_id, actor.school_id)
    if not rows:
        return []
    out = []
    if "concern" in wanted:
        for c in rows:
            words = f"The child's words: \u201c{c['childs_words']}\u201d" if c["childs_words"] else ""
            out.append(ChronologyEntry(
                at=as_utc(c["occurred_at"]), source="concern", ref=f"concern:{c['id']}",
                event=f"Safeguarding concern {c['reference']}", detail=join_parts(c["seen_or_said"], words, sep="\n"),
                action=c["action_taken"] or "None recorded when the concern was logged",
                outcome=c["outcome"] or {"new": "Not yet read by the DSL team", "open": "Open"}.get(c["status"], ""),
                recorded_by=c["author.display_name"]))
    if "dsl_action" in wanted:
        refs = {c["id"]: c["reference"] for c in rows}
        for e in await ConcernEntry.raw(_CONCERN_ENTRIES, pupil_id, actor.school_id):
            kind = concerns.ENTRY_KINDS.get(e["kind"], e["kind"])
            reason = f"Reason: {e['reason']}" if e["reason"] else ""
            out.append(ChronologyEntry(
                at=as_utc(e["at"]), source="dsl_action", ref=f"dsl_action:{e['id']}",
                event=f"DSL {kind.lower()} ({refs[e['concern']]})",
                detail=reason, action=e["body"] if e["kind"] != "outcome" else "",
                outcome=e["body"] if e["kind"] == "outcome" else "", recorded_by=e["by.display_name"]))
    return out


async def _home_visits(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    """A home visit's steps (planned, authorised, at the door, any alarm, finished safe), as the feature gives them."""
    out = []
    for r in await home_visits.chronology_rows(actor.school_id, pupil_id):
        who = r["recorded_by"].split(" <", 1)[0]  # the name, not the e-mail address the audit label carries
        out.append(ChronologyEntry(at=as_utc(r["at"]), source="home_visit", ref=r["ref"], event=r["event"],
                                   detail=r["detail"], recorded_by=who))
    return out


async def _physical_interventions(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    """Physical intervention records naming the pupil (the feature gives none to anyone who may not see them)."""
    return [ChronologyEntry(at=as_utc(r["at"]), source="physical_intervention", ref=r["ref"], event=r["event"],
                            detail=r["detail"], outcome=r["outcome"], recorded_by=r["recorded_by"])
            for r in await physical_intervention.chronology_rows(actor, pupil_id)]


async def _on_report(actor: Actor, pupil_id: int) -> list[ChronologyEntry]:
    """A report's start, changes of level and end with their reasons (the end with the ratings given of those due),
    only for reports the actor may see; single ratings stay on the report, not in the chronology."""
    return [ChronologyEntry(at=as_utc(r["at"]), source="on_report", ref=r["ref"], event=r["event"], detail=r["detail"],
                            outcome=r["outcome"], recorded_by=r["recorded_by"])
            for r in await on_report.chronology_rows(actor, pupil_id)]


_READERS = {"incident": _incidents, "contact": _contacts, "referral": _referrals, "intervention": _interventions,
            "case": _cases, "oncall": _oncall, "home_visit": _home_visits,
            "physical_intervention": _physical_interventions, "on_report": _on_report}


async def _flags(pupil_id: int, school_id: int) -> set[str]:
    return {r["ref"] for r in await ChronologyFlag.raw(
        "SELECT ref FROM chronology_flag WHERE pupil = {} AND school = {}", pupil_id, school_id)}


_ORDER = {key: n for n, key in enumerate(SOURCES)}


def _sort_key(e: ChronologyEntry) -> tuple:
    return (e.at, _ORDER[e.source], e.ref)


async def _gather(actor: Actor, pupil_id: int, wanted: set[str]) -> list[ChronologyEntry]:
    found: list[ChronologyEntry] = []
    for key, read in _READERS.items():
        if key in wanted:
            found += await read(actor, pupil_id)
    if wanted & DSL_ONLY_SOURCES:
        found += await _concerns(actor, pupil_id, wanted)
    flagged = await _flags(pupil_id, actor.school_id)
    if flagged:
        found = [_replace_significant(e, e.ref in flagged) for e in found]
    return sorted(found, key=_sort_key)


def _replace_significant(entry: ChronologyEntry, significant: bool) -> ChronologyEntry:
    if entry.significant == significant:
        return entry
    return replace(entry, significant=significant)


# The public functions -----------------------------------------------------------------------------------------------

async def entries(actor: Actor, pupil_id: int, *, start: dt.date | None = None, end: dt.date | None = None,
                  sources: set[str] | None = None, significant_only: bool = False,
                  audit: bool = True) -> list[ChronologyEntry]:
    """The pupil's chronology as this actor may see it, oldest first. start and end are UK dates, both inclusive;
    sources (keys of SOURCES) narrows it, unknown and DSL-only keys are dropped for anyone outside the DSL team.
    NotFound for a pupil the actor may not see; with audit=True one "chronology.viewed" event is written."""
    await visible_pupil(actor, pupil_id)
    return await _read(actor, pupil_id, start=start, end=end, sources=sources, significant_only=significant_only,
                       audit=audit)


async def _read(actor: Actor, pupil_id: int, *, start: dt.date | None, end: dt.date | None,
                sources: set[str] | None, significant_only: bool, audit: bool) -> list[ChronologyEntry]:
    """entries() once the pupil is known to be visible to the actor."""
    allowed = set(sources_for(actor))
    wanted = allowed if sources is None else allowed & set(sources)
    found = await _gather(actor, pupil_id, wanted)
    if start is not None or end is not None:
        found = [e for e in found if (start is None or local_date(e.at) >= start)
                 and (end is None or local_date(e.at) <= end)]
    if significant_only:
        found = [e for e in found if e.significant]
    if audit:
        await _audit_view(actor, pupil_id, "chronology.viewed", start=start, end=end, sources=wanted,
                          all_sources=wanted == allowed, significant_only=significant_only, count=len(found))
    return found


async def _audit_view(actor: Actor, pupil_id: int, action: str, *, start: dt.date | None, end: dt.date | None,
                      sources: set[str], all_sources: bool, significant_only: bool, count: int) -> None:
    # Which filters were used, never what the entries say: admins read the audit log.
    detail = {"start": start.isoformat() if start else None, "end": end.isoformat() if end else None,
              "sources": "all" if all_sources else sorted(sources), "significant_only": significant_only,
              "entries": count}
    async with atomic():
        await audit.record(action, actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                           subject_type="pupil", subject_id=pupil_id, origin=actor.origin, detail=detail)


def _source_of(ref: str) -> str | None:
    head = ref.split(":", 1)[0]
    return {"case_review": "case", "visit": "home_visit"}.get(head, head if head in SOURCES else None)


async def entry(actor: Actor, pupil_id: int, ref: str) -> ChronologyEntry:
    """One entry of the pupil's chronology as this actor sees it (NotFound if it is not one they see)."""
    source = _source_of(ref) if isinstance(ref, str) and 0 < len(ref) <= REF_LIMIT else None
    if source is None:
        raise NotFound(HIDDEN)
    found = [e for e in await entries(actor, pupil_id, sources={source}, audit=False) if e.ref == ref]
    if not found:
        raise NotFound(HIDDEN)
    return found[0]


_FLAG = ("INSERT INTO chronology_flag (school, pupil, ref, set_by, set_at) VALUES ({}, {}, {}, {}, {}) "
         "ON CONFLICT (pupil, ref) DO NOTHING RETURNING id")


async def set_significant(actor: Actor, pupil_id: int, ref: str, significant: bool) -> None:
    """Mark an entry significant, or unmark it; a change is audited in its transaction (the same mark twice
    changes nothing and writes nothing). An entry the actor does not see is not found."""
    await entry(actor, pupil_id, ref)
    async with atomic():
        if significant:
            changed = await ChronologyFlag.raw(_FLAG, actor.school_id, pupil_id, ref, actor.person_id, clock.now())
        else:
            changed = await ChronologyFlag.delete().where(
                (ChronologyFlag.pupil == pupil_id) & (ChronologyFlag.ref == ref)
                & (ChronologyFlag.school == actor.school_id)).returning(ChronologyFlag.id)
        if changed:
            await audit.record("chronology.marked_significant" if significant else "chronology.unmarked_significant",
                               actor_id=actor.person_id, actor_label=actor.label, school_id=actor.school_id,
                               subject_type="pupil", subject_id=pupil_id, origin=actor.origin, detail={"ref": ref})


CSV_COLUMNS = ["Date", "Time", "Source", "Event", "Detail", "Action taken", "Outcome", "Recorded by", "Significant"]


def csv_rows(rows: Iterable[ChronologyEntry]) -> list[list[str]]:
    """The entries as CSV rows under CSV_COLUMNS (UK date and time); rendering.csv_response makes them safe."""
    out = []
    for e in rows:
        local = as_utc(e.at).astimezone(LONDON)
        out.append([local.strftime("%Y-%m-%d"), local.strftime("%H:%M"), SOURCES[e.source], e.event, e.detail,
                    e.action, e.outcome, e.recorded_by, "yes" if e.significant else ""])
    return out


async def export_csv(actor: Actor, pupil_id: int, *, start: dt.date | None = None, end: dt.date | None = None,
                     sources: set[str] | None = None, significant_only: bool = False) -> list[list[str]]:
    """The filtered chronology as CSV rows (under CSV_COLUMNS); the download is audited ("chronology.exported")."""
    rows = await entries(actor, pupil_id, start=start, end=end, sources=sources, significant_only=significant_only,
                         audit=False)
    allowed = set(sources_for(actor))
    wanted = allowed if sources is None else allowed & set(sources)
    await _audit_view(actor, pupil_id, "chronology.exported", start=start, end=end, sources=wanted,
                      all_sources=wanted == allowed, significant_only=significant_only, count=len(rows))
    return csv_rows(rows)


async def recent(actor: Actor, pupil_id: int, limit: int = 20) -> list[ChronologyEntry]:
    """The newest entries, newest first, for the profile's "Recent activity" (not audited: the profile view is)."""
    found = await entries(actor, pupil_id, audit=False)
    return list(reversed(found[-limit:]))


def parse_filters(actor: Actor, typed: dict[str, Any]) -> dict[str, Any]:
    """The filter form as typed ({"start", "end": text, "source": list, "significant_only": "yes" or ""}), checked:
    {"start", "end", "sources", "significant_only"} for entries(); ValidationFailed with a message per field."""
    errors: dict[str, str] = {}
    dates: dict[str, dt.date | None] = {}
    for name, label in (("start", "From"), ("end", "To")):
        raw = str(typed.get(name) or "").strip()
        dates[name] = parse_date(raw) if raw else None
        if raw and dates[name] is None:
            errors[name] = f"{label}: enter a date like 2026-11-20."
    if dates["start"] and dates["end"] and dates["end"] < dates["start"]:
        errors["end"] = "To: the end date is before the start date."
    chosen = [str(v) for v in typed.get("source") or []]
    allowed = sources_for(actor)
    if any(key not in allowed for key in chosen):
        errors["source"] = "Choose sources from the list."
    flag = str(typed.get("significant_only") or "")
    if flag not in ("", "yes"):
        errors["significant_only"] = "Tick the box or leave it empty."
    if errors:
        raise ValidationFailed(errors)
    return {"start": dates["start"], "end": dates["end"], "sources": set(chosen) or None,
            "significant_only": flag == "yes"}


def require_fresh_check(settings: Settings, actor: Actor) -> None:
    """The DSL team's chronology holds safeguarding records: like the concerns themselves, it needs a recent
    passkey check (step-up). Others see no safeguarding records in it and need none."""
    if in_dsl_team(actor) and not recently_verified(settings, actor):
        raise NeedsVerification("Safeguarding records need a fresh check with your passkey.")


async def page(settings: Settings, actor: Actor, pupil_id: int, typed: dict[str, Any]) -> dict[str, Any]:
    """The chronology page: the pupil, the sources this actor may filter by, the filters as typed, and the entries
    (the view audited; the newest PAGE_SIZE of "total" unless typed["all"] is "yes", "older" left out), or the
    messages when a filter cannot be used (nothing read, nothing audited)."""
    pupil = await visible_pupil(actor, pupil_id)
    require_fresh_check(settings, actor)
    base = {"pupil": pupil, "sources": sources_for(actor), "typed": typed, "errors": {}, "entries": [],
            "total": 0, "older": 0, "filtered": False}
    try:
        filters = parse_filters(actor, typed)
    except ValidationFailed as exc:
        return {**base, "errors": exc.errors}
    rows = await _read(actor, pupil_id, **filters, audit=True)
    filtered = any(v for v in filters.values())
    # The newest PAGE_SIZE entries unless every one was asked for ("all": "yes"): rendering 300 rows was most of the
    # page's time and a quarter of a megabyte (bench/README.md). The CSV and the pack always have every entry.
    shown = rows if typed.get("all") == "yes" else rows[-PAGE_SIZE:]
    return {**base, "entries": shown, "total": len(rows), "older": len(rows) - len(shown), "filtered": filtered}


async def significant_row(settings: Settings, actor: Actor, pupil_id: int, ref: str, typed: str) -> ChronologyEntry:
    """Set an entry's significant flag from the toggle's form ("yes" marks it, "" unmarks it), and return the
    entry as it now reads (not a view of new records: the row was on the page)."""
    await visible_pupil(actor, pupil_id)
    require_fresh_check(settings, actor)
    if typed not in ("yes", ""):
        raise ValidationFailed({"significant": "Choose to mark or unmark the entry."})
    await set_significant(actor, pupil_id, ref, typed == "yes")
    return await entry(actor, pupil_id, ref)
