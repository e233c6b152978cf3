"""Pupils: lookup, profile, photos and the shared timeline. Record-level access is decided here."""

from __future__ import annotations

import io

from PIL import Image, UnidentifiedImageError

from app import clock
from app.domain.schools.tables import School
from app.errors import BadRequest

PHOTO_PX, THUMB_PX = 400, 96
MAX_PHOTO_BYTES = 8 * 1024 * 1024


def prepare_photo(data: bytes) -> tuple[bytes, bytes]:
    """A photo from outside, checked and re-encoded: (JPEG at most 400 px, JPEG thumbnail of 96 px)."""
    if len(data) > MAX_PHOTO_BYTES:
        raise BadRequest("The photo is larger than 8 MB.")
    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            img = img.convert("RGB")  # also drops metadata such as EXIF location
            out = []
            for size in (PHOTO_PX, THUMB_PX):
                copy = img.copy()
                copy.thumbnail((size, size))
                buf = io.BytesIO()
                copy.save(buf, "JPEG", quality=82, optimize=True)
                out.append(buf.getvalue())
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        raise BadRequest("The file is not an image Corridor can read (use JPEG or PNG).") from None
    return out[0], out[1]


async def mark_changed(school_id: int) -> None:
    """Call in the same transaction as any change to a school's pupils: lookup indexes rebuild from it."""
    await School.update({School.pupils_changed_at: clock.now()}).where(School.id == school_id)
