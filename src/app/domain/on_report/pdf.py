"""The one-page PDF of a report for a meeting with parents (fpdf2, as the case-conference pack is made).

One page by construction: page breaks are off and each part stops (saying how much it left out) before the footer.
"""

from __future__ import annotations

import datetime as dt
import logging
import unicodedata
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from app import clock

logging.getLogger("fontTools.subset").setLevel(logging.WARNING)  # no glyph lists (a pupil's name) in the log
logging.getLogger("fpdf.output").setLevel(logging.ERROR)
FONT_DIRS = ("/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF",
             "/usr/local/share/fonts")
BOTTOM = 278.0  # mm: below this only the footer is written


def _fonts() -> tuple[str, str] | None:
    for folder in FONT_DIRS:
        regular, bold = Path(folder, "DejaVuSans.ttf"), Path(folder, "DejaVuSans-Bold.ttf")
        if regular.is_file() and bold.is_file():
            return str(regular), str(bold)
    return None


def _latin1(text: str) -> str:
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(base if base and all(ord(c) < 256 for c in base) else "?")
    return "".join(out)


def one_page(page: dict[str, Any]) -> bytes:
    doc = FPDF(orientation="P", unit="mm", format="A4")
    fonts = _fonts()
    if fonts:
        doc.add_font("body", "", fonts[0])
        doc.add_font("body", "B", fonts[1])
        face, clean = "body", (lambda t: t)
    else:
        face, clean = "helvetica", _latin1
    doc.set_auto_page_break(False)
    doc.set_margins(15, 15, 15)
    doc.set_title("On report")
    doc.set_creator("Corridor")
    doc.add_page()
    report, pupil = page["report"], page["pupil"]

    def line(text: str, size: float = 9, style: str = "", height: float = 4.6) -> bool:
        if doc.get_y() + height > BOTTOM:
            return False
        doc.set_font(face, style, size)
        doc.multi_cell(0, height, clean(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        return True

    line(f"On report: {pupil['name']}", 15, "B", 7)
    line(f"Year {pupil['year_code']}{' · ' + pupil['form'] if pupil['form'] else ''} · {page['level']} · "
         f"{report['starts_on']:%d %b %Y} to {report['ends_on']:%d %b %Y}"
         f"{' · ended ' + format(report['ended_at'], '%d %b %Y') if report['ended_at'] else ''}")
    line(f"Report owner: {page['owner']} · Lessons covered: {', '.join(p['name'] for p in page['periods'])}")
    line("Scale: " + ", ".join(f"{i} {label}" for i, label in enumerate(page["labels"], 1)))
    doc.ln(2)
    line("Targets", 11, "B", 6)
    for i, t in enumerate(page["targets"], 1):
        avg = page["target_averages"].get(t["id"])
        line(f"{i}. {t['text'][:200]}" + (f"  (average {avg})" if avg is not None else "  (not rated yet)"), 9, "B")
        if t["pupil_words"]:
            line(f"   In {pupil['name'].split(' ')[0]}'s words: \"{t['pupil_words'][:300]}\"")
    doc.ln(2)
    line("Day by day (ratings given of those due; a missed rating is not a zero)", 11, "B", 6)
    trend = page["trend"]
    shown = trend[-24:]
    if len(trend) > len(shown):
        line(f"The {len(trend) - len(shown)} earliest days are in the CSV.")
    for d in shown:
        avg = f"average {d['average']}" if d["average"] is not None else "no ratings"
        if not line(f"{d['day']:%a %d %b}: {d['given']} of {d['due']} rated · {avg}"):
            break
    if page["changes"]:
        doc.ln(2)
        line("Changes", 11, "B", 6)
        for c in page["changes"]:
            what = {"escalated": "Escalated", "stepped_down": "Stepped down", "ended": "Ended"}.get(c["action"], "")
            if not line(f"{clock_local(c['at']):%d %b %Y}: {what} by {c['by.display_name']}: {c['reason'][:240]}"):
                break
    doc.set_y(285)
    doc.set_font(face, "", 7)
    doc.cell(0, 4, clean(f"Produced by Corridor on {clock_local(clock.now()):%d %b %Y %H:%M}. Confidential: "
                         "for the meeting with the pupil's family."), align="C")
    return bytes(doc.output())


def clock_local(at: dt.datetime) -> dt.datetime:
    return at.astimezone(ZoneInfo("Europe/London"))
