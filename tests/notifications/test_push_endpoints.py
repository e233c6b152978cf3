"""The server POSTs to a push endpoint a browser hands it, so it accepts only the browsers' own push services on
public addresses (or hosts an operator adds): never loopback, private, link-local or metadata addresses."""

import dataclasses

import pytest

from app.domain.notifications import push
from app.domain.oncall.tables import PushSubscription
from tests.conftest import csrf, sign_in
from tests.notifications.test_push import a_browser_subscription, b64url, dns  # noqa: F401  (the fixture)


async def subscribe(client, url, **overrides):
    token = await csrf(client, "/oncall/board")
    _, p256dh, auth = a_browser_subscription()
    body = {"endpoint": url, "keys": {"p256dh": p256dh, "auth": b64url(auth)}, **overrides}
    return await client.post("/notifications/push/subscribe", json=body,
                             headers={"x-csrftoken": token, "accept": "application/json"})


@pytest.mark.parametrize("endpoint", [
    "https://fcm.googleapis.com/fcm/send/abc",
    "https://updates.push.services.mozilla.com/wpush/v2/abc",
])
async def test_it_accepts_the_browsers_push_services(client, settings, cast, dns, endpoint):
    await sign_in(client, settings, cast.responder)
    assert (await subscribe(client, endpoint)).status_code == 200
    assert await PushSubscription.count() == 1


@pytest.mark.parametrize("endpoint, answer", [
    ("https://127.0.0.1/push", None),                       # not a push service at all
    ("https://push.example.net/send/abc", None),            # any other https host
    ("https://fcm.googleapis.com:8443/fcm/send/abc", None),  # another port
    ("https://user:pw@fcm.googleapis.com/fcm/send/x", None),
    ("http://fcm.googleapis.com/fcm/send/abc", None),
    ("https://fcm.googleapis.com/fcm/send/abc", ["127.0.0.1"]),        # the allowed name resolving inwards
    ("https://fcm.googleapis.com/fcm/send/abc", ["10.1.2.3"]),
    ("https://fcm.googleapis.com/fcm/send/abc", ["169.254.169.254"]),  # cloud metadata
    ("https://fcm.googleapis.com/fcm/send/abc", ["::1"]),
    ("https://fcm.googleapis.com/fcm/send/abc", ["::ffff:192.168.0.1"]),
    ("https://fcm.googleapis.com/fcm/send/abc", ["142.250.180.10", "192.168.0.1"]),  # one bad answer is enough
    ("https://fcm.googleapis.com/fcm/send/abc", []),
])
async def test_it_refuses_endpoints_that_could_reach_inside(client, settings, cast, dns, endpoint, answer):
    if answer is not None:
        dns["fcm.googleapis.com"] = answer
    await sign_in(client, settings, cast.responder)
    response = await subscribe(client, endpoint)
    assert response.status_code == 400
    assert "could not be used" in response.json()["error"]
    assert await PushSubscription.count() == 0


@pytest.mark.parametrize("body", [
    {"endpoint": ["https://fcm.googleapis.com/x"]}, {"keys": "nope"}, {"keys": {"p256dh": 5, "auth": []}},
    {"endpoint": 12},
])
async def test_it_refuses_a_subscription_of_the_wrong_shape(client, settings, cast, dns, body):
    await sign_in(client, settings, cast.responder)
    response = await subscribe(client, "https://fcm.googleapis.com/fcm/send/abc", **body)
    assert response.json()["error"]
    assert response.status_code == 400 and await PushSubscription.count() == 0


async def test_an_operator_can_add_a_push_service(settings, cast, dns):
    dns["push.school-mdm.example"] = ["203.0.113.7"]  # documentation range: not global, so still refused
    dns["push.mdm.example.com"] = ["151.101.1.1"]
    widened = dataclasses.replace(settings, push_service_hosts=(".mdm.example.com", "push.school-mdm.example"))
    assert await push.endpoint_problem(settings, "https://push.mdm.example.com/x") == "not a known browser push service"
    assert await push.endpoint_problem(widened, "https://push.mdm.example.com/x") is None
    assert await push.endpoint_problem(widened, "https://push.school-mdm.example/x") == \
        "its host is not on the public internet"


async def test_signed_out_nobody_subscribes(client, settings, cast, dns):
    response = await subscribe(client, "https://fcm.googleapis.com/fcm/send/abc")
    assert response.status_code in (401, 403) and await PushSubscription.count() == 0
