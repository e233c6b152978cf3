"""Synthetic schools: realistic, entirely made-up pupils, families and staff for demos, tests and benchmarks.

No real pupil data is ever used. Names come from Faker's locales for the many origins of UK pupils.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from functools import cache

from faker import Faker
from PIL import Image, ImageDraw
from stdnum.gb import upn as upn_check

from app import clock
from app.domain.audit.service import CLI
from app.domain.incidents.service import ensure_defaults
from app.domain.oncall.service import ensure_defaults as ensure_oncall_defaults
from app.domain.pupils.service import mark_changed, prepare_photo
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.schools import service as schools
from app.domain.schools.tables import School, Trust

# Weighted towards British names, with the other origins common in UK classrooms.
LOCALES = {"en_GB": 10, "en_IE": 2, "pl_PL": 2, "ro_RO": 1, "pt_PT": 1, "it_IT": 1, "tr_TR": 1,
           "en_IN": 2, "yo_NG": 1, "fr_FR": 1, "es_ES": 1}
DEMO_TRUST = "demo"
DEMO_SCHOOL = "oakfield"
DEMO_ADMIN = "admin@oakfield.example"
FORMS = "ABCDEFGH"
LA_CODES = ["801", "802", "803", "330", "335", "336", "340", "341", "343", "344"]  # real LA numbers: UPNs validate
BACKGROUNDS = [(214, 228, 240), (226, 236, 220), (240, 226, 214), (232, 222, 240)]
SILHOUETTES = [(92, 104, 120), (120, 96, 80), (70, 70, 80), (150, 120, 100)]
RELATIONSHIPS = [("Mother", True), ("Father", True), ("Stepfather", False), ("Grandmother", False),
                 ("Aunt", False), ("Carer", True)]
DEMO_STAFF = [
    ("admin@oakfield.example", "Alex Morgan", ["admin", "staff"]),
    ("teacher@oakfield.example", "Sam Patel", ["staff"]),
    ("responder@oakfield.example", "Jordan Okafor", ["staff", "responder"]),
    ("pastoral@oakfield.example", "Priya Kaur", ["staff", "pastoral"]),
    ("lead@oakfield.example", "Ruth Adeyemi", ["staff", "pastoral", "pastoral_lead"]),
    ("hoy@oakfield.example", "Chris Walsh", ["staff", "head_of_year", "responder"]),
    ("dsl@oakfield.example", "Fiona Campbell", ["staff", "dsl", "responder"]),
    ("cover@oakfield.example", "Dana Nowak", ["guest"]),
]


def make_upn(rng: random.Random, la_code: str, establishment: str, year_of_issue: int, serial: int) -> str:
    """A permanent UPN with its check letter, computed by python-stdnum."""
    body = f"{la_code}{establishment}{year_of_issue % 100:02d}{serial % 1000:03d}"
    return upn_check.calc_check_digit(body) + body


@cache
def placeholder_photos() -> list[tuple[bytes, bytes]]:
    """A dozen generated head-and-shoulders silhouettes (photo, thumbnail): never a real face."""
    out = []
    for i in range(12):
        hue = BACKGROUNDS[i % len(BACKGROUNDS)]
        img = Image.new("RGB", (400, 400), hue)
        draw = ImageDraw.Draw(img)
        tone = SILHOUETTES[i % len(SILHOUETTES)]
        draw.ellipse([130, 70 + i % 3 * 6, 270, 230], fill=tone)  # head
        draw.ellipse([60, 250, 340, 520], fill=tone)  # shoulders
        buf = io.BytesIO()
        img.save(buf, "PNG")
        out.append(prepare_photo(buf.getvalue()))
    return out


async def generate_pupils(school_id: int, count: int, *, seed: int = 1, years: range = range(7, 12),
                          photos: bool = False) -> int:
    """Add `count` synthetic pupils with families to a school (bulk inserts); returns how many."""
    rng = random.Random(seed)  # nosec B311  # synthetic demo data, seeded to be reproducible: not a secret
    fakers = {loc: Faker(loc) for loc in LOCALES}
    for i, f in enumerate(fakers.values()):
        f.seed_instance(seed + i)
    locales, weights = list(LOCALES), list(LOCALES.values())
    school = await School.select().where(School.id == school_id).first()
    today = clock.now().date()
    school_year_start = today.year if today.month >= 9 else today.year - 1
    now = clock.now()

    async with schools.db().transaction():
        groups = {}
        for year in years:
            for letter in FORMS[: max(1, min(8, count // (len(years) * 25) or 1))]:
                tg = TutorGroup(school=school_id, name=f"{year}{letter}", year_code=str(year))
                await tg.save()
                groups.setdefault(year, []).append(tg.id)

        pupils, families = [], []
        serials: dict[int, int] = {}  # year of issue -> last serial used, so UPNs never repeat
        while len(pupils) < count:
            fake = fakers[rng.choices(locales, weights)[0]]
            surname = fake.last_name()
            family_key = f"F{seed}-{len(families)}"
            parent_names = [(fake.first_name_female(), "Mother"), (fake.first_name_male(), "Father")]
            siblings = 1 if rng.random() > 0.18 else 2
            family_pupils = []
            for _ in range(min(siblings, count - len(pupils))):
                year = rng.choice(list(years))
                # Born in the school year that puts them in `year` now.
                start = dt.date(school_year_start - year - 5, 9, 1)
                birth = start + dt.timedelta(days=rng.randrange(365))
                female = rng.random() < 0.5
                first = fake.first_name_female() if female else fake.first_name_male()
                issued = birth.year + 4
                serials[issued] = serial = serials.get(issued, rng.randrange(100)) + 1
                if serial > 999:
                    raise ValueError("more than 900 pupils in one year group: use another establishment number")
                pupil = Pupil(
                    school=school_id, mis_id=f"MIS{seed}{len(pupils):06d}",
                    upn=make_upn(rng, school["la_code"], school["establishment_number"], issued, serial),
                    legal_first_name=first, legal_last_name=surname,
                    preferred_first_name=first if rng.random() > 0.08 else first[:3],
                    date_of_birth=birth, year_code=str(year),
                    tutor_group=rng.choice(groups[year]), family_key=family_key,
                    sen_provision=rng.choices("NKE", [85, 12, 3])[0],
                    medical_alert=rng.choice(["Asthma: inhaler in bag", "Nut allergy: adrenaline pen at reception",
                                              "Epilepsy: see care plan"]) if rng.random() < 0.06 else "",
                    created_at=now)
                if photos and rng.random() < 0.9:  # a few pupils never have a photo taken
                    pupil.photo, pupil.photo_thumb = rng.choice(placeholder_photos())
                pupils.append(pupil)
                family_pupils.append(pupil)
            families.append((family_pupils, parent_names, surname))

        for start in range(0, len(pupils), 500):
            await Pupil.insert(*pupils[start:start + 500])

        contacts = []
        for family_pupils, parent_names, surname in families:
            for pupil in family_pupils:
                for priority, (first, rel) in enumerate(parent_names[: rng.choice([1, 2, 2])], start=1):
                    contacts.append(Contact(
                        pupil=pupil.id, name=f"{first} {surname}", relationship=rel,
                        phone=f"07700 9{rng.randrange(100000):05d}",  # Ofcom's drama range: never a real phone
                        email=f"{first.lower()}.{surname.lower()}@example.com".replace(" ", ""),
                        priority=priority, parental_responsibility=True, no_contact=rng.random() < 0.02))
        for start in range(0, len(contacts), 500):
            await Contact.insert(*contacts[start:start + 500])
        await mark_changed(school_id)
    return len(pupils)


async def generate_trust(*, slug: str, schools_count: int, pupils: int, seed: int = 1,
                         photos: bool = False) -> list[int]:
    """A synthetic trust of `schools_count` secondary schools sharing `pupils` between them; returns school ids."""
    now = clock.now()
    trust = Trust(name=f"{slug.title()} Trust (synthetic)", slug=slug, created_at=now)
    await trust.save()
    school_ids = []
    per_school, extra = divmod(pupils, schools_count)
    for n in range(schools_count):
        school = School(trust=trust.id, name=f"{slug.title()} School {n + 1}", slug=f"{slug}-{n + 1}",
                        la_code=LA_CODES[n % len(LA_CODES)], establishment_number=f"{4100 + n:04d}", created_at=now)
        await school.save()
        await ensure_defaults(school.id)
        await ensure_oncall_defaults(school.id)
        await generate_pupils(school.id, per_school + (1 if n < extra else 0), seed=seed * 1000 + n, photos=photos)
        school_ids.append(school.id)
    return school_ids


async def seed_demo(pupil_count: int = 1000) -> tuple[bool, int]:
    """Create the demo trust, school, staff and pupils once; returns (created now?, demo admin id)."""
    from app.domain.schools.tables import Person

    existing = await Trust.select(Trust.id).where(Trust.slug == DEMO_TRUST).first()
    if existing:
        admin = await Person.select(Person.id).where(Person.email == DEMO_ADMIN).first()
        return False, admin["id"]
    school_id = await schools.create_trust_with_school(
        trust_name="Demo Learning Trust", trust_slug=DEMO_TRUST, school_name="Oakfield Academy (demo)",
        school_slug=DEMO_SCHOOL, la_code="801", establishment_number="4000")
    ids = {}
    for email, name, roles in DEMO_STAFF:
        ids[email] = await schools.add_person(email=email, display_name=name, school_id=school_id, roles=roles,
                                              actor=None, origin=CLI)
    await generate_pupils(school_id, pupil_count, seed=2026, photos=True)
    await _demo_rooms_and_rota(school_id, ids)
    return True, ids[DEMO_ADMIN]


async def _demo_rooms_and_rota(school_id: int, ids: dict[str, int]) -> None:
    """Classrooms to call on-call from, and a weekday rota: responders at tier 1, the DSL at tier 2."""
    from app.domain.incidents.tables import Location
    from app.domain.oncall.tables import RotaSlot

    rooms = [f"Room {n}" for n in range(1, 21)] + [f"Science lab {n}" for n in range(1, 5)] + ["Sports hall office"]
    await Location.insert(*[Location(school=school_id, name=r, position=100 + i) for i, r in enumerate(rooms)])
    slots = []
    for weekday in range(5):
        for email, tier in (("responder@oakfield.example", 1), ("hoy@oakfield.example", 1),
                            ("dsl@oakfield.example", 2)):
            slots.append(RotaSlot(school=school_id, person=ids[email], weekday=weekday, starts="08:00", ends="16:30",
                                  tier=tier))
    await RotaSlot.insert(*slots)
