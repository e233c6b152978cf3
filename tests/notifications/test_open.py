"""Opening an alert: one's own goes to its record; anyone else's is "not found" (found by the route matrix)."""

from app.domain.notifications import service as notifications
from app.domain.notifications.tables import Notification
from tests.conftest import post_form, sign_in


async def test_it_opens_only_ones_own_alert(client, settings, cast):
    await notifications.notify({cast.dsl.id}, school_id=cast.school_id, kind="concern.new",
                               text="New safeguarding concern C-ABC123.", link="/concerns/1")
    alert = (await Notification.select(Notification.id).first())["id"]

    for someone_else in (cast.teacher, cast.admin, cast.outsider):
        client.cookies.clear()
        await sign_in(client, settings, someone_else)
        response = await post_form(client, f"/notifications/{alert}/open")
        assert response.status_code == 404
    missing = await post_form(client, "/notifications/999999/open")
    assert missing.status_code == 404
    assert (await Notification.select(Notification.read_at).first())["read_at"] is None

    client.cookies.clear()
    await sign_in(client, settings, cast.dsl)
    token_page = await client.get("/")
    assert token_page.status_code == 200
    opened = await post_form(client, f"/notifications/{alert}/open")
    assert opened.url.path == "/concerns/1" or opened.history[0].headers["location"] == "/concerns/1"
    assert (await Notification.select(Notification.read_at).first())["read_at"] is not None
