"""Small helpers for the referral tests: a pupil, a referral in any state, the service list."""

from __future__ import annotations

import re
import uuid

from app.domain.audit.service import Origin
from app.domain.accounts import service as accounts
from app.domain.referrals import service as referrals
from app.domain.referrals.tables import Referral, ReferralService
from tests.conftest import add_pupil, csrf, sign_in

# The path through the states to reach each one, from a draft with consent recorded.
PATH = {"draft": [], "sent": ["sent"], "acknowledged": ["sent", "acknowledged"],
        "accepted": ["sent", "acknowledged", "accepted"], "declined": ["sent", "acknowledged", "declined"],
        "waiting": ["sent", "acknowledged", "accepted", "waiting"],
        "active": ["sent", "acknowledged", "accepted", "waiting", "active"],
        "closed": ["sent", "acknowledged", "accepted", "waiting", "active", "closed"]}
CONSENT = {"consent": "given", "consent_given_by": "Mrs Able (mother)", "consent_on": "2026-11-20",
           "consent_how": "phone"}


async def actor_for(settings, member):
    token = await accounts._create_session(settings, member.id, member.email, Origin(ip="test"), "pytest")
    return await accounts.load_actor(settings, token, Origin(ip="test"))


async def service_id(school_id: int, name: str = "CAMHS") -> int:
    await referrals.ensure_defaults(school_id)
    row = await ReferralService.select(ReferralService.id).where(
        (ReferralService.school == school_id) & (ReferralService.name == name)).first()
    return row["id"]


async def pupil(cast, year: str = "9", first: str = "Ada", last: str = "Able") -> int:
    return await add_pupil(cast.school_id, first, last, year=year, form=f"{year}A")


async def make(settings, member, pupil_id: int, state: str = "draft", *, consent: bool = True,
               service: str = "CAMHS") -> int:
    """A referral by `member`, moved (with notes) to `state`."""
    actor = await actor_for(settings, member)
    form = {"pupil_id": str(pupil_id), "service_id": str(await service_id(actor.school_id, service)),
            "reason": "Low mood for several weeks", **(CONSENT if consent else {})}
    made = await referrals.create_referral(actor, form)
    for step in PATH[state]:
        await referrals.move(actor, made["id"], step, f"Moved to {step}")
    return made["id"]


async def state_of(referral_id: int) -> str:
    return (await Referral.select(Referral.state).where(Referral.id == referral_id).first())["state"]


async def post(client, settings, member, path: str, data: dict, *, page: str = "/") -> object:
    await sign_in(client, settings, member)
    token = await csrf(client, page)
    return await client.post(path, data={**data, "_csrf_token": token})


def key() -> str:
    return str(uuid.uuid4())


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")
