"""Redaction: no other pupil's name survives in the PDF's text (extracted with pypdf) nor in the CSV; the subject is
named; other pupils appear as stable letters; free-text redactions are applied and logged, the phrase never in the
audit log."""

from __future__ import annotations

import datetime as dt
import re

from app.domain.audit.tables import AuditEvent
from app.domain.chronology import pack_export
from app.domain.chronology.entries import ChronologyEntry
from app.domain.chronology.pack_redaction import Redactor
from app.domain.chronology.pack_tables import CasePack
from tests.case_pack.kit import make_pack, pack_id, pdf_text, story
from tests.conftest import post_form

# Every way the story writes the other pupils: full, preferred, legal, without accents, with either apostrophe.
FORBIDDEN = ("Hardy", "Tom", "Thomas", "Zoë", "Zoe", "O'Brien", "O’Brien", "Łukasz", "Lukasz", "Nowak", "Sam")


def _survivors(text: str) -> list[str]:
    return [name for name in FORBIDDEN if re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text)]


async def test_it_shows_other_pupils_as_letters_in_the_preview_pdf_and_csv(client, settings, cast):
    people = await story(cast)
    preview = await make_pack(client, settings, cast.pastoral, people["amy"])
    assert preview.status_code == 200, preview.text
    number = pack_id(preview)
    pdf = await client.get(f"/case-pack/{number}/pack.pdf")
    csv = await client.get(f"/case-pack/{number}/pack.csv")
    assert pdf.status_code == csv.status_code == 200
    text, table = pdf_text(pdf.content), csv.content.decode("utf-8")
    for shown in (preview.text, text, table):
        assert _survivors(shown) == []
    for shown in (text, table):
        # Letters in order of first appearance: Łukasz (October), Tom, Zoë, then Amy's brother Sam.
        assert "Pupil B took Amy's bag" in shown
        assert "Pupil C pushed Amy in the lunch queue; Pupil C said sorry after" in shown
        assert "Amy argued with Pupil D. Pupil C saw it; Pupil D cried." in shown
        # The brother's surname is Amy's own: it stays, his first name goes.
        assert "Pupil E and Amy Brown late together" in shown
        assert "Pupil B and Pupil B's older brother" in shown
    assert "Amy Brown" in text  # the subject is named, in the header of every page
    assert "Pupil B" in preview.text and "Pupil E" in preview.text


async def test_it_hides_a_pupil_named_only_outside_the_chosen_dates(client, settings, cast):
    people = await story(cast)
    preview = await make_pack(client, settings, cast.pastoral, people["amy"], starts_on="2026-11-01",
                              ends_on="2026-11-30")
    number = pack_id(preview)
    text = pdf_text((await client.get(f"/case-pack/{number}/pack.pdf")).content)
    assert "took Amy's bag" not in text  # 2 October: outside the pack
    assert _survivors(text) == []
    # Łukasz is linked to no November entry, but the November contact names him: he still gets a letter, after
    # the pupils the November entries name (Tom B, Zoë C, Sam D).
    assert "Mum says Pupil E and Pupil E's older brother wait at the gate" in text
    assert "Pupil B pushed Amy" in text


async def test_it_applies_and_logs_a_free_text_redaction_without_the_phrase_in_the_audit_log(client, settings, cast):
    people = await story(cast)
    number = pack_id(await make_pack(client, settings, cast.pastoral, people["amy"]))
    page = f"/case-pack/{number}"
    added = await post_form(client, f"{page}/redactions", {"phrase": "14 Elm  Road"}, page=page)
    assert added.status_code == 200 and "Redaction added." in added.text
    assert "“14 Elm Road”" in added.text  # the producer sees what they hid, in the preview's log
    again = await post_form(client, f"{page}/redactions", {"phrase": "14 elm road"}, page=page)
    assert "That redaction was already there." in again.text
    stored = (await CasePack.select(CasePack.redactions).where(CasePack.id == number).first())["redactions"]
    assert stored.count("Elm Road") == 1

    text = pdf_text((await client.get(f"{page}/pack.pdf")).content)
    table = (await client.get(f"{page}/pack.csv")).text
    for shown in (text, table):
        assert "Elm" not in shown and "[redacted]" in shown
    assert "Free text: replaced with [redacted] in 1 entry (added by Pat Pastoral on" in text
    assert "Redaction log" in text

    events = await AuditEvent.select(AuditEvent.action, AuditEvent.detail).where(
        AuditEvent.action.like("case_pack.%"))
    assert [e["action"] for e in events].count("case_pack.redaction_added") == 1
    assert not any("Elm" in str(e["detail"]) for e in events)


async def test_it_refuses_an_empty_or_overlong_redaction_keeping_what_was_typed(client, settings, cast):
    people = await story(cast)
    number = pack_id(await make_pack(client, settings, cast.pastoral, people["amy"]))
    page = f"/case-pack/{number}"
    empty = await post_form(client, f"{page}/redactions", {"phrase": " "}, page=page)
    assert empty.status_code == 400 and "Type the words to hide" in empty.text
    long = "a very long passage " * 12
    refused = await post_form(client, f"{page}/redactions", {"phrase": long}, page=page)
    assert refused.status_code == 400 and "Keep this to 200 characters" in refused.text
    assert f'value="{long}"' in refused.text
    assert (await CasePack.select(CasePack.redactions).where(CasePack.id == number).first())["redactions"] == "[]"


def _entry(text: str, others: tuple = (), day: int = 1) -> ChronologyEntry:
    return ChronologyEntry(at=dt.datetime(2026, 11, day, 10, tzinfo=dt.timezone.utc), source="incident",
                           ref=f"incident:{day}", event="Incident", detail=text, others_named=others)


def test_it_marks_a_first_name_two_other_pupils_share_without_guessing_a_letter():
    entries = [_entry("Jack Lee and Jack Smith argued; Jack left.", ((2, "Jack Lee"), (3, "Jack Smith")))]
    redactor = Redactor.build(1, "Amy Brown", entries)
    assert redactor.entry(entries[0]).detail == "Pupil B and Pupil C argued; [another pupil] left."


def test_it_matches_names_across_apostrophes_line_breaks_and_case():
    entries = [_entry("saw ZOË O’BRIEN\nthen zoe o'brien again", ((2, "Zoë O'Brien"),))]
    assert Redactor.build(1, "Amy Brown", entries).entry(entries[0]).detail == "saw Pupil B\nthen Pupil B again"


def test_it_draws_names_outside_latin_1_with_the_built_in_font_when_no_dejavu_is_installed(monkeypatch):
    monkeypatch.setattr(pack_export, "FONT_DIRS", ())
    pack_export.dejavu.cache_clear()
    try:
        meta = pack_export.PackMeta(
            school="Ysgol Gymraeg", pupil="Siân Ní Bhriain", pupil_line="Year 9", produced_by="Wojciech Łęcki",
            produced_at=dt.datetime(2026, 11, 30, 9, tzinfo=dt.timezone.utc), range_label="the first entry to today",
            significant_only=False, sources=("incident",), other_pupils=0, redaction_log=())
        body = pack_export.pdf(meta, [_entry("She said “leave me alone” — twice… to Ørjan and Şule")])
    finally:
        pack_export.dejavu.cache_clear()
    text = pdf_text(body)
    assert "Siân Ní Bhriain" in text and "Wojciech Lecki" in text
    assert "She said \"leave me alone\" - twice... to Ørjan and Sule" in text


def test_it_gives_letters_past_z_without_running_out():
    from app.domain.chronology.pack_redaction import letter

    assert [letter(i) for i in (0, 1, 24, 25, 26, 50)] == ["B", "C", "Z", "AA", "AB", "AZ"]
    assert len({letter(i) for i in range(5000)}) == 5000  # the bench school's busiest pupil names over 700 others


async def test_two_redactions_added_at_once_both_stay(client, settings, cast):
    import asyncio
    import json

    from app.domain.chronology import pack as packs
    from tests.case_pack.kit import actor_for

    people = await story(cast)
    number = pack_id(await make_pack(client, settings, cast.pastoral, people["amy"]))
    actor = await actor_for(settings, cast.pastoral)
    added = await asyncio.gather(*(packs.add_redaction(settings, actor, number, {"phrase": p})
                                   for p in ("Elm Road", "the caretaker", "Room 12")))
    assert added == [True, True, True]
    stored = json.loads((await CasePack.select(CasePack.redactions).where(CasePack.id == number).first())["redactions"])
    assert sorted(r["phrase"] for r in stored) == ["Elm Road", "Room 12", "the caretaker"]
    assert await AuditEvent.count().where(AuditEvent.action == "case_pack.redaction_added") == 3


def test_it_draws_a_name_the_font_lacks_without_putting_it_in_the_log(caplog):
    import logging

    caplog.set_level(logging.DEBUG)
    meta = pack_export.PackMeta(
        school="Northbridge Academy", pupil="王秀英", pupil_line="Year 9", produced_by="Pat Pastoral",
        produced_at=dt.datetime(2026, 11, 30, 9, tzinfo=dt.timezone.utc), range_label="the first entry to today",
        significant_only=False, sources=("incident",), other_pupils=0, redaction_log=())
    body = pack_export.pdf(meta, [_entry("Said 😀\x00 and left")])
    assert body.startswith(b"%PDF")
    assert not any("王" in r.getMessage() or "秀" in r.getMessage() for r in caplog.records)
