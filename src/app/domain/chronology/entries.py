"""One line of a pupil's chronology, as every source feeds it and every view (page, CSV, case-conference pack) reads it.

The chronology is assembled above the features it reads (DESIGN.md, "Shape of the code"), so this module imports none
of them: each source turns its own rows into ChronologyEntry values.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

# Source keys in the order the filter lists them; labels are what staff read.
SOURCES: dict[str, str] = {
    "incident": "Incident",
    "contact": "Contact",
    "referral": "Referral",
    "intervention": "Intervention",
    "case": "Casework",
    "oncall": "On-call",
    "home_visit": "Home visit",
    "physical_intervention": "Physical intervention",
    "on_report": "On report",
    "concern": "Safeguarding concern",
    "dsl_action": "DSL action",
}
# Seen by the DSL team only (DESIGN.md: a safeguarding concern is visible to the DSL team only).
DSL_ONLY_SOURCES = frozenset({"concern", "dsl_action"})
# Seen by the DSL team and the pastoral leads only (physical intervention records: docs/physical-intervention.md).
LEAD_ONLY_SOURCES = frozenset({"physical_intervention"})
LEADS = ("dsl", "pastoral_lead")


@dataclass(frozen=True, slots=True)
class ChronologyEntry:
    at: dt.datetime  # timezone-aware (UTC); entries are merged on it
    source: str  # a key of SOURCES
    ref: str  # stable within the school, e.g. "incident:123"; the significant flag and the pack refer to it
    event: str  # what happened, one line
    detail: str = ""  # fuller text (free text may name other pupils: the pack redacts it)
    action: str = ""  # action taken, or why none
    outcome: str = ""
    recorded_by: str = ""  # the recorder's label, as audited
    significant: bool = False
    # Other pupils named in this entry, (pupil id, name as written): the pack shows them as "Pupil B", "Pupil C".
    others_named: tuple[tuple[int, str], ...] = field(default_factory=tuple)
