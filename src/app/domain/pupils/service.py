"""Pupils: lookup, profile, photos and the shared timeline. Record-level access is decided here."""

from __future__ import annotations

import asyncio
import bisect

import csv
import datetime as dt
import io
import re
import unicodedata
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from rapidfuzz import fuzz, process

from app import clock
from app.db import raw as raw_sql
from app.domain.audit import service as audit
from app.domain.pupils.tables import Contact, Pupil
from app.domain.schools import service as schools
from app.domain.schools.service import Actor
from app.domain.schools.tables import School
from app.errors import BadRequest, NotFound

_SEN = Path(__file__).resolve().parents[2] / "reference" / "sen.csv"


def _sen_codes() -> tuple[dict[str, str], dict[str, str]]:
    """SEN provision and need codes, from the reference data shipped with the app."""
    provision, need = {}, {}
    if _SEN.exists():
        with _SEN.open(newline="") as f:
            for row in csv.DictReader(f):
                (provision if row["kind"] == "provision" else need)[row["code"]] = row["meaning"]
    return provision, need


SEN_PROVISION, SEN_NEEDS = _sen_codes()

PHOTO_PX, THUMB_PX = 400, 96
MAX_PHOTO_BYTES = 8 * 1024 * 1024


def prepare_photo(data: bytes) -> tuple[bytes, bytes]:
    """A photo from outside, checked and re-encoded: (JPEG at most 400 px, JPEG thumbnail of 96 px)."""
    if len(data) > MAX_PHOTO_BYTES:
        raise BadRequest("The photo is larger than 8 MB.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = img.convert("RGB")  # also drops metadata such as EXIF location
            out = []
            for size in (PHOTO_PX, THUMB_PX):
                copy = img.copy()
                copy.thumbnail((size, size))
                buf = io.BytesIO()
                copy.save(buf, "JPEG", quality=82, optimize=True)
                out.append(buf.getvalue())
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise BadRequest("The file is not an image Corridor can read (use JPEG or PNG).") from None
    return out[0], out[1]


async def mark_changed(school_id: int) -> None:
    """Call in the same transaction as any change to what the lookup index holds (names, year, form, UPN, left,
    SEN, medical flag, photo): every process's index rebuilds from it. Incidents and concerns must not call it."""
    await School.update({School.pupils_changed_at: clock.now()}).where(School.id == school_id)


# Who sees what ---------------------------------------------------------------------------------------
# DESIGN.md: staff see name, photo, year/form and the care flags they must know; guests only name, photo and
# form; responders add family contacts; pastoral, heads of year and the DSL team see the pastoral record.
SEES_CARE_FLAGS = ("staff", "responder", "pastoral", "head_of_year", "dsl", "admin")
SEES_CONTACTS = ("responder", "pastoral", "head_of_year", "dsl")
SEES_PASTORAL = ("pastoral", "head_of_year", "dsl")
SEES_SAFEGUARDING = ("dsl",)
# The MIS's child-protection, child-in-need and looked-after statuses (imported): the DSL team and pastoral leads.
SEES_MIS_FLAGS = ("dsl", "pastoral_lead")
MIS_FLAGS = {"child_protection": "Child protection plan", "child_in_need": "Child in need",
             "looked_after": "Looked after"}


def mis_flags_of(row: dict, prefix: str = "") -> list[str]:
    """The MIS statuses a pupil row holds, in words (empty: none)."""
    return [label for key, label in MIS_FLAGS.items() if row.get(prefix + key)]
LOGS_CONTACTS = ("pastoral", "pastoral_lead", "head_of_year", "dsl")  # the contact log (contact_log.service)


def can_look_up(actor: Actor) -> bool:
    return actor.school_id is not None and bool(actor.roles)


# Matching --------------------------------------------------------------------------------------------
# Letters NFKD does not take apart, common in the names of UK pupils.
_LATIN = str.maketrans({"ł": "l", "ø": "o", "đ": "d", "ß": "ss", "æ": "ae", "œ": "oe", "ı": "i", "þ": "th",
                        "ð": "d", "ħ": "h"})
_YEAR = re.compile(r"\b(?:year|yr|y)\s*(\d{1,2})\b")
_UPN = re.compile(r"^[a-z]\d{12}$|^[a-z]\d{11}[a-z]$")
RESULT_LIMIT = 20


def fold(text: str) -> str:
    """Lower case, no accents, no apostrophes; other punctuation becomes a space: 'Siobhán O'Connor' → 'siobhan oconnor'."""
    text = unicodedata.normalize("NFKD", (text or "").lower().translate(_LATIN))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = re.sub(r"['’`ʼ]", "", text)
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@dataclass(frozen=True)
class Entry:
    id: int
    first: str
    last: str
    preferred: str
    preferred_last: str
    year: str
    tutor_group: str
    upn: str
    left: bool
    sen: str
    medical: bool
    has_photo: bool
    first_tokens: frozenset[str]
    last_tokens: frozenset[str]

    @property
    def display_name(self) -> str:
        return f"{self.preferred or self.first} {self.preferred_last or self.last}"

    @property
    def initials(self) -> str:
        return ((self.preferred or self.first)[:1] + (self.preferred_last or self.last)[:1]).upper()


@dataclass
class SchoolIndex:
    stamp: Any
    entries: list[Entry]
    vocabulary: list[str] = field(default_factory=list)
    holders: dict[str, list[int]] = field(default_factory=dict)  # token -> positions in entries
    groups: dict[str, list[int]] = field(default_factory=dict)  # folded tutor group -> positions
    sorted_vocabulary: list[str] = field(default_factory=list)  # for prefixes by bisection
    by_id: dict[int, Entry] = field(default_factory=dict)  # built once with the index, not per request

    def __post_init__(self) -> None:
        for pos, entry in enumerate(self.entries):
            self.by_id[entry.id] = entry
            for token in entry.first_tokens | entry.last_tokens:
                self.holders.setdefault(token, []).append(pos)
            self.groups.setdefault(fold(entry.tutor_group), []).append(pos)
        self.vocabulary = list(self.holders)
        self.sorted_vocabulary = sorted(self.vocabulary)

    def starting_with(self, term: str) -> list[str]:
        """Every token that starts with `term` (itself included): a slice of the sorted vocabulary."""
        start = bisect.bisect_left(self.sorted_vocabulary, term)
        end = start
        while end < len(self.sorted_vocabulary) and self.sorted_vocabulary[end].startswith(term):
            end += 1
        return self.sorted_vocabulary[start:end]


_indexes: dict[int, SchoolIndex] = {}
# One build at a time per school and process; locks belong to an event loop, so they are kept per loop.
_building: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Lock]]" = weakref.WeakKeyDictionary()


def _name_tokens(*names: str) -> frozenset[str]:
    tokens: set[str] = set()
    for name in names:
        folded = fold(name)
        if folded:
            tokens.update(folded.split())
            tokens.add(folded.replace(" ", ""))  # "Smith-Jones" is also "smithjones"
    return frozenset(tokens)


async def _school_index(school_id: int) -> SchoolIndex:
    """The school's lookup index, rebuilt only when its pupils have changed (any process may change them:
    every process compares the school's `pupils_changed_at` with the stamp its copy was built from).

    Only what changes the index marks it changed (imports, the demo's seeding); incidents, concerns and
    markers do not, since the index holds none of them. A process builds it at most once at a time: requests
    arriving while it is being built wait for that build rather than starting their own."""
    stamp = await _pupils_stamp(school_id)
    index = _indexes.get(school_id)
    if index is not None and index.stamp == stamp:
        return index
    lock = _building.setdefault(asyncio.get_running_loop(), {}).setdefault(school_id, asyncio.Lock())
    async with lock:
        index = _indexes.get(school_id)
        if index is not None and index.stamp == stamp:
            return index  # built by the request we waited for
        stamp = await _pupils_stamp(school_id)  # what the build below reads is at least this fresh
        index = await _build_index(school_id, stamp)
        _indexes[school_id] = index
        return index


async def _pupils_stamp(school_id: int) -> Any:
    # A fixed statement: asked before every lookup and quick-entry page, where Piccolo's query building cost more
    # than the read.
    rows = await raw_sql(School, "SELECT pupils_changed_at FROM school WHERE id = {}", school_id)
    return rows[0]["pupils_changed_at"] if rows else None


async def _build_index(school_id: int, stamp: Any) -> SchoolIndex:
    rows = await Pupil.select(
        Pupil.id, Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name,
        Pupil.preferred_last_name, Pupil.year_code, Pupil.tutor_group.name, Pupil.upn, Pupil.left_on,
        Pupil.sen_provision, Pupil.medical_alert,
    ).where(Pupil.school == school_id)
    with_photo = {r["id"] for r in await Pupil.select(Pupil.id).where(
        (Pupil.school == school_id) & Pupil.photo_thumb.is_not_null())}
    entries = [Entry(
        id=r["id"], first=r["legal_first_name"], last=r["legal_last_name"], preferred=r["preferred_first_name"],
        preferred_last=r["preferred_last_name"], year=r["year_code"], tutor_group=r["tutor_group.name"] or "",
        upn=r["upn"].lower(), left=r["left_on"] is not None, sen=r["sen_provision"],
        medical=bool(r["medical_alert"]), has_photo=r["id"] in with_photo,
        first_tokens=_name_tokens(r["legal_first_name"], r["preferred_first_name"]),
        last_tokens=_name_tokens(r["legal_last_name"], r["preferred_last_name"]),
    ) for r in rows]
    return SchoolIndex(stamp=stamp, entries=entries)


def _term_matches(index: SchoolIndex, term: str) -> dict[str, float]:
    """Tokens a typed term could mean, scored: exact 1.0, prefix 0.9, a small typo up to 0.75."""
    found: dict[str, float] = {}
    for token in index.starting_with(term):
        found[token] = 1.0 if token == term else 0.9 - 0.01 * min(len(token) - len(term), 10)
    if len(term) >= 4:
        # Typos: whole-token similarity, and similarity with the token's start (still typing). Three letters
        # are too few to tell a typo from another name, so they only ever match exactly or as a prefix.
        cutoff = 75
        for token, score, _ in process.extract(term, index.vocabulary, scorer=fuzz.ratio, score_cutoff=cutoff,
                                               limit=None):
            found.setdefault(token, 0.75 * score / 100)
        prefixes = [token[: len(term)] for token in index.vocabulary]
        for _, score, pos in process.extract(term, prefixes, scorer=fuzz.ratio, score_cutoff=cutoff, limit=None):
            found.setdefault(index.vocabulary[pos], 0.7 * score / 100)
    return found


def rank(index: SchoolIndex, query: str, *, include_left: bool = False, limit: int = RESULT_LIMIT,
         names_only: bool = False) -> list[Entry]:
    """Best matches first for what someone typed: names (any order, initials, typos), form, year or UPN
    (names_only: names alone, for a guest, who may find a pupil but not list a year or look up a UPN)."""
    folded = fold(query)
    year = None
    if names_only:
        terms = [t for t in folded.split() if not any(c.isdigit() for c in t)]
        if not terms:
            return []
        folded = " ".join(terms)
    elif match := _YEAR.search(folded):
        year = str(int(match.group(1)))
        folded = _YEAR.sub(" ", folded)
    terms = folded.split()
    if not terms and not year:
        return []
    candidates: list[int] | None = None
    if names_only:
        pass
    elif len(terms) == 1 and _UPN.match(terms[0]):
        candidates = [p for p, e in enumerate(index.entries) if e.upn == terms[0]]
        terms = []
    elif terms and terms[0] in index.groups:  # "7a", "10 kxl" as typed
        candidates, terms = index.groups[terms[0]], terms[1:]
    elif len(terms) == 1 and terms[0].isascii() and terms[0].isdigit() and year is None:
        year, terms = str(int(terms[0])), []

    def eligible(pos: int) -> bool:
        entry = index.entries[pos]
        return not ((entry.left and not include_left) or (year and entry.year != year))

    # Only the pupils the first term matches are looked at (not the whole school for every keystroke);
    # each later term keeps those it matches too.
    scores: dict[int, float] | None = None
    if not terms:
        pool = range(len(index.entries)) if candidates is None else candidates
        scores = {pos: 0.0 for pos in pool if eligible(pos)}
    allowed = None if candidates is None else set(candidates)
    for i, term in enumerate(terms):
        matches = _term_matches(index, term)
        hits: dict[int, float] = {}
        for token, score in matches.items():
            for pos in index.holders[token]:
                if scores is None:
                    if (allowed is not None and pos not in allowed) or not eligible(pos):
                        continue
                elif pos not in scores:
                    continue
                entry = index.entries[pos]
                # "j smith": a first term that is an initial or a first name, then a surname, ranks higher.
                if len(term) == 1 and token not in entry.first_tokens:
                    continue
                bonus = 0.05 if (i == 0 and token in entry.first_tokens and len(terms) > 1) or (
                    i == len(terms) - 1 and token in entry.last_tokens and len(terms) > 1) else 0.0
                if score + bonus > hits.get(pos, 0.0):
                    hits[pos] = score + bonus
        scores = dict(hits) if scores is None else {pos: total + hits[pos] for pos, total in scores.items() if pos in hits}
    if scores is None:
        return []
    ordered = sorted(scores, key=lambda p: (-scores[p], index.entries[p].last.lower(), index.entries[p].first.lower(), p))
    return [index.entries[p] for p in ordered[:limit]]


async def search(actor: Actor, query: str, *, include_left: bool = False) -> list[Entry]:
    """Pupils of the actor's school matching what they typed (never another school's)."""
    if not can_look_up(actor):
        raise NotFound()
    query = (query or "")[:100]
    return rank(await _school_index(actor.school_id), query, include_left=include_left,
                names_only=not actor.has(*SEES_CARE_FLAGS))


async def recently_viewed(actor: Actor, limit: int = 8) -> list[Entry]:
    """The pupils whose profiles the actor opened most recently at this school, newest first."""
    if not can_look_up(actor):
        return []
    rows = await audit.find({"actor": actor.person_id, "action": "pupil.viewed", "school": actor.school_id},
                            limit=60)
    by_id = (await _school_index(actor.school_id)).by_id
    seen: list[Entry] = []
    for row in rows:
        entry = by_id.get(int(row["subject_id"])) if row["subject_id"].isdigit() else None
        if entry and entry not in seen:
            seen.append(entry)
        if len(seen) == limit:
            break
    return seen


# Profile ---------------------------------------------------------------------------------------------

def age_on(birth: dt.date, today: dt.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


async def _visible_pupil(actor: Actor, pupil_id: int, *columns: Any) -> dict:
    if not can_look_up(actor):
        raise NotFound("There is nothing here, or you do not have access to it.")
    row = await Pupil.select(*columns).where((Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row:
        raise NotFound("There is nothing here, or you do not have access to it.")
    return row


# The profile's pupil row, its form and whether it has a photo, in one statement (the page opened most often
# after the lookup: Piccolo's query building cost more CPU than the query; see issue 12).
_PROFILE_SQL = """
SELECT p.id, p.legal_first_name, p.legal_last_name, p.preferred_first_name, p.preferred_last_name,
       p.date_of_birth, p.year_code, p.house, p.keyworker, p.sen_provision, p.sen_need, p.medical_alert,
       p.medical_action, p.allergies, p.attendance_percent, p.speak_to_dsl, p.safeguarding_marker, p.left_on, p.upn,
       p.child_protection, p.child_in_need, p.looked_after,
       (p.photo IS NOT NULL) AS has_photo, tg.name AS form, tg.tutor_name AS tutor
FROM pupil p LEFT JOIN tutor_group tg ON tg.id = p.tutor_group
WHERE p.id = {} AND p.school = {}
"""


async def open_profile(actor: Actor, pupil_id: int) -> dict[str, Any]:
    """What this actor may see of one pupil of their school; the view is audited."""
    if not can_look_up(actor):
        raise NotFound("There is nothing here, or you do not have access to it.")
    rows = await Pupil.raw(_PROFILE_SQL, pupil_id, actor.school_id)
    if not rows:
        raise NotFound("There is nothing here, or you do not have access to it.")
    row = rows[0]
    has_photo = bool(row["has_photo"])
    roles = set(actor.roles)
    if "head_of_year" in roles and not await schools.leads_year(actor, row["year_code"]):
        # A head of year sees the pastoral record of their own years; another year's pupils as staff do.
        roles.discard("head_of_year")
    sees = {
        "care": bool(roles.intersection(SEES_CARE_FLAGS)), "contacts": bool(roles.intersection(SEES_CONTACTS)),
        "pastoral": bool(roles.intersection(SEES_PASTORAL)),
        "safeguarding": bool(roles.intersection(SEES_SAFEGUARDING)),
        "contact_log": bool(roles.intersection(LOGS_CONTACTS)),
        "mis_flags": bool(roles.intersection(SEES_MIS_FLAGS)),
    }
    first, last = row["preferred_first_name"] or row["legal_first_name"], row["preferred_last_name"] or row["legal_last_name"]
    profile: dict[str, Any] = {
        "id": row["id"], "name": f"{first} {last}", "initials": (first[:1] + last[:1]).upper(),
        "tutor_group": row["form"] or "", "has_photo": has_photo, "sees": sees,
        "left_on": row["left_on"],
    }
    if sees["care"]:
        legal = f"{row['legal_first_name']} {row['legal_last_name']}"
        profile.update({
            "legal_name": legal if legal != profile["name"] else "", "year": row["year_code"],
            "tutor": row["tutor"] or "", "house": row["house"], "keyworker": row["keyworker"],
            "sen_provision": SEN_PROVISION.get(row["sen_provision"], ""), "sen_code": row["sen_provision"],
            "sen_need": SEN_NEEDS.get(row["sen_need"], row["sen_need"]), "medical_alert": row["medical_alert"],
            "medical_action": row["medical_action"], "allergies": row["allergies"],
        })
    if sees["pastoral"]:
        today = clock.now().date()
        profile.update({"date_of_birth": row["date_of_birth"], "age": age_on(row["date_of_birth"], today),
                        "attendance_percent": row["attendance_percent"], "upn": row["upn"]})
    # Others never learn why; the DSL team sees the marker itself.
    profile["speak_to_dsl"] = row["speak_to_dsl"]
    if sees["safeguarding"]:
        profile["safeguarding_marker"] = row["safeguarding_marker"]
    if sees["mis_flags"]:
        profile["mis_flags"] = mis_flags_of(row)
    if sees["contacts"]:
        profile["contacts"] = await _contacts(pupil_id)
    profile["timeline"] = await timeline(actor, pupil_id) if sees["pastoral"] else []
    # audit.record gives the entry a transaction of its own: on SQLite a write turn, on PostgreSQL its one statement
    # (chained as it commits), instead of BEGIN, the entry and COMMIT as three round trips.
    await audit.record("pupil.viewed", actor_id=actor.person_id, actor_label=actor.label,
                       school_id=actor.school_id, subject_type="pupil", subject_id=pupil_id, origin=actor.origin)
    return profile


SAFEGUARDING_FLAGS = ("safeguarding_marker", "speak_to_dsl")


async def set_safeguarding_flags(actor: Actor, pupil_id: int, form: dict[str, Any]) -> None:
    """The DSL sets or clears a pupil's child-protection marker and "speak to the DSL before acting" note;
    a change is audited in the same transaction. Anyone else finds nothing here."""
    if actor.school_id is None or not actor.has(*SEES_SAFEGUARDING):
        raise NotFound("There is nothing here, or you do not have access to it.")
    row = await Pupil.select(Pupil.id, Pupil.safeguarding_marker, Pupil.speak_to_dsl).where(
        (Pupil.id == pupil_id) & (Pupil.school == actor.school_id)).first()
    if not row:
        raise NotFound("There is nothing here, or you do not have access to it.")
    wanted = {}
    for name in SAFEGUARDING_FLAGS:
        # A checkbox: "yes" when ticked, absent when not. Anything else is not a choice the form offers.
        value = form.get(name, "")
        if value not in ("", "yes"):
            raise BadRequest("Tick or untick the boxes and save again.")
        wanted[name] = value == "yes"
    changed = {name: {"from": row[name], "to": wanted[name]} for name in SAFEGUARDING_FLAGS if row[name] != wanted[name]}
    if not changed:
        return
    async with schools.db().transaction():
        await Pupil.update({getattr(Pupil, name): wanted[name] for name in changed}).where(Pupil.id == pupil_id)
        await audit.record("pupil.marker_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil_id, origin=actor.origin,
                           detail=changed)


def _dial(phone: str) -> str:
    """A tel:/sms: target: digits and a leading +, nothing else."""
    phone = phone.strip()
    return ("+" if phone.startswith("+") else "") + re.sub(r"\D", "", phone)


async def _contacts(pupil_id: int) -> list[dict]:
    rows = await Contact.raw(
        "SELECT id, name, relationship, phone, email, priority, parental_responsibility, no_contact FROM contact "
        "WHERE pupil = {} ORDER BY priority, id", pupil_id)
    for r in rows:
        r["dial"] = _dial(r["phone"]) if r["phone"] and not r["no_contact"] else ""
    return rows


async def timeline(actor: Actor, pupil_id: int, limit: int = 20) -> list[dict]:
    """Recent activity about a pupil, newest first: each later feature adds its entries here.

    An entry is {"at", "kind", "title", "detail"}; templates/pupils/_timeline.html renders them.
    """
    from app.domain.incidents.service import timeline_entries as incidents  # features add their entries here

    entries: list[dict] = [*await incidents(pupil_id)]
    return sorted(entries, key=lambda e: e["at"], reverse=True)[:limit]


async def photo(actor: Actor, pupil_id: int, *, thumb: bool) -> bytes:
    column = Pupil.photo_thumb if thumb else Pupil.photo
    row = await _visible_pupil(actor, pupil_id, column)
    data = row[column._meta.name]
    if not data:
        raise NotFound("No photo.")
    return bytes(data)
