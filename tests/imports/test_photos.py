"""Photos from a zip of images named by UPN or MIS id, checked and re-encoded before they are kept."""

import io

import pytest
from PIL import Image

from app.domain.imports import service as imports
from app.domain.pupils.tables import Pupil
from app.domain.schools.tables import School
from app.errors import NotFound
from tests.imports.files import actor_of, corridor_set, photo, upn, zip_of


async def run(actor, data: bytes, photos: bytes):
    key = await imports.store_upload(actor, imports.Upload(filename="export.zip", data=data, photos_filename="photos.zip",
                                                           photos=photos))
    return await imports.apply(actor, key)


async def photo_of(mis_id: str) -> tuple[bytes | None, bytes | None]:
    row = await Pupil.select(Pupil.photo, Pupil.photo_thumb).where(Pupil.mis_id == mis_id).first()
    return row["photo"], row["photo_thumb"]


async def test_photos_are_matched_by_upn_or_mis_id(cast):
    admin = await actor_of(cast.admin)
    photos = zip_of({f"{upn(1)}.png": photo((200, 10, 10)), "photos/p2.JPG": photo((10, 200, 10), fmt="JPEG"),
                     f"{upn(3).lower()}.jpeg": photo((10, 10, 200), size=(1200, 1600), fmt="JPEG"),
                     "__MACOSX/._P4.jpg": b"resource fork", ".DS_Store": b"finder"})
    plan = await run(admin, corridor_set(), photos)
    assert (plan.photos_added, plan.photos_replaced, plan.errors) == (3, 0, [])
    for mis_id in ("P1", "P2", "P3"):
        full, thumb = await photo_of(mis_id)
        with Image.open(io.BytesIO(full)) as img:
            assert img.format == "JPEG" and max(img.size) <= 400  # re-encoded by prepare_photo
        with Image.open(io.BytesIO(thumb)) as img:
            assert max(img.size) <= 96
    assert await photo_of("P4") == (None, None)
    with Image.open(io.BytesIO((await photo_of("P1"))[0])) as img:
        assert img.getpixel((10, 10))[0] > 150  # the red one went to P1, by UPN

    # The same photos again change nothing; a new photo replaces the old one.
    again = await run(admin, corridor_set(), photos)
    assert (again.photos_added, again.photos_replaced, again.photos_unchanged) == (0, 0, 3)
    stamp = await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first()
    newer = await run(admin, corridor_set(), zip_of({"P1.png": photo((0, 0, 0))}))
    assert (newer.photos_added, newer.photos_replaced) == (0, 1)
    assert await School.select(School.pupils_changed_at).where(School.id == cast.school_id).first() != stamp


async def test_a_photo_for_nobody_or_not_an_image_is_reported(cast):
    admin = await actor_of(cast.admin)
    photos = zip_of({"P1.png": photo(), "B801200005001.jpg": photo(), "P2.jpg": b"this is not a jpeg",
                     "P3.png": photo(), f"{upn(3)}.png": photo(), "readme.txt": b"ignored"})
    plan = await run(admin, corridor_set(), photos)
    assert [(p.file, p.reason) for p in plan.errors] == [
        ("photos.zip", "B801200005001.jpg: no pupil has this UPN or MIS id"),
        ("photos.zip", "P2.jpg: The file is not an image Corridor can read (use JPEG or PNG)."),
        ("photos.zip", f"{upn(3)}.png: another photo (P3.png) is for the same pupil"),
    ]
    assert plan.photos_added == 2 and (await photo_of("P2"))[0] is None


async def test_a_malformed_photo_zip_applies_nothing(cast):
    admin = await actor_of(cast.admin)
    for photos, reason in ((b"not a zip at all", "Photos come as a zip"),
                           (zip_of({"P1.png": photo(), "p1.jpg": photo()}), "two photos for p1")):
        key = await imports.store_upload(admin, imports.Upload(filename="export.zip", data=corridor_set(),
                                                               photos_filename="photos.zip", photos=photos))
        plan = await imports.preview(admin, key)
        assert len(plan.fatal) == 1 and reason in plan.fatal[0].reason
    assert await Pupil.count() == 0


async def test_another_schools_pupils_never_get_these_photos(cast):
    admin, outsider = await actor_of(cast.admin), await actor_of(cast.outsider)
    await run(admin, corridor_set(), zip_of({}))
    plan = await run(outsider, corridor_set(pupils=False, contacts=False, staff=False), zip_of({"P1.png": photo()}))
    assert [p.reason for p in plan.errors] == ["P1.png: no pupil has this UPN or MIS id"]
    assert await photo_of("P1") == (None, None)
    with pytest.raises(NotFound):
        await imports.store_upload(await actor_of(cast.guest), imports.Upload(filename="x.zip", data=corridor_set()))
