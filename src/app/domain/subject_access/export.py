"""The subject access export as an A4 PDF, drawn as the case-conference pack is (fpdf2, DejaVu Sans when present,
"Page x of y", a header on every page), from an Export already redacted."""

from __future__ import annotations

import datetime as dt

from fpdf.enums import XPos, YPos

from app.domain.chronology.pack_export import PackMeta, PackPdf, dejavu, local
from app.domain.subject_access.service import Export


class _SarPdf(PackPdf):
    def header(self) -> None:
        m = self.meta
        self.set_font(self.face, "B", 11)
        self.cell(0, 5, self.clean(f"{m.school} · Subject access request"), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_font(self.face, "", 9)
        self.cell(0, 4.5, self.clean(f"Pupil: {m.pupil}{' · ' + m.pupil_line if m.pupil_line else ''}"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.cell(0, 4.5, self.clean(f"Produced by {m.produced_by} on {local(m.produced_at):%d/%m/%Y at %H:%M}"),
                  new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_draw_color(120, 120, 120)
        self.line(self.l_margin, self.get_y() + 1, self.w - self.r_margin, self.get_y() + 1)
        self.ln(4)


def pdf(found: Export, produced_by: str, produced_at: dt.datetime, school: str) -> bytes:
    req = found.request
    meta = PackMeta(school=school, pupil=found.pupil_name, pupil_line=f"Request {req.id}", produced_by=produced_by,
                    produced_at=produced_at, range_label="", significant_only=False, sources=(), other_pupils=0,
                    redaction_log=())
    doc = _SarPdf(meta, dejavu())
    doc.set_title("Subject access request")
    clean, face = doc.clean, doc.face
    doc.add_page()
    width = doc.w - doc.l_margin - doc.r_margin

    def para(text: str, size: float = 9, style: str = "", height: float = 4.3) -> None:
        doc.set_font(face, style, size)
        for line in doc.wrap(clean(text), width):
            doc.cell(width, height, line, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    para("Records held about the pupil", 13, "B", 6)
    para(f"Requested by {req.requester_name} ({req.requester_relationship}), received {req.received_on:%d/%m/%Y}, "
         f"due by {req.due_on:%d/%m/%Y}.")
    para("Other pupils named in these records appear as Pupil B, Pupil C and so on "
         f"({found.other_pupils} in this export). "
         + ("Staff names appear as Staff member 1, Staff member 2 and so on."
            if req.staff_names == "redact" else "Staff names are kept."), 8.5)
    doc.ln(2)
    para("Contents", 11, "B", 5)
    for section in found.sections:
        para(f"{section.title}: {len(section.items)}")
    para(f"Withheld: {len(found.withheld)}")
    doc.set_draw_color(200, 200, 200)
    for section in found.sections:
        doc.ln(3)
        if doc.get_y() > doc.h - 40:
            doc.add_page()
        para(section.title, 11, "B", 5)
        if not section.items:
            para("None held.")
        for item in section.items:
            if doc.get_y() > doc.h - 30:
                doc.add_page()
            para(item["heading"], 9, "B", 4.6)
            for label, value in item["lines"]:
                para(f"{label}: {value}")
            y = doc.get_y() + 1.2
            doc.line(doc.l_margin, y, doc.w - doc.r_margin, y)
            doc.ln(2.6)
    doc.ln(3)
    para("Withholding log", 11, "B", 5)
    for line in found.withheld or ["Nothing was withheld."]:
        para(line, 8.5)
    return bytes(doc.output())
