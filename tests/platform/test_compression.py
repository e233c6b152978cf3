"""Pages, fragments and static files travel gzipped; photos (already JPEG) do not."""

import io

from PIL import Image

from app.domain.pupils.service import prepare_photo
from app.domain.pupils.tables import Pupil
from tests.conftest import add_pupil, sign_in


async def test_pages_and_static_files_are_gzipped(client, settings, cast):
    await sign_in(client, settings, cast.teacher)
    for path in ("/", "/pupils/", "/static/css/app.css", "/static/vendor/htmx-4.0.1.min.js"):
        response = await client.get(path, headers={"accept-encoding": "gzip"})
        assert response.headers.get("content-encoding") == "gzip", path
        assert int(response.headers["content-length"]) < len(response.content), path


async def test_photos_are_not_compressed_again(client, settings, cast):
    pid = await add_pupil(cast.school_id, "Ava", "Okafor")
    buf = io.BytesIO()
    Image.new("RGB", (300, 300), (90, 140, 200)).save(buf, "PNG")
    full, thumb = prepare_photo(buf.getvalue())
    await Pupil.update({Pupil.photo: full, Pupil.photo_thumb: thumb}).where(Pupil.id == pid)
    await sign_in(client, settings, cast.teacher)
    response = await client.get(f"/pupils/{pid}/photo", headers={"accept-encoding": "gzip"})
    assert response.status_code == 200 and "content-encoding" not in response.headers
