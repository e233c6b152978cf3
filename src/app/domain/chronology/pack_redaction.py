"""Redaction for the case-conference pack: other pupils named in a chronology become "Pupil B", "Pupil C"...,
and phrases the producer chose become "[redacted]".

A pack goes to a multi-agency meeting about one child. Other children named in the entries (the other pupil in a
fight, a friend who disclosed) are not that meeting's business, so no other pupil's name may survive in what is
exported. The letters are stable (in order of first appearance, oldest entry first) so the meeting can still follow
that the same child appears in several entries. Pure functions: no database, so the tests can feed them anything.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, replace

from app.domain.chronology.entries import ChronologyEntry

REDACTED = "[redacted]"
AMBIGUOUS = "[another pupil]"  # a first name two other pupils share: no letter would be honest
TEXT_FIELDS = ("event", "detail", "action", "outcome")
PHRASE_LIMIT = 200
# Straight and curly apostrophes, and the hyphen, are typed interchangeably in names (O'Brien, O’Brien).
_APOSTROPHES = "['\u2019\u2018`]"


def letter(index: int) -> str:
    """B, C, ... Z, then BA, BB ...: the subject is pupil A, so the others start at B."""
    letters = string.ascii_uppercase
    index += 1
    if index < 26:
        return letters[index]
    return letters[index // 26] + letters[index % 26]


def _literal(text: str) -> str:
    """A regex for the text, any apostrophe matching any other."""
    return "".join(_APOSTROPHES if c in "'\u2019\u2018`" else re.escape(c) for c in text)


def _pattern(name: str) -> str:
    return r"\s+".join(_literal(p) for p in name.split())


def _tokens(name: str) -> set[str]:
    return {t.casefold() for t in re.split(r"[\s\-]+", name.replace("\u2019", "'")) if len(t) >= 2}


@dataclass(frozen=True)
class Redactor:
    """Replaces other pupils' names (whole names, then first or last names alone) and the chosen phrases."""

    letters: dict[int, str]  # other pupil id -> "Pupil B"
    _names: re.Pattern | None
    _lookup: dict[str, str]  # casefolded match -> replacement
    phrases: tuple[str, ...]

    @classmethod
    def build(cls, subject_id: int, subject_name: str, entries: list[ChronologyEntry],
              phrases: tuple[str, ...] | list[str] = (), aliases: dict[int, list[str]] | None = None) -> "Redactor":
        """aliases: every name each other pupil goes by (legal and preferred), as the text may use any of them."""
        letters: dict[int, str] = {}
        written: dict[int, set[str]] = {}
        for entry in entries:  # oldest first: letters in order of first appearance
            for pupil_id, name in entry.others_named:
                if pupil_id == subject_id or not name.strip():
                    continue
                if pupil_id not in letters:
                    letters[pupil_id] = f"Pupil {letter(len(letters))}"
                written.setdefault(pupil_id, set()).add(" ".join(name.split()))
        for pupil_id, names in (aliases or {}).items():
            if pupil_id in written:
                written[pupil_id].update(" ".join(n.split()) for n in names if n.strip())
        # Names are often typed without their accents (Zoe for Zoë, Lukasz for Łukasz): hide those too.
        for names in written.values():
            names.update({plain(n) for n in names})
        lookup: dict[str, str] = {}
        patterns: list[str] = []
        # Whole names first (longest first, so "Tom Lee-Smith" wins over "Tom Lee").
        for pupil_id, names in written.items():
            for name in names:
                lookup[_key(name)] = letters[pupil_id]
                patterns.append(name)
        # Then each part alone, as staff often write only a first name. A part the subject shares (a sibling's
        # surname) stays, or the subject's own name would vanish; a part two others share gets no letter.
        subject_parts = _tokens(subject_name) | _tokens(plain(subject_name))
        owners: dict[str, set[int]] = {}
        for pupil_id, names in written.items():
            for name in names:
                for token in _tokens(name) - subject_parts:
                    owners.setdefault(token, set()).add(pupil_id)
        for token, ids in owners.items():
            if token in lookup:
                continue
            lookup[token] = letters[next(iter(ids))] if len(ids) == 1 else AMBIGUOUS
            patterns.append(token)
        regex = None
        if patterns:
            alternatives = sorted(set(patterns), key=len, reverse=True)
            regex = re.compile(r"(?<!\w)(?:" + "|".join(_pattern(p) for p in alternatives) + r")(?!\w)",
                               re.IGNORECASE)
        return cls(letters, regex, lookup, tuple(p for p in phrases if p.strip()))

    def text(self, value: str) -> str:
        if not value:
            return value
        if self._names is not None:
            value = self._names.sub(lambda m: self._lookup.get(_key(m.group(0)), AMBIGUOUS), value)
        for phrase in self.phrases:
            value = re.sub(_pattern(phrase), REDACTED, value, flags=re.IGNORECASE)
        return value

    def entry(self, entry: ChronologyEntry) -> ChronologyEntry:
        """The entry as the pack shows it: names replaced in its text, and no list of who else was named."""
        return replace(entry, **{f: self.text(getattr(entry, f)) for f in TEXT_FIELDS}, others_named=())

    def counts(self, entries: list[ChronologyEntry]) -> dict[str, int]:
        """How many entries each free-text phrase changes, for the redaction log (the phrase itself is not logged)."""
        found = {}
        for phrase in self.phrases:
            rx = re.compile(_pattern(phrase), re.IGNORECASE)
            found[phrase] = sum(1 for e in entries if any(rx.search(getattr(e, f) or "") for f in TEXT_FIELDS))
        return found


_UNDECOMPOSED = str.maketrans({"Ł": "L", "ł": "l", "Ø": "O", "ø": "o", "Đ": "D", "đ": "d", "ı": "i"})


def plain(text: str) -> str:
    """The text without accents: Zoë -> Zoe, Łukasz -> Lukasz, Siân -> Sian."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_UNDECOMPOSED))
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _key(name: str) -> str:
    return " ".join(name.replace("\u2019", "'").replace("\u2018", "'").replace("`", "'").split()).casefold()
