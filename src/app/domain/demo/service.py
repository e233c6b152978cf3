"""Synthetic schools: realistic, entirely made-up pupils, families and staff for demos, tests and benchmarks.

No real pupil data is ever used. Names come from Faker's locales for the many origins of UK pupils.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from functools import cache
from zoneinfo import ZoneInfo

from faker import Faker
from PIL import Image, ImageDraw
from stdnum.gb import upn as upn_check

from app import clock
from app.domain.audit.service import CLI
from app.domain.incidents.service import ensure_defaults
from app.domain.incidents.tables import Category, Incident, IncidentPupil, Location
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
LONDON = ZoneInfo("Europe/London")
TERM_DAYS = 60  # school days (weekdays) of incidents before today: about a term
BEHAVIOUR_PER_PUPIL_DAY = 0.03  # a pupil is logged for behaviour about once in seven weeks on average...
REWARDS_PER_PUPIL_DAY = 0.10  # ...and rewarded about once in two
NOTES = {
    "negative": ["Talking over the teacher during the starter", "Would not move seats when asked",
                 "Left the lesson without permission", "Repeated disruption after two warnings",
                 "Argument at the lunch queue", "Refused to hand over phone", ""],
    "positive": ["Outstanding homework", "Helped a new pupil find their way", "Great contribution to the discussion",
                 "Stayed behind to help tidy up", "Best effort all week", ""],
}
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


async def seed_demo(pupil_count: int = 1000, *, incidents: bool = True) -> tuple[bool, int]:
    """Create the demo trust, school, staff, pupils and (unless not wanted) a term of incidents and rewards once;
    returns (created now?, demo admin id)."""
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
    if incidents:
        await generate_term_of_incidents(school_id, [ids[e] for e, _, roles in DEMO_STAFF if "staff" in roles],
                                         seed=2026)
    return True, ids[DEMO_ADMIN]


async def generate_term_of_incidents(school_id: int, staff_ids: list[int], *, seed: int = 1,
                                     days: int = TERM_DAYS) -> int:
    """A synthetic term of behaviour incidents and rewards for the school's pupils, on the `days` school days
    (weekdays) before today, in lesson time, by `staff_ids`; a few pupils are logged far more often than the rest,
    as in a real school. Past behaviour is followed up (resolved). Bulk inserts; returns how many incidents."""
    rng = random.Random(seed)  # nosec B311  # synthetic demo data, seeded to be reproducible: not a secret
    pupils = [r["id"] for r in await Pupil.select(Pupil.id).where(Pupil.school == school_id).order_by(Pupil.id)]
    cats = await Category.select(Category.id, Category.kind, Category.points, Category.severity).where(
        (Category.school == school_id) & Category.kind.is_in(["negative", "positive"]) & Category.retired_at.is_null())
    places = [r["id"] for r in await Location.select(Location.id).where(Location.school == school_id)]
    if not pupils or not cats or not staff_ids:
        return 0
    # Skewed as schools find: behaviour concentrates on a few pupils; rewards are spread more evenly.
    behaviour_weight = [rng.paretovariate(1.5) for _ in pupils]
    reward_weight = [rng.uniform(0.5, 1.5) for _ in pupils]
    negative = [c for c in cats if c["kind"] == "negative"]
    positive = [c for c in cats if c["kind"] == "positive"]
    # Low-level behaviour is far more common than serious behaviour.
    negative_weight = [2.0 ** (4 - c["severity"]) for c in negative]
    today = clock.now().astimezone(LONDON).date()
    school_days = []
    day = today - dt.timedelta(days=1)
    while len(school_days) < days:
        if day.weekday() < 5:
            school_days.append(day)
        day -= dt.timedelta(days=1)
    planned = []  # (occurred_at, pupil, category)
    for day in school_days:
        for kinds, rate, weights, chosen in ((negative, BEHAVIOUR_PER_PUPIL_DAY, behaviour_weight, negative_weight),
                                             (positive, REWARDS_PER_PUPIL_DAY, reward_weight, None)):
            count = sum(1 for _ in pupils if rng.random() < rate)
            for pupil in rng.choices(pupils, weights, k=count):
                at = dt.datetime.combine(day, dt.time(8, 50), LONDON) + dt.timedelta(minutes=rng.randrange(390))
                planned.append((at.astimezone(dt.timezone.utc), pupil, rng.choices(kinds, chosen)[0]))
    planned.sort(key=lambda p: p[0])
    now = clock.now()
    await Incident.insert(*[Incident(school=school_id, location=rng.choice(places) if places else None, occurred_at=at,
                                     note=rng.choice(NOTES[cat["kind"]]), recorded_by=rng.choice(staff_ids),
                                     recorded_at=at + dt.timedelta(minutes=rng.randrange(1, 90)))
                            for at, _, cat in planned])
    # Fresh rows of a school seeded once: its incidents in id order are the ones just inserted, in this order.
    incident_ids = [r["id"] for r in await Incident.select(Incident.id).where(Incident.school == school_id)
                    .order_by(Incident.id)][-len(planned):]
    await IncidentPupil.insert(*[
        IncidentPupil(incident=incident_id, pupil=pupil, role="instigator" if cat["kind"] == "negative" else "involved",
                      category=cat["id"], points=cat["points"], status="resolved", updated_at=now)
        for incident_id, (_, pupil, cat) in zip(incident_ids, planned)])
    return len(planned)


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
