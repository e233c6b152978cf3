"""First-day absence (issue 15, point 4): once the morning register has closed, the pupils absent without a reason,
with their family contacts (the MIS's restrictions honoured), today's call attempts from the contact log, and a
link to plan a home visit; pupils the DSL team flagged go to the DSL team's list and the team is told at once.

"Absent without a reason" is today's morning mark N (reason not yet established), as the MIS sends it: a pupil
with no mark yet is not listed, because the import may simply not have run (a missing mark is not an absence);
a pupil logged late at the gate today is left out (they are here, whatever the import says).

The flags: the MIS's child-protection, child-in-need and looked-after statuses (imported with the pupil list), and
Corridor's two set by the DSL team on the profile: the safeguarding marker (the DSL team's alone) and "speak to the
DSL before acting". A pupil with any of them goes to the DSL team's list.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from app import clock
from app.domain.attendance import gate
from app.domain.attendance.gate_tables import FirstDayAlert
from app.domain.attendance.tables import AttendanceMark
from app.domain.audit import service as audit
from app.domain.concerns import service as concerns
from app.domain.contact_log.service import OUTCOMES
from app.domain.contact_log.tables import ContactLog
from app.domain.incidents.service import LONDON
from app.domain.incidents.tables import IncidentPupil
from app.domain.notifications import service as notifications
from app.domain.pupils.service import mis_flags_of
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools.service import Actor, hoy_years
from app.errors import NotFound

USERS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")
SEE_ALL = ("pastoral", "pastoral_lead", "dsl")
HIDDEN = "There is nothing here, or you do not have access to it."
NO_REASON = "N"
ALERT_TEXT = "First-day absence: a pupil on the DSL team's list is absent without a reason today."
ALERT_LINK = "/attendance/first-day"


def can_see(actor: Actor) -> bool:
    return actor.school_id is not None and actor.has(*USERS)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(0), tzinfo=LONDON)


def _closed(now: dt.datetime, times: dict[str, str]) -> bool:
    local = now.astimezone(LONDON)
    return local > gate._at(local.date(), times["am_close"])


async def _absent(school_id: int, day: dt.date) -> list[dict]:
    """Today's morning N marks at the school, less the pupils logged late at the gate today."""
    marks = await AttendanceMark.select(
        AttendanceMark.pupil.id, AttendanceMark.pupil.legal_first_name, AttendanceMark.pupil.preferred_first_name,
        AttendanceMark.pupil.legal_last_name, AttendanceMark.pupil.preferred_last_name,
        AttendanceMark.pupil.year_code, AttendanceMark.pupil.tutor_group.name, AttendanceMark.pupil.speak_to_dsl,
        AttendanceMark.pupil.safeguarding_marker, AttendanceMark.pupil.child_protection,
        AttendanceMark.pupil.child_in_need, AttendanceMark.pupil.looked_after,
    ).where((AttendanceMark.school == school_id) & (AttendanceMark.day == day) & (AttendanceMark.session == "AM")
            & (AttendanceMark.code == NO_REASON) & AttendanceMark.pupil.left_on.is_null())
    if not marks:
        return []
    cats = list((await gate._late_categories(school_id)).values()) or [0]
    arrived = {r["pupil"] for r in await IncidentPupil.select(IncidentPupil.pupil).where(
        IncidentPupil.category.is_in(cats) & (IncidentPupil.incident.school == school_id)
        & IncidentPupil.incident.deleted_at.is_null() & (IncidentPupil.incident.occurred_at >= _midnight(day))
        & (IncidentPupil.incident.occurred_at < _midnight(day + dt.timedelta(days=1))))}
    return [m for m in marks if m["pupil.id"] not in arrived]


async def first_day_list(actor: Actor) -> dict[str, Any]:
    """The first-day list for this actor (a head of year: their years); the DSL team also sees its own list."""
    if not can_see(actor):
        raise NotFound(HIDDEN)
    years = None if actor.has(*SEE_ALL) else await hoy_years(actor)
    now = clock.now()
    today = now.astimezone(LONDON).date()
    times = await gate.close_times(actor.school_id)
    if not _closed(now, times):
        return {"closed": False, "times": times, "today": today, "pupils": [], "dsl": [], "outcomes": OUTCOMES}
    absent = [m for m in await _absent(actor.school_id, today) if years is None or m["pupil.year_code"] in years]
    ids = [m["pupil.id"] for m in absent] or [0]
    contacts: dict[int, list[dict]] = {}
    for c in await Contact.select(Contact.id, Contact.pupil, Contact.name, Contact.relationship, Contact.phone,
                                  Contact.parental_responsibility, Contact.no_contact).where(
            Contact.pupil.is_in(ids)).order_by(Contact.priority).order_by(Contact.id):
        if c["no_contact"]:
            # The MIS says this person must not be contacted: never offered, no number shown.
            c["phone"] = ""
        contacts.setdefault(c["pupil"], []).append(c)
    calls: dict[int, list[dict]] = {}
    for c in await ContactLog.select(ContactLog.pupil, ContactLog.with_label, ContactLog.outcome,
                                     ContactLog.occurred_at, ContactLog.method).where(
            ContactLog.pupil.is_in(ids) & (ContactLog.school == actor.school_id)
            & (ContactLog.occurred_at >= _midnight(today))).order_by(ContactLog.occurred_at):
        calls.setdefault(c["pupil"], []).append(c)
    dsl_team = concerns.in_dsl_team(actor)
    rows, flagged_rows = [], []
    for m in sorted(absent, key=lambda m: (m["pupil.year_code"], m["pupil.tutor_group.name"] or "",
                                           m["pupil.legal_last_name"], m["pupil.id"])):
        pid = m["pupil.id"]
        row = {"id": pid, "name": f"{m['pupil.preferred_first_name'] or m['pupil.legal_first_name']} "
                                  f"{m['pupil.preferred_last_name'] or m['pupil.legal_last_name']}",
               "year": m["pupil.year_code"], "form": m["pupil.tutor_group.name"] or "",
               "speak_to_dsl": m["pupil.speak_to_dsl"], "contacts": contacts.get(pid, []),
               "calls": calls.get(pid, [])}
        flags = mis_flags_of(m, "pupil.")
        flagged = m["pupil.speak_to_dsl"] or m["pupil.safeguarding_marker"] or flags
        # The flags are the DSL team's: to anyone else a flagged pupil is an ordinary row of the list.
        if dsl_team and flagged:
            flagged_rows.append(row | {"mis_flags": flags})
        else:
            rows.append(row)
    return {"closed": True, "times": times, "today": today, "pupils": rows, "dsl": flagged_rows,
            "dsl_team": dsl_team, "outcomes": OUTCOMES}


async def alert_dsl_if_due(now: dt.datetime | None = None) -> int:
    """Tell each school's DSL team, once per pupil and day, of a flagged pupil absent without a reason after the
    morning register closed; returns how many were told. Run from the escalation loop (every process: the unique
    ref makes each alert once)."""
    from app.db import atomic

    now = now or clock.now()
    today = now.astimezone(LONDON).date()
    told = 0
    # The flagged pupils first, across every school (few: one read of the pupil table), then their marks for the
    # morning by attendance_mark's (pupil, day, session) index. Asked school by school, PostgreSQL read the whole
    # pupil table once per school (12 ms each: 1.1 s a minute per process at the trust's 90 schools).
    flagged_pupils = {r["id"]: r["school"] for r in await Pupil.select(Pupil.id, Pupil.school).where(
        Pupil.left_on.is_null()
        & ((Pupil.safeguarding_marker == True)  # noqa: E712
           | (Pupil.speak_to_dsl == True)  # noqa: E712
           | (Pupil.child_protection == True)  # noqa: E712
           | (Pupil.child_in_need == True)  # noqa: E712
           | (Pupil.looked_after == True)))}  # noqa: E712
    by_school: dict[int, list[dict]] = {}
    ids = sorted(flagged_pupils)
    for start in range(0, len(ids), 1000):  # (a statement's arguments are limited)
        for mark in await AttendanceMark.select(AttendanceMark.pupil, AttendanceMark.school).where(
                AttendanceMark.pupil.is_in(ids[start:start + 1000]) & (AttendanceMark.day == today)
                & (AttendanceMark.session == "AM") & (AttendanceMark.code == NO_REASON)):
            if mark["school"] == flagged_pupils[mark["pupil"]]:
                by_school.setdefault(mark["school"], []).append({"pupil": mark["pupil"]})
    if not by_school:
        return 0
    done = {r["ref"] for r in await FirstDayAlert.select(FirstDayAlert.ref).where(FirstDayAlert.day == today)}
    for school_id in list(by_school):
        by_school[school_id] = [r for r in by_school[school_id] if f"{r['pupil']}:{today.isoformat()}" not in done]
    for school_id, pupils in by_school.items():
        times = await gate.close_times(school_id)
        if not _closed(now, times):
            continue
        still_absent = {m["pupil.id"] for m in await _absent(school_id, today)}
        team = await concerns.alertable(school_id, concerns.DSL_TEAM)
        for r in pupils:
            if r["pupil"] not in still_absent:
                continue
            try:
                async with atomic():
                    await FirstDayAlert.insert(FirstDayAlert(school=school_id, pupil=r["pupil"], day=today,
                                                             ref=f"{r['pupil']}:{today.isoformat()}", alerted_at=now))
                    pending = await notifications.notify(team, school_id=school_id, kind="first_day.flagged",
                                                         text=ALERT_TEXT, link=ALERT_LINK)
                    await audit.record("first_day.dsl_alerted", actor_id=None, actor_label="Corridor",
                                       school_id=school_id, subject_type="pupil", subject_id=r["pupil"],
                                       detail={"day": today.isoformat(), "told": len(team)})
            except Exception as exc:
                if "unique" in str(exc).lower():
                    continue  # another process told them a moment ago
                raise
            await notifications.deliver(pending)
            told += 1
    return told


_last_run: dict[str, dt.datetime] = {}


async def alert_dsl_every_minute() -> None:
    """From the escalation loop: at most once a minute per process."""
    now = clock.now()
    last = _last_run.get("at")
    if last is not None and now - last < dt.timedelta(minutes=1):
        return
    _last_run["at"] = now
    try:
        await alert_dsl_if_due(now)
    except Exception:
        # The escalation loop carries on (on-call, referrals): the next minute tries again.
        logging.getLogger("corridor").warning("first-day DSL alert check failed", exc_info=True)

