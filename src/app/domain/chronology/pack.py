"""The case-conference pack (issue 13, point 6): from a pupil's chronology, a date range, "significant only" and
the sources chosen, previewed with other pupils already shown as "Pupil B", "Pupil C"..., free-text redactions
added by the producer, then exported as a paginated PDF or a CSV, each export audited with the SHA-256 of the file.

Who: whoever may see the pupil's chronology (chronology.service.visible_pupil); the pack itself is its producer's
working document, so another colleague opening it finds nothing, as does anyone else and another school.
The entries are read from the chronology at every step (never copied into the draft), so a pack always shows
what the producer may see today.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

from app import clock
from app.clock import parse_date
from app.db import atomic
from app.domain.audit import service as audit
from app.domain.chronology import service as chronology
from app.domain.chronology.entries import SOURCES, ChronologyEntry
from app.domain.chronology.pack_export import LONDON, PackMeta, csv_text, pdf
from app.domain.chronology.pack_redaction import PHRASE_LIMIT, Redactor
from app.domain.chronology.pack_tables import CasePack
from app.domain.notifications import service as notifications
from app.domain.pupils.tables import Pupil
from app.domain.schools.service import Actor
from app.errors import NotFound, ValidationFailed
from app.settings import Settings

HIDDEN = chronology.HIDDEN
REDACTION_LIMIT = 50  # free-text redactions per pack
FORMATS = {"pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


def can_use(actor: Actor) -> bool:
    return actor.school_id is not None and chronology.can_view(actor)


async def form_context(actor: Actor, pupil_id: int | None) -> dict:
    """The pupil and the sources this actor may put in a pack (NotFound for a pupil they may not see)."""
    if pupil_id is None or not can_use(actor):
        raise NotFound(HIDDEN)
    return {"pupil": await chronology.visible_pupil(actor, pupil_id), "sources": chronology.sources_for(actor)}


def _chosen_sources(actor: Actor, raw: object) -> list[str]:
    values = raw if isinstance(raw, list) else [raw] if raw else []
    allowed = chronology.sources_for(actor)
    picked = {str(v) for v in values}
    return [key for key in allowed if key in picked]


def parse_options(actor: Actor, form: dict) -> dict:
    """The pack's options from its form; ValidationFailed with a message per field."""
    errors: dict[str, str] = {}
    starts_on = ends_on = None
    raw_start, raw_end = str(form.get("starts_on") or "").strip(), str(form.get("ends_on") or "").strip()
    if raw_start and (starts_on := parse_date(raw_start)) is None:
        errors["starts_on"] = "Enter the first date like 01/09/2026, or leave it empty for the start."
    if raw_end and (ends_on := parse_date(raw_end)) is None:
        errors["ends_on"] = "Enter the last date like 07/12/2026, or leave it empty for today."
    if starts_on and ends_on and ends_on < starts_on:
        errors["ends_on"] = "The last date can't be before the first date."
    sources = _chosen_sources(actor, form.get("sources"))
    if not sources:
        errors["sources"] = "Choose at least one kind of entry."
    if errors:
        raise ValidationFailed(errors)
    return {"starts_on": starts_on, "ends_on": ends_on, "sources": sources,
            "significant_only": str(form.get("significant_only") or "") in ("1", "on", "yes", "true")}


@notifications.releases_claim
async def create_draft(actor: Actor, form: dict, *, key: str | None = None, digest: str = "") -> dict:
    """Store the pack's options (a second submission of the same form answers with the first pack)."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    if key and (stored := await notifications.replay(actor, key, digest)):
        return json.loads(stored["body"])
    try:
        pupil_id = int(str(form.get("pupil_id") or ""))
    except ValueError:
        raise NotFound(HIDDEN) from None
    pupil = await chronology.visible_pupil(actor, pupil_id)
    options = parse_options(actor, form)

    async def write() -> tuple[dict, list]:
        row = CasePack(school=actor.school_id, pupil=pupil["id"], starts_on=options["starts_on"],
                       ends_on=options["ends_on"], significant_only=options["significant_only"],
                       sources=",".join(options["sources"]), redactions="[]", created_by=actor.person_id,
                       created_at=clock.now())
        await row.save()
        await audit.record("case_pack.created", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pupil["id"],
                           subject_label=f"Case pack {row.id}", origin=actor.origin,
                           detail={"pack": row.id, **_options_detail(options)})
        return {"id": row.id}, []

    return await notifications.answer_once(actor, key, digest, write)


def _options_detail(options: dict) -> dict:
    return {"start": options["starts_on"].isoformat() if options["starts_on"] else None,
            "end": options["ends_on"].isoformat() if options["ends_on"] else None,
            "sources": list(options["sources"]), "significant_only": options["significant_only"]}


@dataclass
class Pack:
    id: int
    pupil: dict
    starts_on: dt.date | None
    ends_on: dt.date | None
    significant_only: bool
    sources: list[str]
    redactions: list[dict]  # {"phrase", "by", "at"}
    created_at: dt.datetime

    @property
    def range_label(self) -> str:
        start = f"{self.starts_on:%-d %b %Y}" if self.starts_on else "the first entry"
        end = f"{self.ends_on:%-d %b %Y}" if self.ends_on else "today"
        return f"{start} to {end}"

    @property
    def options(self) -> dict:
        return {"starts_on": self.starts_on, "ends_on": self.ends_on, "sources": self.sources,
                "significant_only": self.significant_only}


async def open_pack(actor: Actor, pack_id: int) -> Pack:
    """The producer's pack, while they may still see the pupil's chronology; NotFound for everyone else."""
    if not can_use(actor):
        raise NotFound(HIDDEN)
    row = await CasePack.select().where(
        (CasePack.id == pack_id) & (CasePack.school == actor.school_id)
        & (CasePack.created_by == actor.person_id)).first()
    if not row:
        raise NotFound(HIDDEN)
    pupil = await chronology.visible_pupil(actor, row["pupil"])
    allowed = chronology.sources_for(actor)
    return Pack(id=row["id"], pupil=pupil, starts_on=row["starts_on"], ends_on=row["ends_on"],
                significant_only=row["significant_only"],
                sources=[s for s in row["sources"].split(",") if s in allowed],
                redactions=json.loads(row["redactions"] or "[]"), created_at=row["created_at"])


def _in_pack(pack: Pack, e: ChronologyEntry) -> bool:
    day = chronology.local_date(e.at)
    return (e.source in pack.sources and (pack.starts_on is None or day >= pack.starts_on)
            and (pack.ends_on is None or day <= pack.ends_on) and (e.significant or not pack.significant_only))


async def pupil_aliases(actor: Actor, pupil_ids: set[int]) -> dict[int, list[str]]:
    """Every name the other pupils go by: an entry names a pupil one way, its free text may use another."""
    if not pupil_ids:
        return {}
    rows = await Pupil.select(Pupil.id, Pupil.legal_first_name, Pupil.legal_last_name, Pupil.preferred_first_name,
                              Pupil.preferred_last_name).where(
        Pupil.id.is_in(sorted(pupil_ids)) & (Pupil.school == actor.school_id))
    names: dict[int, list[str]] = {}
    for r in rows:
        firsts = {r["legal_first_name"], r["preferred_first_name"] or r["legal_first_name"]}
        lasts = {r["legal_last_name"], r["preferred_last_name"] or r["legal_last_name"]}
        names[r["id"]] = [f"{f} {last}" for f in firsts for last in lasts if f and last]
    return names


@dataclass
class Contents:
    pack: Pack
    entries: list[ChronologyEntry]  # redacted, oldest first
    letters: list[tuple[str, int]]  # ("Pupil B", entries naming them)
    counts: dict[str, int]  # source -> entries
    log: list[dict]  # the redaction log, as the preview shows it (phrases included: the producer typed them)


async def contents(actor: Actor, pack: Pack) -> Contents:
    """The pack's entries as they will be exported: filtered, then redacted."""
    everything = await chronology.entries(actor, pack.pupil["id"], audit=False)
    chosen = [e for e in everything if _in_pack(pack, e)]
    # Letters in order of first appearance in the pack; a pupil named only outside it is still redacted, as an
    # entry's free text can name a pupil linked to an earlier entry.
    chosen_refs = {e.ref for e in chosen}
    redactor = Redactor.build(pack.pupil["id"], pack.pupil["name"],
                              chosen + [e for e in everything if e.ref not in chosen_refs],
                              [r["phrase"] for r in pack.redactions],
                              await pupil_aliases(actor, {pid for e in everything for pid, _ in e.others_named}))
    named: dict[str, int] = {}
    for e in chosen:
        for letter in dict.fromkeys(redactor.letters[pid] for pid, _ in e.others_named if pid in redactor.letters):
            named[letter] = named.get(letter, 0) + 1
    hits = redactor.counts(chosen)
    log = [{"kind": "Other pupils", "by": "Corridor, automatically", "at": None,
            "what": f"{len(named)} other pupil{'' if len(named) == 1 else 's'} named in the entries shown as "
                    "Pupil B, Pupil C and so on", "phrase": ""}]
    log += [{"kind": "Free text", "by": r["by"], "at": dt.datetime.fromisoformat(r["at"]),
             "what": f"replaced with [redacted] in {hits.get(r['phrase'], 0)} "
                     f"entr{'y' if hits.get(r['phrase'], 0) == 1 else 'ies'}", "phrase": r["phrase"]}
            for r in pack.redactions]
    entries = [redactor.entry(e) for e in chosen]
    counts = {key: 0 for key in pack.sources}
    for e in entries:
        counts[e.source] = counts.get(e.source, 0) + 1
    return Contents(pack, entries, sorted(named.items()), counts, log)


async def preview(settings: Settings, actor: Actor, pack_id: int) -> Contents:
    """The pack as it will be exported; a view of the chronology, so audited."""
    pack = await open_pack(actor, pack_id)
    chronology.require_fresh_check(settings, actor)  # the DSL team's pack can hold safeguarding records
    found = await contents(actor, pack)
    async with atomic():
        await audit.record("case_pack.previewed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pack.pupil["id"],
                           subject_label=f"Case pack {pack.id}", origin=actor.origin,
                           detail={"pack": pack.id, "entries": len(found.entries)})
    return found


async def add_redaction(settings: Settings, actor: Actor, pack_id: int, form: dict) -> bool:
    """Add a phrase to replace with "[redacted]"; False if the pack had it already (a double submission).

    The audit event says who added a free-text redaction to which pack, and how long it was, never the phrase:
    what a producer redacts is by definition what must not travel, and admins read the audit log."""
    pack = await open_pack(actor, pack_id)
    chronology.require_fresh_check(settings, actor)
    phrase = " ".join(str(form.get("phrase") or "").split())
    errors = {}
    if len(phrase) < 2:
        errors["phrase"] = "Type the words to hide, for example a name or an address."
    elif len(phrase) > PHRASE_LIMIT:
        errors["phrase"] = f"Keep this to {PHRASE_LIMIT} characters; add longer passages in parts."
    elif len(pack.redactions) >= REDACTION_LIMIT:
        errors["phrase"] = f"A pack can have up to {REDACTION_LIMIT} redactions."
    if errors:
        raise ValidationFailed(errors)
    for _ in range(5):
        async with atomic():
            row = await CasePack.select(CasePack.redactions).where(CasePack.id == pack.id).first()
            current = json.loads(row["redactions"] or "[]")
            if any(r["phrase"].casefold() == phrase.casefold() for r in current):
                return False
            stored = json.dumps([*current, {"phrase": phrase, "by": actor.display_name, "by_id": actor.person_id,
                                             "at": clock.now().isoformat()}])
            # Written only over what was read, so two additions at once both stay (the second reads again).
            changed = await CasePack.update({CasePack.redactions: stored}).where(
                (CasePack.id == pack.id) & (CasePack.redactions == row["redactions"])).returning(CasePack.id)
            if not changed:
                continue
            await audit.record("case_pack.redaction_added", actor_id=actor.person_id, actor_label=actor.label,
                               school_id=actor.school_id, subject_type="pupil", subject_id=pack.pupil["id"],
                               subject_label=f"Case pack {pack.id}", origin=actor.origin,
                               detail={"pack": pack.id, "kind": "free_text", "characters": len(phrase),
                                       "redactions": len(current) + 1})
            return True
    raise ValidationFailed({"phrase": "The pack was being changed at the same time. Try again."})


def _meta(actor: Actor, found: Contents) -> PackMeta:
    pupil = found.pack.pupil
    line = " · ".join(p for p in (f"Year {pupil['year']}" if pupil.get("year") else "",
                                  pupil.get("tutor_group") or "") if p)
    log = []
    for item in found.log:
        when = f" on {item['at'].astimezone(LONDON):%d/%m/%Y at %H:%M}" if item["at"] else ""
        log.append(f"{item['kind']}: {item['what']} (added by {item['by']}{when}).")
    return PackMeta(school=actor.school_name, pupil=pupil["name"], pupil_line=line, produced_by=actor.display_name,
                    produced_at=clock.now(), range_label=found.pack.range_label,
                    significant_only=found.pack.significant_only, sources=tuple(found.pack.sources),
                    other_pupils=len(found.letters), redaction_log=tuple(log))


async def export(settings: Settings, actor: Actor, pack_id: int, fmt: str) -> tuple[bytes, str, str]:
    """The pack as a file (body, media type, file name); audited with the SHA-256 of exactly these bytes."""
    if fmt not in FORMATS:
        raise NotFound(HIDDEN)
    pack = await open_pack(actor, pack_id)
    chronology.require_fresh_check(settings, actor)
    found = await contents(actor, pack)
    body = pdf(_meta(actor, found), found.entries) if fmt == "pdf" else csv_text(found.entries).encode("utf-8")
    digest = hashlib.sha256(body).hexdigest()
    async with atomic():
        await audit.record("case_pack.exported", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=actor.school_id, subject_type="pupil", subject_id=pack.pupil["id"],
                           subject_label=f"Case pack {pack.id}", origin=actor.origin,
                           detail={"pack": pack.id, "format": fmt, "sha256": digest, "bytes": len(body),
                                   "entries": len(found.entries), "other_pupils": len(found.letters),
                                   "free_text_redactions": len(pack.redactions), **_options_detail(pack.options)})
    # The file is named by the pack's number only: no pupil's name in a file name, a download list or a log.
    return body, FORMATS[fmt], f"case-pack-{pack.id}.{fmt}"


def source_labels() -> dict[str, str]:
    return dict(SOURCES)
