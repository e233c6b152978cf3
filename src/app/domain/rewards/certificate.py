"""Milestone certificates as an A4 landscape PDF (fpdf2), one page per certificate, with DejaVu Sans embedded
where the machine has it (as the case-conference pack does), so every name a school's MIS holds prints."""

from __future__ import annotations

import datetime as dt

from fpdf import FPDF

from app.domain.chronology.pack_export import dejavu, latin1


def _academic_year(start_year: int) -> str:
    return f"{start_year}–{str(start_year + 1)[-2:]}"


def pdf(school: str, certificates: list[dict], printed_on: dt.date) -> bytes:
    """certificates: name, form, milestone, year (the academic year's first calendar year)."""
    doc = FPDF(orientation="L", unit="mm", format="A4")
    fonts = dejavu()
    if fonts:
        doc.add_font("body", "", fonts[0])
        doc.add_font("body", "B", fonts[1])
        face, clean = "body", (lambda text: text)
    else:
        face, clean = "helvetica", latin1
    doc.set_title("Reward certificates")
    doc.set_creator("Corridor")
    doc.set_auto_page_break(auto=False)
    width = doc.w - 40
    for c in certificates:
        doc.add_page()
        doc.set_draw_color(18, 53, 91)
        doc.set_line_width(1.2)
        doc.rect(10, 10, doc.w - 20, doc.h - 20)
        doc.set_line_width(0.4)
        doc.rect(14, 14, doc.w - 28, doc.h - 28)
        doc.set_text_color(18, 53, 91)
        doc.set_xy(20, 30)
        doc.set_font(face, "B", 20)
        doc.cell(width, 10, clean(school), align="C")
        doc.set_xy(20, 50)
        doc.set_font(face, "B", 34)
        doc.cell(width, 16, "Certificate of Achievement", align="C")
        doc.set_text_color(30, 30, 30)
        doc.set_xy(20, 78)
        doc.set_font(face, "", 16)
        doc.cell(width, 8, "This certificate is awarded to", align="C")
        doc.set_xy(20, 92)
        doc.set_font(face, "B", 32)
        doc.cell(width, 16, clean(c["name"]), align="C")
        if c["form"]:
            doc.set_xy(20, 110)
            doc.set_font(face, "", 14)
            doc.cell(width, 8, clean(f"Form {c['form']}"), align="C")
        doc.set_xy(20, 126)
        doc.set_font(face, "", 18)
        doc.cell(width, 10, clean(f"for reaching {c['milestone']} reward points in {_academic_year(c['year'])}"),
                 align="C")
        doc.set_font(face, "", 12)
        doc.set_xy(40, 168)
        doc.cell(90, 6, "Signed ______________________________")
        doc.set_xy(doc.w - 130, 168)
        doc.cell(90, 6, f"Date {printed_on:%-d %B %Y}", align="R")
    return bytes(doc.output())
