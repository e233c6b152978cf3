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
    """B, C, ... Z, AA, AB ...: the subject is pupil A, so the others start at B (as spreadsheet columns count)."""
    n, out = index + 2, ""
    while n:
        n, r = divmod(n - 1, 26)
        out = string.ascii_uppercase[r] + out
    return out


def _literal(text: str) -> str:
    """A regex for the text, any apostrophe matching any other."""
    return "".join(_APOSTROPHES if c in "'\u2019\u2018`" else re.escape(c) for c in text)


def _pattern(name: str) -> str:
    return r"\s+".join(_literal(p) for p in name.split())


_WORD = re.compile(r"\w+")
# What may stand between the words of one name in the text: spaces or a line break, a hyphen, an apostrophe.
_BETWEEN = re.compile(r"[\s\-'\u2019\u2018`]{1,3}")


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.casefold() for w in _WORD.findall(text))


def _parts(name: str) -> set[tuple[str, ...]]:
    """The parts of a name (Tom, O'Brien, Lee and Smith of Lee-Smith) as word sequences; one letter is no name."""
    return {w for part in re.split(r"[\s\-]+", name) if len("".join(w := _words(part))) >= 2}


@dataclass(frozen=True)
class Redactor:
    """Replaces other pupils' names (whole names, then first or last names alone) and the chosen phrases.

    Names are matched word by word (a dictionary of word sequences, longest first), not with one regular
    expression of every name: the bench school's busiest pupil names 2,578 others, and an alternation that size
    took over a second a pack."""

    letters: dict[int, str]  # other pupil id -> "Pupil B"
    _lookup: dict[tuple[str, ...], str]  # a name's casefolded words -> its replacement
    _longest: int
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
                written.setdefault(pupil_id, set()).add(name)
        for pupil_id, names in (aliases or {}).items():
            if pupil_id in written:
                written[pupil_id].update(n for n in names if n.strip())
        # Names are often typed without their accents (Zoe for Zoë, Lukasz for Łukasz): hide those too.
        for names in written.values():
            names.update({plain(n) for n in names})
        lookup: dict[tuple[str, ...], str] = {}
        for pupil_id, names in written.items():
            for name in names:
                if words := _words(name):
                    lookup[words] = letters[pupil_id]
        # Then each part alone, as staff often write only a first name. A part the subject shares (a sibling's
        # surname) stays, or the subject's own name would vanish; a part two others share gets no letter.
        subject_parts = _parts(subject_name) | _parts(plain(subject_name))
        owners: dict[tuple[str, ...], set[int]] = {}
        for pupil_id, names in written.items():
            for name in names:
                for part in _parts(name) - subject_parts:
                    owners.setdefault(part, set()).add(pupil_id)
        for part, ids in owners.items():
            if part not in lookup:
                lookup[part] = letters[next(iter(ids))] if len(ids) == 1 else AMBIGUOUS
        return cls(letters, lookup, max((len(k) for k in lookup), default=0),
                   tuple(p for p in phrases if p.strip()))

    def _names(self, value: str) -> str:
        words = list(_WORD.finditer(value))
        folded = [w.group(0).casefold() for w in words]
        out, done, i = [], 0, 0
        while i < len(words):
            for n in range(min(self._longest, len(words) - i), 0, -1):
                found = self._lookup.get(tuple(folded[i:i + n]))
                if found and all(_BETWEEN.fullmatch(value[words[j].end():words[j + 1].start()])
                                 for j in range(i, i + n - 1)):
                    out += [value[done:words[i].start()], found]
                    done = words[i + n - 1].end()
                    i += n
                    break
            else:
                i += 1
        out.append(value[done:])
        return "".join(out)

    def text(self, value: str) -> str:
        if not value:
            return value
        if self._lookup:
            value = self._names(value)
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
