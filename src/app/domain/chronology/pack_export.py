"""The case-conference pack as files: an A4 PDF (fpdf2) and a CSV, from entries already redacted.

fpdf2 draws the PDF: pure Python (its own dependencies, fontTools and Pillow, are wheels on every platform), so
`make install` brings it on a fresh machine with nothing to compile; it is actively released, embeds and subsets
TrueType fonts, and numbers pages ("Page x of y") itself.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app.domain.chronology.entries import SOURCES, ChronologyEntry

LONDON = ZoneInfo("Europe/London")
# fontTools logs every glyph it keeps at INFO when fpdf2 subsets the font: noise in the server's log. fpdf2 warns
# with the characters the font lacks, which for a name in a script DejaVu does not cover is the name itself: no
# pupil data in logs.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)
logging.getLogger("fpdf.output").setLevel(logging.ERROR)
# DejaVu Sans covers every name a UK school's MIS holds (Polish, Irish, Welsh, Turkish, Greek, Cyrillic...).
# Debian's fonts-dejavu-core puts it here; without it the built-in Helvetica is used and text outside
# Latin-1 is transliterated (Ł -> L, curly quotes -> straight), never dropped silently nor a crash.
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/local/share/fonts", "/Library/Fonts")
CSV_HEADER = ["date", "time", "source", "event", "detail", "action", "outcome", "recorded_by", "significant"]
_ASCII_FOR = {"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201c": '"', "\u201d": '"', "\u201e": '"',
              "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u00a0": " ", "\u2022": "*", "\u0141": "L",
              "\u0142": "l", "\u0110": "D", "\u0111": "d", "\u00d8": "O", "\u00f8": "o", "\u0131": "i"}


@dataclass(frozen=True)
class PackMeta:
    school: str
    pupil: str  # the subject's name: the one pupil the pack names
    pupil_line: str  # year and form
    produced_by: str
    produced_at: dt.datetime
    range_label: str
    significant_only: bool
    sources: tuple[str, ...]  # the sources chosen, in SOURCES order
    other_pupils: int  # how many other pupils were replaced by letters
    redaction_log: tuple[str, ...]  # one line per redaction, without the redacted text


def local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(LONDON)


@lru_cache(maxsize=1)
def dejavu() -> tuple[str, str] | None:
    """Regular and bold DejaVu Sans, if the machine has them."""
    for folder in FONT_DIRS:
        regular, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            return str(regular), str(bold)
    return None


def latin1(text: str) -> str:
    """Text the built-in PDF fonts can draw: Latin-1 kept (Zoë, Siân), the rest transliterated or '?'."""
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        if ch in _ASCII_FOR:
            out.append(_ASCII_FOR[ch])
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


class PackPdf(FPDF):
    """The case pack's A4 layout (header, footer, fonts); the subject access export draws on it too."""

    def __init__(self, meta: PackMeta, fonts: tuple[str, str] | None) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.meta = meta
        self._widths: dict[tuple, dict[str, float]] = {}
        if fonts:
            self.add_font("body", "", fonts[0])
            self.add_font("body", "B", fonts[1])
            self.face = "body"
            self.clean = lambda text: text
        else:
            self.face = "helvetica"
            self.clean = latin1
        self.set_margins(15, 15, 15)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_title("Case-conference pack")
        self.set_creator("Corridor")

    def wrap(self, text: str, width: float) -> list[str]:
        """Lines that fit `width` in the current font, broken between words.

        fpdf2's multi_cell measures the whole line again for every character it adds, which made a 300-entry
        pack take 5 s; measuring each word once keeps it linear.
        """
        key = (self.font_family, self.font_style, self.font_size_pt)
        widths = self._widths.setdefault(key, {})

        def measure(word: str) -> float:
            found = widths.get(word)
            if found is None:
                found = widths[word] = self.get_string_width(word)
            return found

        space = measure(" ")
        lines: list[str] = []
        for raw in text.splitlines() or [""]:
            line, used = [], 0.0
            for word in raw.split():
                w = measure(word)
                while w > width:  # a word longer than the line (a URL): cut it where it fills the line
                    cut = max(1, int(len(word) * width / w))
                    if line:
                        lines.append(" ".join(line))
                        line, used = [], 0.0
                    lines.append(word[:cut])
                    word = word[cut:]
                    w = measure(word)
                if line and used + space + w > width:
                    lines.append(" ".join(line))
                    line, used = [], 0.0
                used += (space if line else 0.0) + w
                line.append(word)
            lines.append(" ".join(line))
        return lines

    def header(self) -> None:
        m = self.meta
        self.set_font(self.face, "B", 11)
        self.cell(0, 5, self.clean(f"{m.school} · Case-conference pack"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.face, "", 9)
        self.cell(0, 4.5, self.clean(f"Pupil: {m.pupil}{' · ' + m.pupil_line if m.pupil_line else ''}"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 4.5, self.clean(f"Produced by {m.produced_by} on "
                                     f"{local(m.produced_at):%d/%m/%Y at %H:%M} · OFFICIAL-SENSITIVE"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(120, 120, 120)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(4)

    def footer(self) -> None:
        self.set_y(-13)
        self.set_font(self.face, "", 8)
        self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="C")


def pdf(meta: PackMeta, entries: list[ChronologyEntry]) -> bytes:
    """The pack as an A4 PDF: header on every page, contents by source, the entries, the redaction log."""
    doc = PackPdf(meta, dejavu())
    clean, face = doc.clean, doc.face
    doc.add_page()
    width = doc.w - doc.l_margin - doc.r_margin

    def para(text: str, size: float = 9, style: str = "", height: float = 4.3) -> None:
        doc.set_font(face, style, size)
        for line in doc.wrap(clean(text), width):
            doc.cell(width, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    para("Chronology for the case conference", 13, "B", 6)
    para(f"Dates: {meta.range_label}. " + ("Significant entries only." if meta.significant_only
                                           else "All entries, significant ones marked."))
    doc.ln(2)
    para("Contents", 11, "B", 5)
    counts = {key: 0 for key in meta.sources}
    for e in entries:
        counts[e.source] = counts.get(e.source, 0) + 1
    doc.set_font(face, "", 9)
    for key, count in counts.items():
        label = SOURCES.get(key, key)
        doc.cell(width - 30, 4.6, clean(label))
        doc.cell(30, 4.6, f"{count} {'entry' if count == 1 else 'entries'}", align="R",
                 new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.set_font(face, "B", 9)
    doc.cell(width - 30, 4.6, "Total")
    doc.cell(30, 4.6, f"{len(entries)} {'entry' if len(entries) == 1 else 'entries'}", align="R",
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.ln(2)
    para("Other pupils named in the entries appear as Pupil B, Pupil C and so on"
         f" ({meta.other_pupils} in this pack); the redaction log is at the end.", 8.5)
    doc.ln(3)

    para("Entries, oldest first", 11, "B", 5)
    doc.set_draw_color(200, 200, 200)
    for e in entries:
        if doc.get_y() > doc.h - 40:
            doc.add_page()
        when = local(e.at)
        para(f"{when:%d/%m/%Y %H:%M} · {SOURCES.get(e.source, e.source)}"
             f"{' · SIGNIFICANT' if e.significant else ''}", 8.5, "B", 4.2)
        para(e.event, 9.5, "B", 4.6)
        if e.detail:
            para(e.detail)
        if e.action:
            para(f"Action: {e.action}")
        if e.outcome:
            para(f"Outcome: {e.outcome}")
        if e.recorded_by:
            para(f"Recorded by: {e.recorded_by}", 8)
        y = doc.get_y() + 1.2
        doc.line(doc.l_margin, y, doc.w - doc.r_margin, y)
        doc.ln(2.6)
    if not entries:
        para("No entries in this range.")

    doc.ln(3)
    para("Redaction log", 11, "B", 5)
    for line in meta.redaction_log or ("No redactions.",):
        para(line, 8.5)
    return bytes(doc.output())


def _cell(text: str) -> str:
    # A spreadsheet must not run a typed entry as a formula.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def csv_text(entries: list[ChronologyEntry]) -> str:
    """One row per entry, oldest first, UK local date and time."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for e in entries:
        when = local(e.at)
        writer.writerow([when.strftime("%Y-%m-%d"), when.strftime("%H:%M"), SOURCES.get(e.source, e.source),
                         _cell(e.event), _cell(e.detail), _cell(e.action), _cell(e.outcome), _cell(e.recorded_by),
                         "yes" if e.significant else "no"])
    return out.getvalue()
