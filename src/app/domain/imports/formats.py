"""Reading what a MIS exports (a Corridor CSV set, or a 1EdTech OneRoster 1.1 CSV zip) into plain records.

Nothing here touches the database: service.py compares the records with what Corridor holds. A problem
with the upload as a whole is fatal (nothing is applied); a problem with one row is an error (that row is
skipped and the rest applies). docs/import.md documents every file and column read here.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import PurePosixPath
from typing import Any

from stdnum.exceptions import InvalidChecksum, InvalidComponent, InvalidLength, ValidationError
from stdnum.gb import upn as upn_check

from app import clock


def _reference(name: str) -> list[dict[str, str]]:
    with resources.files("app").joinpath("reference").joinpath(name).open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


YEAR_CODES = {r["code"]: r["meaning"] for r in _reference("year_groups.csv")}
SEN_PROVISION = {r["code"]: r["meaning"] for r in _reference("sen.csv") if r["kind"] == "provision"}
SEN_NEEDS = {r["code"]: r["meaning"] for r in _reference("sen.csv") if r["kind"] == "need"}

# The uploaded files are read in memory: these bound what a hostile or broken zip can make us hold.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 20_000
PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}

# Longest values the tables hold.
MAX_LENGTH = {
    "legal_first_name": 100, "legal_last_name": 100, "preferred_first_name": 100, "preferred_last_name": 100,
    "family_key": 40, "medical_alert": 300, "house": 60, "keyworker": 200, "name": 200, "relationship": 40,
    "phone": 40, "email": 254, "tutor_name": 200, "group_name": 40, "mis_id": 64, "display_name": 200,
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        return f"{self.file}{f' line {self.line}' if self.line else ''}: {self.reason}"


class Malformed(Exception):
    """The upload as a whole cannot be used: nothing of it is applied."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


class Bad(Exception):
    """One value of one row cannot be used: the row is skipped."""


@dataclass
class GroupRecord:
    mis_id: str
    file: str
    line: int
    fields: dict[str, Any]  # name, year_code, tutor_name: only those the file gives


@dataclass
class PupilRecord:
    mis_id: str
    file: str
    line: int
    fields: dict[str, Any]  # Pupil columns the file gives; "tutor_group" holds a tutor group's MIS id
    on_roll: bool = True  # a row of the pupil list itself (not just a date of birth or an enrolment)
    # Classes an enrolment names that this file does not describe: the one Corridor keeps as a tutor group
    # (if exactly one) becomes the pupil's tutor group.
    group_candidates: list[str] = field(default_factory=list)


@dataclass
class ContactRecord:
    mis_id: str
    pupil_mis_id: str
    file: str
    line: int
    fields: dict[str, Any]
    soft: bool = False  # linked from the contact's side: a pupil Corridor does not have is not an error


@dataclass
class StaffRecord:
    email: str
    name: str
    file: str
    line: int


@dataclass
class Dataset:
    format: str  # "corridor" or "oneroster"
    groups: list[GroupRecord] = field(default_factory=list)
    pupils: list[PupilRecord] = field(default_factory=list)
    contacts: list[ContactRecord] = field(default_factory=list)
    staff: list[StaffRecord] = field(default_factory=list)
    pupils_bulk: bool = False  # the set lists every pupil on roll: those not in it are marked as left
    on_roll: set[str] = field(default_factory=set)  # every pupil MIS id named, bad rows too: never marked left
    fatal: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    org: str = ""  # OneRoster: the sourcedId of the org whose rows these are
    org_from_users: bool = False  # OneRoster without orgs.csv: the org is the one all users belong to
    other_org_users: int = 0  # OneRoster: users of other orgs, not taken


@dataclass(frozen=True)
class SchoolKeys:
    """What identifies the school in a OneRoster orgs.csv."""

    name: str
    urn: str
    la_code: str
    establishment_number: str
    sourced_id: str = ""  # the org sourcedId an earlier OneRoster import matched this school to


@dataclass(frozen=True)
class SchoolOrg:
    """A school org of a OneRoster orgs.csv."""

    sourced_id: str
    name: str
    code: str  # its identifier as a URN (6 digits) or LAESTAB (7 digits); empty when it is neither
    line: int


# Values -----------------------------------------------------------------------------------------------

def clean_upn(value: str) -> str:
    upn = re.sub(r"\s+", "", value).upper()
    try:
        return upn_check.validate(upn)
    except InvalidChecksum:
        raise Bad(f"UPN {upn}: the check letter is wrong") from None
    except InvalidComponent:
        raise Bad(f"UPN {upn}: {upn[1:4]} is not a local-authority number") from None
    except InvalidLength:
        raise Bad(f"UPN {upn}: a UPN has 13 characters") from None
    except ValidationError:
        raise Bad(f"UPN {upn}: not a UPN (a check letter, 11 digits, then a digit or a letter)") from None


def clean_year(value: str) -> str:
    code = re.sub(r"^(YEAR|YR|Y)\s*(?=\d)", "", value.strip().upper())
    if code.isdigit():
        code = str(int(code))  # OneRoster grades are two digits: "07"
    if code not in YEAR_CODES:
        raise Bad(f"unknown year code {value.strip()!r} (use N1, N2, R, 1 to 14, E1, E2 or X)")
    return code


def clean_date(value: str, what: str = "date of birth") -> dt.date:
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            day = dt.datetime.strptime(text, fmt).date()
            break
        except ValueError:
            continue
    else:
        raise Bad(f"{what} {text!r} is not a date (use YYYY-MM-DD or DD/MM/YYYY)")
    if day > clock.now().date() or day.year < 1950:
        raise Bad(f"{what} {text} cannot be right")
    return day


def clean_sen_provision(value: str) -> str:
    code = value.strip().upper() or "N"
    if code not in SEN_PROVISION:
        raise Bad(f"unknown SEN provision code {value.strip()!r} (use E, K or N)")
    return code


def clean_sen_need(value: str) -> str:
    code = value.strip().upper()
    if code and code not in SEN_NEEDS:
        raise Bad(f"unknown SEN need code {value.strip()!r}")
    return code


def clean_percent(value: str) -> float | None:
    text = value.strip().rstrip("%").strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        raise Bad(f"attendance {value.strip()!r} is not a number") from None
    if not 0 <= number <= 100:
        raise Bad(f"attendance {value.strip()} is not between 0 and 100")
    return round(number, 1)


YES, NO = {"yes", "y", "true", "1"}, {"no", "n", "false", "0"}


def clean_bool(value: str, column: str, default: bool) -> bool:
    text = value.strip().lower()
    if not text:
        return default
    if text in YES:
        return True
    if text in NO:
        return False
    raise Bad(f"{column} {value.strip()!r} should be yes or no")


def clean_text(value: str, column: str, key: str | None = None) -> str:
    text = " ".join(value.split()) if "\n" not in value else value.strip()
    limit = MAX_LENGTH.get(key or column)
    if limit and len(text) > limit:
        raise Bad(f"{column} is longer than {limit} characters")
    return text


# Files ------------------------------------------------------------------------------------------------

def _ignored_member(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return bool(parts) and (parts[0] == "__MACOSX" or parts[-1].startswith(".") or parts[-1].lower() == "thumbs.db")


def open_zip(name: str, data: bytes) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The zip's files, refused before anything is unpacked if it is too big, too many, or unsafely named."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        raise Malformed(Problem(name, None, "This is not a zip file Corridor can read.")) from None
    if len(infos) > MAX_MEMBERS:
        raise Malformed(Problem(name, None, f"The zip holds more than {MAX_MEMBERS:,} files."))
    # Sizes come from the zip's directory; unpacking never yields more than a member declares (its CRC
    # would fail), so this bounds the memory a zip bomb can take.
    if sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise Malformed(Problem(name, None, f"Unpacked, the zip would be larger than "
                                            f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB."))
    members = []
    for info in infos:
        path = info.filename.replace("\\", "/")
        if path.startswith("/") or ".." in PurePosixPath(path).parts or re.match(r"^[A-Za-z]:", path) \
                or "\x00" in path:
            raise Malformed(Problem(name, None, f"The zip holds a file with an unsafe name: {info.filename!r}."))
        if info.is_dir() or _ignored_member(path):
            continue
        if info.flag_bits & 0x1:
            raise Malformed(Problem(name, None, "The zip is password-protected. Export it without a password."))
        members.append(info)
    return archive, members


def read_member(name: str, archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        return archive.read(info)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        raise Malformed(Problem(name, None, f"{info.filename} in the zip is damaged.")) from None


def _decode(name: str, raw: bytes) -> str:
    if b"\x00" in raw:
        raise Malformed(Problem(name, None, "This is not a CSV file (it holds binary data)."))
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Excel's plain "CSV" is Windows-1252; "CSV UTF-8" is what docs/import.md asks for.
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            raise Malformed(Problem(name, None, "This CSV file is not UTF-8 text.")) from None


def read_files(name: str, data: bytes) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """An upload's CSV files as {lower-case file name: (file name, text)}, and the names of files ignored."""
    if not data:
        raise Malformed(Problem(name or "upload", None, "The file is empty."))
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        archive, members = open_zip(name, data)
        files: dict[str, tuple[str, str]] = {}
        ignored = []
        for info in members:
            base = PurePosixPath(info.filename.replace("\\", "/")).name
            if not base.lower().endswith(".csv"):
                ignored.append(base)
                continue
            if base.lower() in files:
                raise Malformed(Problem(name, None, f"The zip holds two files called {base}."))
            files[base.lower()] = (base, _decode(base, read_member(name, archive, info)))
        return files, ignored
    base = PurePosixPath((name or "upload.csv").replace("\\", "/")).name
    # One file is recognised by its header row (read_export), so its name does not matter: "export (3).csv"
    # or "data.txt". Only something that is not text at all is refused here.
    try:
        text = _decode(base, data)
    except Malformed:
        if base.lower().endswith(".csv"):
            raise
        raise Malformed(Problem(base, None, "Upload a zip of CSV files, or one CSV file.")) from None
    return {base.lower(): (base, text)}, []


@dataclass
class Row:
    line: int
    values: dict[str, str]
    error: str = ""  # the row's shape is wrong: none of its values can be trusted, but its id still counts


@dataclass
class CsvFile:
    name: str
    columns: list[str]
    rows: list[Row]


def read_csv(name: str, text: str, required: list[str], known: list[str] | None, notes: list[str]) -> CsvFile:
    """Rows with their line numbers; a missing required column or unreadable CSV makes the upload malformed."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except StopIteration:
        raise Malformed(Problem(name, 1, "The file is empty: it needs a header row naming its columns.")) from None
    except csv.Error as exc:
        raise Malformed(Problem(name, 1, f"This is not a CSV file Corridor can read ({exc}).")) from None
    columns = [h.strip().lstrip("\ufeff").lower() for h in header]
    lower = [c.lower() for c in required]
    missing = [c for c, low in zip(required, lower) if low not in columns]
    if missing:
        raise Malformed(Problem(name, 1, f"Missing required column{'s' if len(missing) > 1 else ''}: "
                                         f"{', '.join(missing)}."))
    repeated = sorted({c for c in columns if c and columns.count(c) > 1})
    if repeated:
        raise Malformed(Problem(name, 1, f"The column {repeated[0]} appears twice."))
    if known is not None:
        unknown = [h.strip() for h, c in zip(header, columns) if c and c not in {k.lower() for k in known}]
        if unknown:
            notes.append(f"{name}: columns Corridor does not use were ignored: {', '.join(unknown)}.")
    rows: list[Row] = []
    line = reader.line_num
    try:
        for values in reader:
            start, line = line + 1, reader.line_num
            if not any(v.strip() for v in values):
                continue
            error = ""
            if len(values) > len(columns) and any(v.strip() for v in values[len(columns):]):
                error = f"this row has {len(values)} values but the header names {len(columns)} columns"
            # Spreadsheets drop empty trailing cells: a short row has blanks at its end.
            padded = values + [""] * (len(columns) - len(values))
            rows.append(Row(start, {c: v for c, v in zip(columns, padded) if c}, error))
    except csv.Error as exc:
        raise Malformed(Problem(name, reader.line_num, f"The file cannot be read as CSV from here ({exc}).")) from None
    return CsvFile(name, columns, rows)


def _duplicates(keys: list[tuple[Any, int]]) -> dict[Any, list[int]]:
    lines: dict[Any, list[int]] = defaultdict(list)
    for key, line in keys:
        if key:
            lines[key].append(line)
    return {key: found for key, found in lines.items() if len(found) > 1}


def _lines(found: list[int]) -> str:
    return ", ".join(str(n) for n in found)


# The MIS's safeguarding statuses, yes or no (empty: no): child protection plan, child in need, looked after.
# Pupil columns of the same names; in OneRoster, users.csv's metadata.<name> extension columns.
MIS_FLAGS = ["child_protection", "child_in_need", "looked_after"]


def mis_flags(values: dict[str, str], columns: list[str], prefix: str = "") -> dict[str, bool]:
    """The statuses a row gives: only the columns the file has (a file without them changes nothing)."""
    return {flag: clean_bool(values[prefix + flag], prefix + flag, False)
            for flag in MIS_FLAGS if prefix + flag in columns}


# The Corridor CSV set --------------------------------------------------------------------------------

CORRIDOR_FILES: dict[str, tuple[list[str], list[str]]] = {  # file: (required columns, optional columns)
    "tutor_groups.csv": (["mis_id", "name", "year"], ["tutor_name"]),
    "pupils.csv": (["mis_id", "upn", "legal_first_name", "legal_last_name", "date_of_birth", "year"],
                   ["preferred_first_name", "preferred_last_name", "tutor_group_id", "family_id", "sen_provision",
                    "sen_need", "medical_alert", "medical_action", "allergies", "house", "keyworker",
                    "attendance_percent", *MIS_FLAGS]),
    "contacts.csv": (["mis_id", "pupil_id", "name", "relationship"],
                     ["priority", "parental_responsibility", "no_contact", "phone", "email"]),
    "staff.csv": (["email", "name"], []),
}
_PUPIL_TEXT = {"legal_first_name": "legal_first_name", "legal_last_name": "legal_last_name",
               "preferred_first_name": "preferred_first_name", "preferred_last_name": "preferred_last_name",
               "family_id": "family_key", "medical_alert": "medical_alert", "medical_action": "medical_action",
               "allergies": "allergies", "house": "house", "keyworker": "keyworker"}
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _required_value(values: dict[str, str], columns: list[str]) -> None:
    empty = [c for c in columns if not values.get(c, "").strip()]
    if empty:
        raise Bad(f"no value in required column{'s' if len(empty) > 1 else ''} {', '.join(empty)}")


def parse_corridor(files: dict[str, tuple[str, str]], *, bulk: bool) -> Dataset:
    """A Corridor CSV set: any of tutor_groups.csv, pupils.csv, contacts.csv and staff.csv."""
    data = Dataset(format="corridor")
    for key, (name, _) in files.items():
        if key not in CORRIDOR_FILES:
            data.notes.append(f"{name} is not part of a Corridor CSV set and was ignored.")
    if not set(files) & set(CORRIDOR_FILES):
        raise Malformed(Problem("upload", None, "No Corridor CSV files found: expected pupils.csv, tutor_groups.csv, "
                                                "contacts.csv or staff.csv (or a OneRoster manifest.csv)."))
    tables = {}
    for key, (required, optional) in CORRIDOR_FILES.items():
        if key in files:
            name, text = files[key]
            tables[key] = read_csv(name, text, required, required + optional, data.notes)
            data.files.append(name)

    if table := tables.get("tutor_groups.csv"):
        dups = _duplicates([(r.values.get("mis_id", "").strip(), r.line) for r in table.rows])
        for row in table.rows:
            mis_id = row.values["mis_id"].strip()
            try:
                if row.error:
                    raise Bad(row.error)
                if mis_id in dups:
                    raise Bad(f"duplicate id {mis_id} (lines {_lines(dups[mis_id])})")
                _required_value(row.values, ["mis_id", "name", "year"])
                fields = {"name": clean_text(row.values["name"], "name", "group_name"),
                          "year_code": clean_year(row.values["year"])}
                if "tutor_name" in table.columns:
                    fields["tutor_name"] = clean_text(row.values["tutor_name"], "tutor_name")
                data.groups.append(GroupRecord(clean_text(mis_id, "mis_id"), table.name, row.line, fields))
            except Bad as exc:
                data.errors.append(Problem(table.name, row.line, str(exc)))

    if table := tables.get("pupils.csv"):
        data.pupils_bulk = bulk
        dups = _duplicates([(r.values.get("mis_id", "").strip(), r.line) for r in table.rows])
        upns: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for row in table.rows:
            upns[re.sub(r"\s+", "", row.values.get("upn", "")).upper()].append((row.values["mis_id"].strip(), row.line))
        upn_dups = {u: [n for _, n in seen] for u, seen in upns.items()
                    if u and len({m for m, _ in seen}) > 1}
        for row in table.rows:
            mis_id = row.values["mis_id"].strip()
            if mis_id:
                data.on_roll.add(mis_id)
            try:
                if row.error:
                    raise Bad(row.error)
                if mis_id in dups:
                    raise Bad(f"duplicate id {mis_id} (lines {_lines(dups[mis_id])})")
                _required_value(row.values, CORRIDOR_FILES["pupils.csv"][0])
                upn = clean_upn(row.values["upn"])
                if upn in upn_dups:
                    raise Bad(f"duplicate UPN {upn} (lines {_lines(upn_dups[upn])})")
                fields: dict[str, Any] = {"upn": upn, "date_of_birth": clean_date(row.values["date_of_birth"]),
                                          "year_code": clean_year(row.values["year"])}
                for column, key in _PUPIL_TEXT.items():
                    if column in table.columns:
                        fields[key] = clean_text(row.values[column], column, key)
                if "tutor_group_id" in table.columns:
                    fields["tutor_group"] = row.values["tutor_group_id"].strip()
                if "sen_provision" in table.columns:
                    fields["sen_provision"] = clean_sen_provision(row.values["sen_provision"])
                if "sen_need" in table.columns:
                    fields["sen_need"] = clean_sen_need(row.values["sen_need"])
                    if fields["sen_need"] == "NSA" and fields.get("sen_provision", "K") != "K":
                        raise Bad("SEN need NSA goes only with SEN provision K")
                if "attendance_percent" in table.columns:
                    fields["attendance_percent"] = clean_percent(row.values["attendance_percent"])
                fields.update(mis_flags(row.values, table.columns))
                data.pupils.append(PupilRecord(clean_text(mis_id, "mis_id"), table.name, row.line, fields))
            except Bad as exc:
                data.errors.append(Problem(table.name, row.line, str(exc)))

    if table := tables.get("contacts.csv"):
        dups = _duplicates([((r.values["mis_id"].strip(), r.values["pupil_id"].strip()), r.line) for r in table.rows
                            if r.values["mis_id"].strip() and r.values["pupil_id"].strip()])
        position: dict[str, int] = defaultdict(int)
        for row in table.rows:
            mis_id, pupil_id = row.values["mis_id"].strip(), row.values["pupil_id"].strip()
            try:
                if row.error:
                    raise Bad(row.error)
                if (mis_id, pupil_id) in dups:
                    raise Bad(f"duplicate id {mis_id} for pupil {pupil_id} (lines {_lines(dups[(mis_id, pupil_id)])})")
                _required_value(row.values, ["mis_id", "pupil_id", "name", "relationship"])
                position[pupil_id] += 1
                priority = row.values.get("priority", "").strip()
                if priority and not (priority.isdigit() and 1 <= int(priority) <= 99):
                    raise Bad(f"priority {priority!r} should be a whole number from 1 (called first)")
                fields = {
                    "name": clean_text(row.values["name"], "name"),
                    "relationship": clean_text(row.values["relationship"], "relationship"),
                    "priority": int(priority) if priority else position[pupil_id],
                    # Never assumed: parental responsibility is only what the MIS says it is.
                    "parental_responsibility": clean_bool(row.values.get("parental_responsibility", ""),
                                                          "parental_responsibility", False),
                    "no_contact": clean_bool(row.values.get("no_contact", ""), "no_contact", False),
                }
                for column in ("phone", "email"):
                    if column in table.columns:
                        fields[column] = clean_text(row.values[column], column)
                data.contacts.append(ContactRecord(clean_text(mis_id, "mis_id"), pupil_id, table.name, row.line,
                                                   fields))
            except Bad as exc:
                data.errors.append(Problem(table.name, row.line, str(exc)))

    if table := tables.get("staff.csv"):
        data.staff.extend(_staff_rows(table, data.errors))
    return data


def _staff_rows(table: CsvFile, errors: list[Problem]) -> list[StaffRecord]:
    dups = _duplicates([(r.values["email"].strip().lower(), r.line) for r in table.rows])
    out = []
    for row in table.rows:
        email = row.values["email"].strip().lower()
        try:
            if row.error:
                raise Bad(row.error)
            if email in dups:
                raise Bad(f"duplicate email {email} (lines {_lines(dups[email])})")
            _required_value(row.values, ["email", "name"])
            if not EMAIL_RE.match(email) or len(email) > 254:
                raise Bad(f"{email!r} is not an email address")
            out.append(StaffRecord(email, clean_text(row.values["name"], "name", "display_name"), table.name, row.line))
        except Bad as exc:
            errors.append(Problem(table.name, row.line, str(exc)))
    return out


# OneRoster 1.1 CSV ---------------------------------------------------------------------------------

ONEROSTER_FILES: dict[str, tuple[list[str], list[str]]] = {  # file: (required columns, columns read)
    "orgs.csv": (["sourcedId", "name", "type"], ["identifier", "status"]),
    "users.csv": (["sourcedId", "orgSourcedIds", "role", "givenName", "familyName"],
                  ["status", "enabledUser", "identifier", "userIds", "email", "phone", "sms", "agentSourcedIds",
                   "grades", "preferredFirstName", "preferredLastName"]),
    "classes.csv": (["sourcedId", "title", "classType", "schoolSourcedId"], ["status", "classCode", "grades"]),
    "enrollments.csv": (["sourcedId", "classSourcedId", "userSourcedId", "role"], ["status", "primary"]),
    "demographics.csv": (["sourcedId", "birthDate"], ["status"]),
}
STAFF_ROLES = {"teacher", "administrator", "aide", "proctor"}
CONTACT_ROLES = {"parent": ("Parent", True), "guardian": ("Guardian", True), "relative": ("Relative", False)}


def _ids(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _user_upn(values: dict[str, str]) -> str:
    """The UPN: a `{UPN:...}` entry in userIds if there is one, else the identifier."""
    for match in re.finditer(r"\{\s*([^:{}]+?)\s*:\s*([^{}]*?)\s*\}", values.get("userids", "")):
        if match.group(1).strip().upper() == "UPN":
            return match.group(2)
    return values.get("identifier", "")


def _manifest(files: dict[str, tuple[str, str]], notes: list[str]) -> dict[str, str]:
    name, text = files["manifest.csv"]
    table = read_csv(name, text, ["propertyName", "value"], None, notes)
    props = {row.values["propertyname"].strip(): row.values["value"].strip() for row in table.rows}
    version = props.get("oneroster.version", "")
    if version != "1.1":
        raise Malformed(Problem(name, None, f"This manifest is for OneRoster {version or '(no version)'}; "
                                            "Corridor reads OneRoster 1.1 CSV."))
    for key, value in props.items():
        if key.startswith("file.") and value.lower() not in ("absent", "bulk", "delta"):
            raise Malformed(Problem(name, None, f"{key} is {value!r}: it should be absent, bulk or delta."))
    return {key.removeprefix("file.").lower(): value.lower() for key, value in props.items() if key.startswith("file.")}


def org_code(identifier: str) -> str:
    """An org identifier as a URN (6 digits) or LAESTAB (7 digits, also written 801/4001); else empty."""
    code = re.sub(r"[\s/-]", "", identifier or "")
    return code if code.isdigit() and len(code) in (6, 7) else ""


def users_org(users: CsvFile | None, manifest_name: str) -> str:
    """Without orgs.csv (a delta often leaves it out), the one org every user belongs to."""
    found = {org for row in (users.rows if users else []) for org in _ids(row.values.get("orgsourcedids", ""))}
    if len(found) > 1:
        raise Malformed(Problem(manifest_name, None, "The users belong to several orgs and orgs.csv is absent, "
                                                     "so Corridor cannot tell which is this school."))
    return next(iter(found), "")


def _school_org(orgs: CsvFile | None, users: CsvFile | None, school: SchoolKeys, manifest_name: str) -> str:
    if orgs is None:
        return users_org(users, manifest_name)
    schools = [row for row in orgs.rows if row.values["type"].strip().lower() == "school"
               and row.values.get("status", "").strip().lower() != "tobedeleted"]
    dfe = f"{school.la_code}{school.establishment_number}"
    wanted = {k for k in (school.urn, dfe) if k}
    remembered = [row for row in schools if school.sourced_id and row.values["sourcedid"].strip() == school.sourced_id]
    if len(schools) == 1:
        # Another school's export would add its pupils here and, in bulk, mark every pupil here as left. An org
        # an earlier import matched to this school is this school, whatever its identifier says now.
        code = org_code(schools[0].values.get("identifier", ""))
        if code and code not in wanted and not remembered:
            raise Malformed(Problem(orgs.name, None, f"This export is for another school: its identifier {code} is not "
                                                     f"{school.name}'s URN or DfE number ({dfe})."))
        return schools[0].values["sourcedid"].strip()
    matches = [row for row in schools if org_code(row.values.get("identifier", "")) in wanted]
    if not matches:
        matches = remembered
    if not matches:
        matches = [row for row in schools if not org_code(row.values.get("identifier", ""))
                   and " ".join(row.values["name"].split()).casefold() == school.name.casefold()]
    if len(matches) == 1:
        return matches[0].values["sourcedid"].strip()
    raise Malformed(Problem(orgs.name, None, f"orgs.csv lists {len(schools)} schools and none of them is clearly "
                                             f"{school.name} (Corridor looks for its URN, its DfE number {dfe} "
                                             "as the identifier, or its name)."))


@dataclass
class OneRoster:
    """A OneRoster zip's manifest and the files Corridor reads, read once for every org taken from it."""

    manifest_name: str
    tables: dict[str, CsvFile]
    delta: dict[str, bool]  # by file name: the manifest says delta
    files: list[str]
    notes: list[str]


def read_oneroster(files: dict[str, tuple[str, str]]) -> OneRoster:
    """The manifest and the files it names; raises Malformed when they cannot be used."""
    data = Dataset(format="oneroster")  # collects the notes and file names
    manifest_name = files["manifest.csv"][0]
    modes = _manifest(files, data.notes)
    data.files.append(manifest_name)
    tables: dict[str, CsvFile] = {}
    for key, (required, _) in ONEROSTER_FILES.items():
        stem = key.removesuffix(".csv").lower()
        mode = modes.get(stem, "absent")
        if mode == "absent":
            if key in files:
                data.notes.append(f"{files[key][0]} is marked absent in the manifest and was ignored.")
            continue
        if key not in files:
            raise Malformed(Problem(manifest_name, None, f"The manifest says file.{stem} is {mode}, "
                                                         f"but the zip has no {key}."))
        name, text = files[key]
        tables[key] = read_csv(name, text, required, None, data.notes)
        data.files.append(name)
    unused = sorted(k for k, v in modes.items() if v != "absent" and f"{k}.csv" not in ONEROSTER_FILES)
    if unused:
        data.notes.append(f"Corridor does not use these OneRoster files, so they were ignored: "
                          f"{', '.join(u + '.csv' for u in unused)}.")
    if "users.csv" not in tables:
        raise Malformed(Problem(manifest_name, None, "The manifest marks users as absent: there is nothing to import."))
    delta = {key: modes.get(key.removesuffix(".csv"), "absent") == "delta" for key in ONEROSTER_FILES}
    return OneRoster(manifest_name, tables, delta, data.files, data.notes)


def school_orgs(source: OneRoster) -> list[SchoolOrg] | None:
    """The school orgs of orgs.csv (not those marked tobedeleted); None when the zip has no orgs.csv."""
    orgs = source.tables.get("orgs.csv")
    if orgs is None:
        return None
    return [SchoolOrg(row.values["sourcedid"].strip(), " ".join(row.values["name"].split()),
                      org_code(row.values.get("identifier", "")), row.line)
            for row in orgs.rows if row.values["type"].strip().lower() == "school"
            and row.values.get("status", "").strip().lower() != "tobedeleted" and row.values["sourcedid"].strip()]


def oneroster_dataset(source: OneRoster, org: str) -> Dataset:
    """One org's records of a OneRoster 1.1 CSV zip: pupils from users and demographics, tutor groups from
    homeroom classes, contacts from parents and guardians, staff from teachers and administrators."""
    data = Dataset(format="oneroster", files=list(source.files), org=org)
    tables, delta = source.tables, source.delta
    users = tables["users.csv"]
    data.pupils_bulk = not delta["users.csv"]
    deleted = 0

    def active(row: Row) -> bool:
        nonlocal deleted
        if row.values.get("status", "").strip().lower() == "tobedeleted":
            deleted += 1
            return False
        return True

    # Classes: homerooms are Corridor's tutor groups; scheduled classes are not kept.
    homerooms: dict[str, dict[str, Any]] = {}
    not_kept: set[str] = set()
    if classes := tables.get("classes.csv"):
        dups = _duplicates([(r.values["sourcedid"].strip(), r.line) for r in classes.rows])
        for row in classes.rows:
            sid = row.values["sourcedid"].strip()
            if not active(row):
                continue
            if row.values["schoolsourcedid"].strip() != org or row.values["classtype"].strip().lower() != "homeroom":
                not_kept.add(sid)
                continue
            try:
                if row.error:
                    raise Bad(row.error)
                if sid in dups:
                    raise Bad(f"duplicate id {sid} (lines {_lines(dups[sid])})")
                _required_value(row.values, ["sourcedid", "title"])
                grades = _ids(row.values.get("grades", ""))
                name = row.values.get("classcode", "").strip() or row.values["title"]
                fields: dict[str, Any] = {"name": clean_text(name, "title", "group_name")}
                if grades:
                    fields["year_code"] = clean_year(grades[0])
                record = GroupRecord(clean_text(sid, "sourcedId", "mis_id"), classes.name, row.line, fields)
                homerooms[sid] = {"record": record}
            except Bad as exc:
                data.errors.append(Problem(classes.name, row.line, str(exc)))
        if not_kept:
            data.notes.append(f"{len(not_kept)} classes that are not homerooms (or belong to another school) "
                              "were ignored: Corridor keeps tutor groups only.")

    # Users: students, their parents and guardians, and staff.
    dups = _duplicates([(r.values["sourcedid"].strip(), r.line) for r in users.rows])
    students: dict[str, PupilRecord] = {}
    agents: dict[str, tuple[int, dict[str, Any]]] = {}  # contact sourcedId -> (line, fields)
    agent_links: list[tuple[str, str, int | None, int]] = []  # (contact, student, priority, line)
    staff_table_rows: list[Row] = []
    teachers: dict[str, str] = {}
    ignored_other_org = 0
    for row in users.rows:
        sid = row.values["sourcedid"].strip()
        role = row.values["role"].strip().lower()
        orgs_of = _ids(row.values.get("orgsourcedids", ""))
        if role in STAFF_ROLES:
            teachers[sid] = " ".join(f"{row.values['givenname'].strip()} {row.values['familyname'].strip()}".split())
        if not active(row):
            continue
        try:
            if role == "student":
                if org not in orgs_of:
                    ignored_other_org += 1
                    continue
                if sid:
                    data.on_roll.add(sid)
                if row.error:
                    raise Bad(row.error)
                if sid in dups:
                    raise Bad(f"duplicate id {sid} (lines {_lines(dups[sid])})")
                _required_value(row.values, ["sourcedid", "givenname", "familyname"])
                upn = _user_upn(row.values)
                if not upn.strip():
                    raise Bad("no UPN (put it in identifier, or as {UPN:...} in userIds)")
                fields: dict[str, Any] = {
                    "upn": clean_upn(upn),
                    "legal_first_name": clean_text(row.values["givenname"], "givenName", "legal_first_name"),
                    "legal_last_name": clean_text(row.values["familyname"], "familyName", "legal_last_name"),
                }
                for column, key in (("preferredfirstname", "preferred_first_name"),
                                    ("preferredlastname", "preferred_last_name")):
                    if column in users.columns:
                        fields[key] = clean_text(row.values[column], column, key)
                grades = _ids(row.values.get("grades", ""))
                if grades:
                    fields["year_code"] = clean_year(grades[0])
                fields.update(mis_flags(row.values, users.columns, "metadata."))
                students[sid] = PupilRecord(clean_text(sid, "sourcedId", "mis_id"), users.name, row.line, fields)
                for priority, agent in enumerate(_ids(row.values.get("agentsourcedids", "")), start=1):
                    agent_links.append((agent, sid, priority, row.line))
            elif role in CONTACT_ROLES:
                if row.error:
                    raise Bad(row.error)
                if sid in dups:
                    raise Bad(f"duplicate id {sid} (lines {_lines(dups[sid])})")
                _required_value(row.values, ["sourcedid", "givenname", "familyname"])
                relationship, responsibility = CONTACT_ROLES[role]
                name = " ".join(f"{row.values['givenname']} {row.values['familyname']}".split())
                agents[sid] = (row.line, {
                    "name": clean_text(name, "name"), "relationship": relationship,
                    "phone": clean_text(row.values.get("phone", "").strip() or row.values.get("sms", ""), "phone"),
                    "email": clean_text(row.values.get("email", ""), "email"),
                    "parental_responsibility": responsibility, "no_contact": False})
                for child in _ids(row.values.get("agentsourcedids", "")):
                    agent_links.append((sid, child, None, row.line))
            elif role in STAFF_ROLES:
                if org not in orgs_of:
                    ignored_other_org += 1
                    continue
                if row.values.get("enableduser", "").strip().lower() == "false":
                    continue
                if not row.values.get("email", "").strip():
                    raise Bad("no email address: staff are matched by email")
                name = " ".join(f"{row.values['givenname']} {row.values['familyname']}".split())
                staff_table_rows.append(Row(row.line, {"email": row.values["email"], "name": name}, row.error))
        except Bad as exc:
            data.errors.append(Problem(users.name, row.line, str(exc)))
    data.other_org_users = ignored_other_org
    data.staff.extend(_staff_rows(CsvFile(users.name, ["email", "name"], staff_table_rows), data.errors))

    # Demographics: the date of birth.
    if demographics := tables.get("demographics.csv"):
        dups = _duplicates([(r.values["sourcedid"].strip(), r.line) for r in demographics.rows])
        for row in demographics.rows:
            sid = row.values["sourcedid"].strip()
            if not active(row) or not row.values["birthdate"].strip():
                continue
            try:
                if row.error:
                    raise Bad(row.error)
                if sid in dups:
                    raise Bad(f"duplicate id {sid} (lines {_lines(dups[sid])})")
                born = clean_date(row.values["birthdate"], "birthDate")
            except Bad as exc:
                if sid in students or (delta["users.csv"] and sid not in agents and sid not in teachers):
                    data.errors.append(Problem(demographics.name, row.line, str(exc)))
                continue
            if sid in students:
                students[sid].fields["date_of_birth"] = born
            elif delta["users.csv"] and sid not in agents and sid not in teachers and sid not in data.on_roll:
                # Not in this (delta) users.csv: if Corridor has this pupil, their date of birth changes.
                students[sid] = PupilRecord(sid, demographics.name, row.line, {"date_of_birth": born}, on_roll=False)

    # Enrolments: a student's homeroom is their tutor group; a homeroom's primary teacher is its tutor.
    homeroom_of: dict[str, tuple[str, int]] = {}
    candidates: dict[str, list[tuple[str, int]]] = defaultdict(list)
    if enrollments := tables.get("enrollments.csv"):
        dups = _duplicates([(r.values["sourcedid"].strip(), r.line) for r in enrollments.rows])
        tutors: dict[str, tuple[bool, str]] = {}
        for row in enrollments.rows:
            if not active(row):
                continue
            cls, user = row.values["classsourcedid"].strip(), row.values["usersourcedid"].strip()
            role = row.values["role"].strip().lower()
            if cls in not_kept:
                continue
            sid = row.values["sourcedid"].strip()
            if sid in dups:
                data.errors.append(Problem(enrollments.name, row.line,
                                           f"duplicate id {sid} (lines {_lines(dups[sid])})"))
                continue
            if role == "student" and cls in homerooms:
                if user in homeroom_of and homeroom_of[user][0] != cls:
                    first, line = homeroom_of[user]
                    data.errors.append(Problem(enrollments.name, row.line,
                                               f"student {user} is already in homeroom {first} (line {line})"))
                    continue
                homeroom_of[user] = (cls, row.line)
            elif role == "student":
                candidates[user].append((cls, row.line))  # a class this file does not describe
            elif role in STAFF_ROLES and cls in homerooms and user in teachers:
                primary = row.values.get("primary", "").strip().lower() == "true"
                if cls not in tutors or (primary and not tutors[cls][0]):
                    tutors[cls] = (primary, teachers[user])
        for cls, (_, tutor) in tutors.items():
            homerooms[cls]["record"].fields["tutor_name"] = tutor[:200]
        for student in set(homeroom_of) | set(candidates):
            if student not in students:
                if not delta["users.csv"] or student in data.on_roll:
                    continue  # not a pupil of this school, or their users.csv row has a problem
                # Not in this (delta) users.csv: move them if Corridor has them.
                line = (homeroom_of.get(student) or candidates[student][0])[1]
                students[student] = PupilRecord(student, enrollments.name, line, {}, on_roll=False)
            if student in homeroom_of:
                students[student].fields["tutor_group"] = homeroom_of[student][0]
            else:
                students[student].group_candidates = [cls for cls, _ in candidates[student]]
        if not delta["enrollments.csv"]:
            # A bulk enrolment list is complete: a student in no class at all has no tutor group.
            for sid, record in students.items():
                if record.on_roll and sid not in homeroom_of and sid not in candidates:
                    record.fields["tutor_group"] = ""

    # A student whose grades are empty takes the year of their homeroom.
    for record in students.values():
        group = homerooms.get(record.fields.get("tutor_group", ""))
        if "year_code" not in record.fields and record.on_roll and group and "year_code" in group["record"].fields:
            record.fields["year_code"] = group["record"].fields["year_code"]
    # A homeroom without grades takes the year most of its students are in.
    for cls, group in homerooms.items():
        if "year_code" not in group["record"].fields:
            years = [r.fields["year_code"] for r in students.values()
                     if r.fields.get("tutor_group") == cls and "year_code" in r.fields]
            if years:
                group["record"].fields["year_code"] = max(set(years), key=years.count)

    data.groups = [g["record"] for g in homerooms.values()]
    data.pupils = list(students.values())

    # Contacts: parents and guardians linked to students, in the order the student lists them.
    seen_links: set[tuple[str, str]] = set()
    for agent, student, priority, line in sorted(agent_links, key=lambda link: link[2] is None):
        if (agent, student) in seen_links:
            continue
        seen_links.add((agent, student))
        if agent not in agents:
            if priority is not None and not delta["users.csv"] and agent not in teachers:
                data.errors.append(Problem(users.name, line, f"agent {agent} is not a parent, guardian or relative in "
                                                             f"{users.name}"))
            continue
        fields = dict(agents[agent][1])
        if priority is not None:
            fields["priority"] = priority
        data.contacts.append(ContactRecord(agent, student, users.name, agents[agent][0], fields,
                                           soft=priority is None))

    if deleted:
        data.notes.append(f"{deleted} records marked tobedeleted were ignored: Corridor never deletes, and only a "
                          "bulk users file marks pupils as left.")
    return data


def _header_of(text: str) -> set[str]:
    try:
        return {h.strip().lstrip("\ufeff").lower() for h in next(csv.reader(io.StringIO(text, newline="")))}
    except (StopIteration, csv.Error):
        return set()


def recognise(text: str) -> str | None:
    """Which file of a Corridor CSV set this is, from its header row: the file whose required columns are all
    there (the one needing most, if several), else the one with clearly most of them (so that the preview
    names the missing column); None if it cannot be told."""
    columns = _header_of(text)
    score = {key: sum(c in columns for c in required) for key, (required, _) in CORRIDOR_FILES.items()}
    complete = [key for key, n in score.items() if n == len(CORRIDOR_FILES[key][0])]
    if complete:
        return max(complete, key=lambda key: len(CORRIDOR_FILES[key][0]))
    best = max(score.values())
    top = [key for key, n in score.items() if n == best]
    return top[0] if best >= 2 and len(top) == 1 else None


@dataclass
class Export:
    """An upload read into its CSV files (and, for OneRoster, its manifest and tables)."""

    name: str
    files: dict[str, tuple[str, str]]
    ignored: list[str]
    notes: list[str] = field(default_factory=list)
    oneroster: OneRoster | None = None


def read_export(name: str, data: bytes) -> Export:
    """Read an upload in either format (a zip with manifest.csv is OneRoster); raises Malformed.

    One CSV file on its own is recognised by its header row, whatever it is called."""
    files, ignored = read_files(name, data)
    notes: list[str] = []
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        ((key, (base, text)),) = files.items()
        kind = recognise(text)
        if kind is None and key not in CORRIDOR_FILES and key != "manifest.csv":
            if not key.endswith(".csv"):
                raise Malformed(Problem(base, None, "Upload a zip of CSV files, or one CSV file."))
            raise Malformed(Problem(base, 1, "Corridor cannot tell from its header row which file this is. The "
                                             "header names the columns: pupils need mis_id, upn, legal_first_name, "
                                             "legal_last_name, date_of_birth, year; tutor groups mis_id, name, year; "
                                             "contacts mis_id, pupil_id, name, relationship; staff email, name."))
        if kind and kind != key:
            files = {kind: (base, text)}
            notes.append(f"{base} was read as {kind} (Corridor recognised it by its header row).")
    export = Export(name, files, ignored, notes)
    if "manifest.csv" in files:
        export.oneroster = read_oneroster(files)
    return export


def export_notes(export: Export, *, bulk: bool) -> list[str]:
    """Notes about the upload as a whole (for every school taken from it)."""
    notes = list(export.notes)
    if export.oneroster:
        notes += export.oneroster.notes
        if not bulk and not export.oneroster.delta["users.csv"]:
            notes.append("Imported as changes only: the manifest says users.csv is bulk (everyone on roll), but "
                         "nobody is marked as left.")
    if export.ignored:
        notes.append(f"Files that are not CSV were ignored: {', '.join(sorted(export.ignored)[:10])}"
                     f"{' …' if len(export.ignored) > 10 else ''}.")
    return notes


def parse_export(export: Export, *, bulk: bool, school: SchoolKeys | None = None, org: str | None = None) -> Dataset:
    """The records for one school: `school` says which org of a OneRoster zip is its, or `org` names it
    (a trust import, which takes each school org in turn). bulk=False (changes only) marks nobody as left,
    whatever a OneRoster manifest says. Raises Malformed."""
    if export.oneroster is None:
        dataset = parse_corridor(export.files, bulk=bulk)
        dataset.notes[:0] = export_notes(export, bulk=bulk)
    elif org is None:
        if school is None:
            raise TypeError("parse_export needs the school or the org a OneRoster export is read for")
        source = export.oneroster
        chosen = _school_org(source.tables.get("orgs.csv"), source.tables.get("users.csv"), school,
                             source.manifest_name)
        dataset = oneroster_dataset(source, chosen)
        dataset.org_from_users = "orgs.csv" not in source.tables
        dataset.notes[:0] = export_notes(export, bulk=bulk)
        if dataset.other_org_users:
            dataset.notes.append(f"{dataset.other_org_users} users of other orgs were ignored.")
    else:
        dataset = oneroster_dataset(export.oneroster, org)  # the export's own notes are the caller's to show
    if not bulk:
        dataset.pupils_bulk = False
    return dataset


def parse(name: str, data: bytes, *, bulk: bool, school: SchoolKeys) -> Dataset:
    """Read an upload for one school; raises Malformed."""
    dataset = parse_export(read_export(name, data), bulk=bulk, school=school)
    if dataset.pupils_bulk and not dataset.on_roll:
        raise Malformed(Problem(name, None, NO_PUPILS))
    return dataset


NO_PUPILS = ("This full export lists no pupils: importing it would mark every pupil as left. Check the export, or "
             "import it as changes only.")


def pack_folder(path: Any) -> bytes:
    """A folder's CSV files as one zip in memory, so a folder and a zip are read the same way."""
    buffer = io.BytesIO()
    total = 0
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for item in sorted(path.iterdir()):
            if item.is_file() and item.suffix.lower() == ".csv":
                total += item.stat().st_size
                if total > MAX_UNPACKED_BYTES:
                    raise Malformed(Problem(path.name, None, f"The folder's CSV files are larger than "
                                                             f"{MAX_UNPACKED_BYTES // (1024 * 1024)} MB."))
                archive.write(item, item.name)
    return buffer.getvalue()


# Photos ----------------------------------------------------------------------------------------------

def read_photos(name: str, data: bytes) -> list[tuple[str, str, bytes]]:
    """A zip of photos named by UPN or MIS id: [(member name, the name without its extension, bytes)]."""
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise Malformed(Problem(name, None, "Photos come as a zip of image files named by UPN or MIS id."))
    archive, members = open_zip(name, data)
    out, stems = [], {}
    for info in members:
        base = PurePosixPath(info.filename.replace("\\", "/")).name
        stem, suffix = PurePosixPath(base).stem.strip(), PurePosixPath(base).suffix.lower()
        if suffix not in PHOTO_SUFFIXES:
            continue
        if stem.upper() in stems:
            raise Malformed(Problem(name, None, f"The zip holds two photos for {stem}: "
                                                f"{stems[stem.upper()]} and {base}."))
        stems[stem.upper()] = base
        out.append((base, stem, read_member(name, archive, info)))
    return out
