"""Synthetic MIS exports for the import tests, made in code: never real pupil data."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile

from PIL import Image
from stdnum.gb import upn as upn_check

from app import clock
from app.domain.schools.service import Actor, roles_at
from app.domain.schools.tables import School


def upn(serial: int, la: str = "801", establishment: str = "4001", year: int = 14) -> str:
    """A valid permanent UPN (the check letter from python-stdnum)."""
    body = f"{la}{establishment}{year:02d}{serial:03d}"
    return upn_check.calc_check_digit(body) + body


def table(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return out.getvalue()


def zip_of(files: dict[str, str | bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode("utf-8") if isinstance(content, str) else content)
    return buffer.getvalue()


def photo(colour: tuple[int, int, int] = (120, 140, 160), size: tuple[int, int] = (300, 400), fmt: str = "PNG") -> bytes:
    img = Image.new("RGB", size, colour)
    buffer = io.BytesIO()
    img.save(buffer, fmt)
    return buffer.getvalue()


# A small synthetic school: two tutor groups, four pupils, their families, two staff.
GROUPS_HEADER = ["mis_id", "name", "year", "tutor_name"]
GROUPS = [["G7A", "7A", "7", "Mr Tutor"], ["G9B", "9B", "9", "Ms Form"]]
PUPILS_HEADER = ["mis_id", "upn", "legal_first_name", "legal_last_name", "preferred_first_name", "date_of_birth",
                 "year", "tutor_group_id", "sen_provision", "sen_need", "medical_alert", "attendance_percent"]


def pupil_rows() -> list[list]:
    return [
        ["P1", upn(1), "Amara", "Okonkwo", "", "2014-10-02", "7", "G7A", "N", "", "", "96.5"],
        ["P2", upn(2), "Siobhán", "O'Neill", "Shiv", "2014-11-20", "7", "G7A", "K", "SPLD", "", ""],
        ["P3", upn(3), "Tomasz", "Kowalski", "", "12/05/2012", "9", "G9B", "E", "ASD", "Asthma: inhaler in bag", ""],
        ["P4", upn(4), "Priya", "Shah", "", "2012-01-30", "9", "G9B", "", "", "", "88"],
    ]


CONTACTS_HEADER = ["mis_id", "pupil_id", "name", "relationship", "priority", "parental_responsibility", "no_contact",
                   "phone", "email"]


def contact_rows() -> list[list]:
    return [
        ["C1", "P1", "Ngozi Okonkwo", "Mother", "1", "yes", "no", "07700 900001", "ngozi@example.com"],
        ["C2", "P1", "Chidi Okonkwo", "Father", "2", "yes", "yes", "07700 900002", ""],
        ["C3", "P2", "Maeve O'Neill", "Grandmother", "1", "no", "", "07700 900003", ""],
        ["C4", "P3", "Anna Kowalska", "Mother", "", "yes", "", "07700 900004", ""],
        ["C5", "P3", "Piotr Kowalski", "Father", "", "yes", "", "07700 900005", ""],
    ]


STAFF_HEADER = ["email", "name"]
STAFF = [["new.teacher@northbridge.example", "Nia Teacher"], ["teacher@northbridge.example", "Tara Teacher"]]


def corridor_set(*, groups=None, pupils=None, contacts=None, staff=None, pupils_header=None, extra=None) -> bytes:
    files: dict[str, str | bytes] = {}
    if groups is not False:
        files["tutor_groups.csv"] = table(GROUPS_HEADER, GROUPS if groups is None else groups)
    if pupils is not False:
        files["pupils.csv"] = table(pupils_header or PUPILS_HEADER, pupil_rows() if pupils is None else pupils)
    if contacts is not False:
        files["contacts.csv"] = table(CONTACTS_HEADER, contact_rows() if contacts is None else contacts)
    if staff is not False:
        files["staff.csv"] = table(STAFF_HEADER, STAFF if staff is None else staff)
    files.update(extra or {})
    return zip_of(files)


# OneRoster 1.1 --------------------------------------------------------------------------------------------

ORGS_HEADER = ["sourcedId", "status", "dateLastModified", "name", "type", "identifier", "parentSourcedId"]
USERS_HEADER = ["sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role", "username",
                "userIds", "givenName", "familyName", "middleName", "identifier", "email", "sms", "phone",
                "agentSourcedIds", "grades", "password"]
CLASSES_HEADER = ["sourcedId", "status", "dateLastModified", "title", "grades", "courseSourcedId", "classCode",
                  "classType", "location", "schoolSourcedId", "termSourcedIds", "subjects", "subjectCodes", "periods"]
ENROLLMENTS_HEADER = ["sourcedId", "status", "dateLastModified", "classSourcedId", "schoolSourcedId",
                      "userSourcedId", "role", "primary", "beginDate", "endDate"]
DEMOGRAPHICS_HEADER = ["sourcedId", "status", "dateLastModified", "birthDate", "sex"]


def user(sid, role, given, family, *, org="ORG1", ident="", user_ids="", email="", phone="", agents="", grades="",
         status="", enabled="true") -> list:
    return [sid, status, "", enabled, org, role, sid.lower(), user_ids, given, family, "", ident, email, "", phone,
            agents, grades, ""]


def oneroster_users() -> list[list]:
    return [
        user("S1", "student", "Amara", "Okonkwo", ident=upn(1), agents="A1,A2", grades="07"),
        user("S2", "student", "Shiv", "O'Neill", user_ids=f"{{MIS:2002}},{{UPN:{upn(2)}}}", agents="A3", grades="07"),
        user("S3", "student", "Tomasz", "Kowalski", ident=upn(3), grades=""),  # year from the homeroom
        user("S9", "student", "Other", "School", org="ORG2", ident=upn(9, la="802"), grades="08"),
        user("A1", "parent", "Ngozi", "Okonkwo", phone="07700 900001", email="ngozi@example.com", agents="S1"),
        user("A2", "guardian", "Chidi", "Okonkwo", phone="07700 900002"),
        user("A3", "relative", "Maeve", "O'Neill", phone="07700 900003"),
        user("T1", "teacher", "Tess", "Tutor", email="tess.tutor@northbridge.example"),
        user("T2", "administrator", "Adam", "Office", email="Adam.Office@northbridge.example"),
    ]


def oneroster_zip(*, users=None, classes=None, enrollments=None, demographics=None, orgs=None, mode="bulk",
                  manifest=None, version="1.1", extra=None) -> bytes:
    files: dict[str, str | bytes] = {}
    props = {"manifest.version": "1.0", "oneroster.version": version, "file.academicSessions": "absent",
             "file.categories": "absent", "file.classes": mode, "file.classResources": "absent",
             "file.courses": "absent", "file.courseResources": "absent", "file.demographics": mode,
             "file.enrollments": mode, "file.lineItems": "absent", "file.orgs": mode, "file.resources": "absent",
             "file.results": "absent", "file.users": mode, "source.systemName": "Synthetic MIS",
             "source.systemCode": "test"}
    for key, given in (("orgs", orgs), ("users", users), ("classes", classes), ("enrollments", enrollments),
                       ("demographics", demographics)):
        if given is False:
            props[f"file.{key}"] = "absent"
    props.update(manifest or {})
    files["manifest.csv"] = table(["propertyName", "value"], [[k, v] for k, v in props.items()])
    if orgs is not False:
        files["orgs.csv"] = table(ORGS_HEADER, orgs if orgs is not None else [
            ["ORG0", "", "", "Northbridge Trust", "district", "", ""],
            ["ORG1", "", "", "Northbridge Academy", "school", "8014001", "ORG0"],
            ["ORG2", "", "", "Elsewhere High", "school", "8024002", "ORG0"]])
    if users is not False:
        files["users.csv"] = table(USERS_HEADER, oneroster_users() if users is None else users)
    if classes is not False:
        files["classes.csv"] = table(CLASSES_HEADER, classes if classes is not None else [
            ["K7A", "", "", "Form 7A", "07", "", "7A", "homeroom", "", "ORG1", "", "", "", ""],
            ["K9B", "", "", "Form 9B", "09", "", "9B", "homeroom", "", "ORG1", "", "", "", ""],
            ["MATHS", "", "", "Maths 7", "07", "", "7Ma1", "scheduled", "", "ORG1", "", "", "", ""]])
    if enrollments is not False:
        files["enrollments.csv"] = table(ENROLLMENTS_HEADER, enrollments if enrollments is not None else [
            ["E1", "", "", "K7A", "ORG1", "S1", "student", "", "", ""],
            ["E2", "", "", "K7A", "ORG1", "S2", "student", "", "", ""],
            ["E3", "", "", "K9B", "ORG1", "S3", "student", "", "", ""],
            ["E4", "", "", "MATHS", "ORG1", "S1", "student", "", "", ""],
            ["E5", "", "", "K7A", "ORG1", "T1", "teacher", "true", "", ""]])
    if demographics is not False:
        files["demographics.csv"] = table(DEMOGRAPHICS_HEADER, demographics if demographics is not None else [
            ["S1", "", "", "2014-10-02", "female"], ["S2", "", "", "2014-11-20", "female"],
            ["S3", "", "", "2012-05-12", "male"], ["S9", "", "", "2013-01-01", "male"]])
    files.update(extra or {})
    return zip_of(files)


async def actor_of(member, *, school_id: int | None = None) -> Actor:
    """The acting person as a request would carry them (services take the actor explicitly)."""
    school_id = school_id or member.school_id
    school = await School.select(School.name, School.trust).where(School.id == school_id).first()
    return Actor(person_id=member.id, display_name=member.name, email=member.email, session_id=0,
                 school_id=school_id, trust_id=school["trust"], school_name=school["name"],
                 roles=await roles_at(member.id, school_id), verified_at=clock.now())


def today() -> dt.date:
    return clock.now().date()
