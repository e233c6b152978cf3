"""Passkeys, enrolment links and server-side sessions: the rules of signing in."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import (
    WebAuthnException,
    InvalidAuthenticationResponse,
)
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from app import clock
from app.db import atomic, parse_id, raw as raw_sql
from app.domain.accounts.tables import Challenge, EnrolmentToken, Passkey, Session
from app.domain.audit import service as audit
from app.domain.audit.service import Origin
from app.domain.schools.service import (
    BULK_INVITE_MAX,
    ROLES,
    Actor,
    InvitesInvalid,
    add_person,
    db,
    is_trust_admin,
    manages_whole_person,
    plan_invites,
    require_whole_person,
    schools_of,
    set_roles,
)
from app.domain.schools.tables import Membership, Person
from app.errors import (
    AuthenticationFailed,
    BadRequest,
    Gone,
    NeedsVerification,
    NotFound,
    TooManyAttempts,
    ValidationFailed,
)
from app.settings import Settings

CHALLENGE_TTL = dt.timedelta(minutes=5)
TOUCH_EVERY = dt.timedelta(minutes=1)  # write last_seen_at at most this often


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _device_name(user_agent: str) -> str:
    ua = user_agent or ""
    system = next((name for key, name in (
        ("iPhone", "iPhone"), ("iPad", "iPad"), ("Android", "Android"), ("Windows", "Windows"),
        ("Mac OS X", "Mac"), ("CrOS", "Chromebook"), ("Linux", "Linux")) if key in ua), "Unknown device")
    browser = next((name for key, name in (
        ("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari")) if key in ua), "browser")
    return f"{browser} on {system}"


# Enrolment links -----------------------------------------------------------------------------------

async def issue_enrolment(settings: Settings, person_id: int, *, by: Actor | None, origin: Origin) -> str:
    """A new single-use enrolment URL for a person; earlier unused links for them stop working."""
    person = await Person.select().where(Person.id == person_id).first()
    if not person:
        raise NotFound()
    if by is not None:
        # A link signs in as the whole person, at every school: only someone who manages all of them issues it.
        await require_whole_person(by, person_id, "a new enrolment link")
    if person["disabled_at"]:
        raise BadRequest("This person is disabled. Enable them before sending a new link.")
    token = secrets.token_urlsafe(32)
    now = clock.now()
    async with db().transaction():
        await revoke_enrolments(person_id)
        await EnrolmentToken.insert(EnrolmentToken(
            token_hash=_hash(token), person=person_id, issued_by=by.person_id if by else None, created_at=now,
            expires_at=now + dt.timedelta(hours=settings.enrolment_link_hours)))
        await audit.record(
            "enrolment.issued", actor_id=by.person_id if by else None,
            actor_label=by.label if by else "corridor command", school_id=by.school_id if by else None,
            subject_type="person", subject_id=person_id, subject_label=person["email"], origin=origin,
        )
    return f"{settings.public_url}/enrol/{token}"


async def revoke_enrolments(person_id: int) -> None:
    await EnrolmentToken.update({EnrolmentToken.revoked_at: clock.now()}).where(
        (EnrolmentToken.person == person_id) & EnrolmentToken.used_at.is_null() & EnrolmentToken.revoked_at.is_null())


async def open_enrolment(token: str) -> dict:
    """The enrolment link's person, if the link is still good; otherwise Gone with a clear reason."""
    row = await EnrolmentToken.select(
        EnrolmentToken.id, EnrolmentToken.expires_at, EnrolmentToken.used_at, EnrolmentToken.revoked_at,
        EnrolmentToken.person.id, EnrolmentToken.person.display_name, EnrolmentToken.person.email,
        EnrolmentToken.person.disabled_at,
    ).where(EnrolmentToken.token_hash == _hash(token or "")).first()
    ask = "Ask your school's Corridor admin for a new link."
    if not row or row["revoked_at"] or row["person.disabled_at"]:
        raise Gone(f"This enrolment link is not valid. {ask}")
    if row["used_at"]:
        raise Gone(f"This enrolment link has already been used. Sign in with your passkey, or {ask[0].lower()}{ask[1:]}")
    if row["expires_at"] <= clock.now():
        raise Gone(f"This enrolment link has expired. {ask}")
    return row


# WebAuthn ceremonies --------------------------------------------------------------------------------

async def _new_challenge(purpose: str, *, person_id: int | None = None, session_id: int | None = None,
                         enrolment_id: int | None = None) -> tuple[str, bytes]:
    key = secrets.token_urlsafe(24)
    challenge = secrets.token_bytes(32)
    now = clock.now()
    await Challenge.delete().where(Challenge.expires_at < now - dt.timedelta(hours=1))
    await Challenge.insert(Challenge(
        key=key, purpose=purpose, challenge=bytes_to_base64url(challenge), person=person_id, session=session_id,
        enrolment=enrolment_id, created_at=now, expires_at=now + CHALLENGE_TTL))
    return key, challenge


async def _consume_challenge(key: str, purpose: str) -> dict:
    """Mark a challenge used, atomically: a second use, or a late one, finds nothing."""
    now = clock.now()
    rows = await Challenge.update({Challenge.used_at: now}).where(
        (Challenge.key == (key or "")) & (Challenge.purpose == purpose) & Challenge.used_at.is_null()
        & (Challenge.expires_at > now)
    ).returning(Challenge.id, Challenge.challenge, Challenge.person, Challenge.session, Challenge.enrolment)
    if not rows:
        raise AuthenticationFailed("That passkey request has expired or was already used. Please try again.")
    return rows[0]


async def _descriptors(person_id: int) -> list[PublicKeyCredentialDescriptor]:
    rows = await Passkey.select(Passkey.credential_id, Passkey.transports).where(Passkey.person == person_id)
    out = []
    for r in rows:
        transports = [AuthenticatorTransport(t) for t in r["transports"].split(",") if t in AuthenticatorTransport._value2member_map_]
        out.append(PublicKeyCredentialDescriptor(id=base64url_to_bytes(r["credential_id"]), transports=transports or None))
    return out


async def registration_options(settings: Settings, person_id: int, *, enrolment_id: int | None = None,
                               session_id: int | None = None) -> dict[str, Any]:
    """Options for creating a discoverable passkey with user verification, plus the challenge key."""
    person = await Person.select().where(Person.id == person_id).first()
    key, challenge = await _new_challenge("register", person_id=person_id, enrolment_id=enrolment_id,
                                          session_id=session_id)
    options = generate_registration_options(
        rp_id=settings.rp_id, rp_name="Corridor", user_name=person["email"],
        user_display_name=person["display_name"], user_id=base64url_to_bytes(person["user_handle"]),
        challenge=challenge, timeout=120_000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED, require_resident_key=True,
            user_verification=UserVerificationRequirement.REQUIRED),
        exclude_credentials=await _descriptors(person_id),
    )
    return {"key": key, "publicKey": json.loads(options_to_json(options))}


def _clean_passkey_name(name: str, fallback: str) -> str:
    name = " ".join((name or "").split())[:80]
    return name or fallback


async def _verify_registration(settings: Settings, challenge: dict, credential: dict) -> Any:
    try:
        return verify_registration_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge["challenge"]),
            expected_rp_id=settings.rp_id, expected_origin=settings.origin, require_user_verification=True)
    except (WebAuthnException, ValueError, KeyError, TypeError, AttributeError) as exc:
        # WebAuthnException: InvalidJSONStructure and the rest of what a malformed response raises.
        raise AuthenticationFailed(f"The passkey could not be created: {exc}") from None


async def _store_passkey(person_id: int, verified: Any, credential: dict, name: str) -> int:
    transports = credential.get("response", {}).get("transports") or []
    passkey = Passkey(
        person=person_id, credential_id=bytes_to_base64url(verified.credential_id),
        public_key=bytes_to_base64url(verified.credential_public_key), sign_count=verified.sign_count,
        transports=",".join(str(t) for t in transports if isinstance(t, str))[:200], name=name,
        backed_up=bool(getattr(verified, "credential_backed_up", False)), created_at=clock.now())
    await passkey.save()
    return passkey.id


async def complete_enrolment(settings: Settings, token: str, challenge_key: str, credential: dict, *,
                             passkey_name: str, origin: Origin, user_agent: str) -> str:
    """Verify the new passkey, use up the link, and sign the person in; returns the session token."""
    enrolment = await open_enrolment(token)
    challenge = await _consume_challenge(challenge_key, "register")
    if challenge["enrolment"] != enrolment["id"]:
        raise AuthenticationFailed("That passkey request belongs to another link. Please try again.")
    verified = await _verify_registration(settings, challenge, credential)
    person_id = enrolment["person.id"]
    async with db().transaction():
        # Use the link up conditionally: of two racing completions, exactly one wins.
        used = await EnrolmentToken.update({EnrolmentToken.used_at: clock.now()}).where(
            (EnrolmentToken.id == enrolment["id"]) & EnrolmentToken.used_at.is_null()
            & EnrolmentToken.revoked_at.is_null()).returning(EnrolmentToken.id)
        if not used:
            raise Gone("This enrolment link has already been used.")
        passkey_id = await _store_passkey(person_id, verified, credential,
                                          _clean_passkey_name(passkey_name, _device_name(user_agent)))
        label = f"{enrolment['person.display_name']} <{enrolment['person.email']}>"
        await audit.record("enrolment.completed", actor_id=person_id, actor_label=label, subject_type="passkey",
                           subject_id=passkey_id, origin=origin)
        return await _create_session(settings, person_id, label, origin, user_agent)


async def add_passkey(settings: Settings, actor: Actor, challenge_key: str, credential: dict, name: str) -> int:
    """Register another passkey for the signed-in person."""
    challenge = await _consume_challenge(challenge_key, "register")
    if challenge["person"] != actor.person_id or challenge["session"] != actor.session_id:
        raise AuthenticationFailed("That passkey request belongs to someone else. Please try again.")
    verified = await _verify_registration(settings, challenge, credential)
    async with db().transaction():
        passkey_id = await _store_passkey(actor.person_id, verified, credential,
                                          _clean_passkey_name(name, _device_name(actor.origin.device)))
        await audit.record("passkey.added", actor_id=actor.person_id, actor_label=actor.label,
                           subject_type="passkey", subject_id=passkey_id, origin=actor.origin)
    return passkey_id


async def authentication_options(settings: Settings, *, actor: Actor | None = None) -> dict[str, Any]:
    """Usernameless sign-in options, or (with an actor) a step-up limited to their own passkeys."""
    purpose = "step_up" if actor else "signin"
    key, challenge = await _new_challenge(purpose, person_id=actor.person_id if actor else None,
                                          session_id=actor.session_id if actor else None)
    options = generate_authentication_options(
        rp_id=settings.rp_id, challenge=challenge, timeout=120_000,
        allow_credentials=await _descriptors(actor.person_id) if actor else None,
        user_verification=UserVerificationRequirement.REQUIRED)
    return {"key": key, "publicKey": json.loads(options_to_json(options))}


async def _verify_assertion(settings: Settings, challenge: dict, credential: dict, origin: Origin) -> dict:
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    row = await Passkey.select(
        Passkey.id, Passkey.public_key, Passkey.sign_count, Passkey.person.id, Passkey.person.email,
        Passkey.person.display_name, Passkey.person.disabled_at, Passkey.person.user_handle,
        Passkey.person.guest_until,
    ).where(Passkey.credential_id == (credential_id or "")).first() if isinstance(credential_id, str) else None
    if not row:
        await audit.record("signin.failed", origin=origin, detail={"reason": "unknown passkey"})
        raise AuthenticationFailed("This passkey is not registered with Corridor. Ask your admin for an enrolment link.")
    try:
        response = credential.get("response") or {}
        handle = response.get("userHandle") if isinstance(response, dict) else None
        if handle and handle != row["person.user_handle"]:
            raise InvalidAuthenticationResponse("user handle does not match")
        verified = verify_authentication_response(
            credential=credential, expected_challenge=base64url_to_bytes(challenge["challenge"]),
            expected_rp_id=settings.rp_id, expected_origin=settings.origin,
            credential_public_key=base64url_to_bytes(row["public_key"]),
            credential_current_sign_count=row["sign_count"], require_user_verification=True)
    except Exception as exc:  # noqa: BLE001
        # Whatever the library raises on a malformed response (InvalidJSONStructure, a bad CBOR or base64 part,
        # a wrong type anywhere) is a failed sign-in by the person who owns this credential: audited, and a 400.
        await audit.record("signin.failed", actor_id=row["person.id"], actor_label=row["person.email"], origin=origin,
                           subject_type="passkey", subject_id=row["id"], detail={"reason": str(exc)[:200]})
        raise AuthenticationFailed("Your passkey could not be verified. Please try again.") from None
    if row["person.disabled_at"] or (row["person.guest_until"] and row["person.guest_until"] <= clock.now()):
        await audit.record("signin.failed", actor_id=row["person.id"], actor_label=row["person.email"], origin=origin,
                           detail={"reason": "disabled or guest pass ended"})
        raise AuthenticationFailed("Your Corridor account is not active. Speak to your school's Corridor admin.")
    await Passkey.update({Passkey.sign_count: verified.new_sign_count, Passkey.last_used_at: clock.now()}).where(
        Passkey.id == row["id"])
    return row


FAILURE_WINDOW = dt.timedelta(minutes=15)


async def _check_passkey_not_locked(settings: Settings, credential: Any, origin: Origin) -> None:
    """Failed sign-ins are limited per passkey as well as per address: guessing at one account from many
    addresses is stopped, while a whole school behind one address keeps its own allowance."""
    credential_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(credential_id, str):
        return
    passkey = await Passkey.select(Passkey.id).where(Passkey.credential_id == credential_id).first()
    if not passkey:
        return
    # Counted up to the limit, chained or still waiting to be chained (PostgreSQL, under load): every failure counts.
    failures = await audit.find({"action": "signin.failed", "subject_type": "passkey", "subject_id": passkey["id"]},
                                since=clock.now() - FAILURE_WINDOW, limit=settings.signin_failures_per_passkey)
    if len(failures) >= settings.signin_failures_per_passkey:
        await audit.record("signin.refused", subject_type="passkey", subject_id=passkey["id"], origin=origin,
                           detail={"reason": "too many failed attempts with this passkey"})
        raise TooManyAttempts("Too many failed sign-ins with this passkey. Wait 15 minutes and try again, or ask "
                              "your school's Corridor admin.")


async def sign_in(settings: Settings, challenge_key: str, credential: dict, *, origin: Origin,
                  user_agent: str) -> str:
    """Usernameless passkey sign-in; returns a new session token."""
    try:
        challenge = await _consume_challenge(challenge_key, "signin")
    except AuthenticationFailed:
        await audit.record("signin.failed", origin=origin, detail={"reason": "expired or reused challenge"})
        raise
    await _check_passkey_not_locked(settings, credential, origin)
    # Verified outside the transaction so that a failure's audit entry is kept.
    row = await _verify_assertion(settings, challenge, credential, origin)
    async with db().transaction():
        label = f"{row['person.display_name']} <{row['person.email']}>"
        await audit.record("signin.succeeded", actor_id=row["person.id"], actor_label=label,
                           subject_type="passkey", subject_id=row["id"], origin=origin)
        return await _create_session(settings, row["person.id"], label, origin, user_agent)


async def step_up(settings: Settings, actor: Actor, challenge_key: str, credential: dict) -> None:
    """A fresh passkey check for a sensitive action; it holds for STEP_UP_MINUTES."""
    challenge = await _consume_challenge(challenge_key, "step_up")
    if challenge["session"] != actor.session_id:
        raise AuthenticationFailed("That passkey request belongs to another session. Please try again.")
    row = await _verify_assertion(settings, challenge, credential, actor.origin)
    if row["person.id"] != actor.person_id:
        raise AuthenticationFailed("That passkey belongs to someone else.")
    async with db().transaction():
        await Session.update({Session.verified_at: clock.now()}).where(Session.id == actor.session_id)
        await audit.record("session.verified", actor_id=actor.person_id, actor_label=actor.label,
                           subject_type="session", subject_id=actor.session_id, origin=actor.origin)


# Sessions ----------------------------------------------------------------------------------------------

async def _create_session(settings: Settings, person_id: int, label: str, origin: Origin, user_agent: str) -> str:
    token = secrets.token_urlsafe(32)
    now = clock.now()
    schools = await schools_of(person_id)
    session = Session(
        token_hash=_hash(token), person=person_id, school=schools[0]["id"] if schools else None, created_at=now,
        last_seen_at=now, verified_at=now, expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
        device=_device_name(user_agent), ip=origin.ip)
    await session.save()
    await audit.record("session.created", actor_id=person_id, actor_label=label, subject_type="session",
                       subject_id=session.id, subject_label=session.device, origin=origin)
    return token


# The session, its person, its school and the person's roles there, in one statement: this runs on every
# signed-in request, and every process reads the session and person as they stand now, so a session ended or a
# person disabled through any process is refused on the very next request in every other one (nothing about a
# session or an actor is cached between requests). One row per role (a row with a NULL role when there is none):
# roles given at the session's school, and trust-wide roles (no school) of that school's trust.
_ACTOR_SQL = """
SELECT s."id" AS "id", s."school" AS "school", s."last_seen_at" AS "last_seen_at",
       s."expires_at" AS "expires_at", s."verified_at" AS "verified_at", s."ended_at" AS "ended_at",
       p."id" AS "person.id", p."display_name" AS "person.display_name", p."email" AS "person.email",
       p."disabled_at" AS "person.disabled_at", p."guest_until" AS "person.guest_until",
       sc."name" AS "school.name", sc."trust" AS "school.trust", m."role" AS "role"
FROM "session" s
JOIN "person" p ON p."id" = s."person"
LEFT JOIN "school" sc ON sc."id" = s."school"
LEFT JOIN "membership" m ON m."person" = s."person" AND (
    m."school" = s."school" OR (m."school" IS NULL AND m."trust" = sc."trust"))
WHERE s.{key} = {{}}
"""
_ACTOR_BY_TOKEN = _ACTOR_SQL.format(key='"token_hash"')
_ACTOR_BY_SESSION = _ACTOR_SQL.format(key='"id"')


async def _live_session(settings: Settings, row: dict | None, now: dt.datetime) -> bool:
    """Whether a session row still signs its person in; one found timed out is ended here, for good."""
    if not row or row["ended_at"] or row["person.disabled_at"]:
        return False
    idle = dt.timedelta(minutes=settings.session_idle_minutes)
    guest_over = row["person.guest_until"] is not None and row["person.guest_until"] <= now
    if row["expires_at"] <= now or row["last_seen_at"] + idle <= now or guest_over:
        reason = "guest pass ended" if guest_over else ("absolute timeout" if row["expires_at"] <= now else "idle timeout")
        await Session.update({Session.ended_at: now, Session.ended_reason: reason}).where(
            (Session.id == row["id"]) & Session.ended_at.is_null())
        return False
    return True


def _actor_of(rows: list[dict], origin: Origin) -> Actor:
    row = rows[0]
    return Actor(
        person_id=row["person.id"], display_name=row["person.display_name"], email=row["person.email"],
        session_id=row["id"], school_id=row["school"], trust_id=row["school.trust"],
        school_name=row["school.name"] or "",
        roles=frozenset(r["role"] for r in rows if r["role"]) if row["school"] else frozenset(),
        verified_at=row["verified_at"], origin=origin)


async def load_actor(settings: Settings, token: str | None, origin: Origin) -> Actor | None:
    """The person behind a session cookie, or None if the session is unknown, ended, idle or too old."""
    if not token:
        return None
    rows = await raw_sql(Session, _ACTOR_BY_TOKEN, _hash(token))
    row = rows[0] if rows else None
    now = clock.now()
    if not await _live_session(settings, row, now):
        return None
    # Activity keeps a session from idling out, but a write on every request would cost more than the read: the
    # time is written at most once a minute, so a session may idle out up to a minute early, never late. The write
    # takes its turn with the process's other writers (atomic): on SQLite a write outside that queue waits in
    # SQLite's busy handler instead, and while incidents are being saved it lost every race for seconds.
    if now - row["last_seen_at"] >= TOUCH_EVERY:
        async with atomic():
            await Session.update({Session.last_seen_at: now}).where(Session.id == row["id"])
    return _actor_of(rows, origin)


async def recheck_actor(settings: Settings, actor: Actor) -> Actor | None:
    """The actor as their session stands now, for a request that lasts (a live stream): None once it has ended,
    the person is disabled, it is idle or too old or the guest pass is over; otherwise with roles read again.

    Unlike load_actor it is not activity: an open stream alone does not keep a session from idling out.
    """
    rows = await raw_sql(Session, _ACTOR_BY_SESSION, actor.session_id)
    if not await _live_session(settings, rows[0] if rows else None, clock.now()):
        return None
    return _actor_of(rows, actor.origin)


async def list_sessions(actor: Actor) -> list[dict]:
    now = clock.now()
    rows = await Session.select(
        Session.id, Session.device, Session.ip, Session.created_at, Session.last_seen_at, Session.expires_at,
    ).where((Session.person == actor.person_id) & Session.ended_at.is_null() & (Session.expires_at > now)).order_by(
        Session.last_seen_at, ascending=False)
    for r in rows:
        r["current"] = r["id"] == actor.session_id
    return rows


async def end_session(actor: Actor, session_id: int, *, reason: str = "signed out") -> None:
    """End one of the actor's own sessions (another person's session is 'not found')."""
    async with db().transaction():
        rows = await Session.update({Session.ended_at: clock.now(), Session.ended_reason: reason}).where(
            (Session.id == session_id) & (Session.person == actor.person_id) & Session.ended_at.is_null()
        ).returning(Session.id, Session.device)
        if not rows:
            raise NotFound("That session has already ended.")
        await audit.record("session.ended" if session_id == actor.session_id else "session.revoked",
                           actor_id=actor.person_id, actor_label=actor.label, subject_type="session",
                           subject_id=session_id, subject_label=rows[0]["device"], origin=actor.origin,
                           detail={"reason": reason})


async def end_all_sessions(person_id: int, *, reason: str) -> int:
    rows = await Session.update({Session.ended_at: clock.now(), Session.ended_reason: reason}).where(
        (Session.person == person_id) & Session.ended_at.is_null()).returning(Session.id)
    return len(rows)


async def revoke_sessions_by_email(email: str, *, origin: Origin) -> int:
    """End every session of a person (the CLI's answer to a lost phone)."""
    person = await Person.select(Person.id, Person.email).where(Person.email == email.strip().lower()).first()
    if not person:
        raise NotFound(f"No one with the email {email!r}.")
    async with db().transaction():
        count = await end_all_sessions(person["id"], reason="revoked")
        await audit.record("sessions.revoked", actor_label="corridor command", subject_type="person",
                           subject_id=person["id"], subject_label=person["email"], origin=origin,
                           detail={"count": count})
    return count


async def switch_school(actor: Actor, school_id: int) -> None:
    if school_id not in {s["id"] for s in await schools_of(actor.person_id)}:
        raise NotFound()
    async with db().transaction():
        await Session.update({Session.school: school_id}).where(Session.id == actor.session_id)
        await audit.record("session.school_changed", actor_id=actor.person_id, actor_label=actor.label,
                           school_id=school_id, subject_type="session", subject_id=actor.session_id,
                           origin=actor.origin)


# Mobile number (the home-visit alarm's SMS, issue 14) ---------------------------------------------------

MOBILE_MESSAGE = "Give a UK mobile number, like 07700 900123 or +44 7700 900123."


def uk_mobile(raw: str) -> str | None:
    """A UK mobile number as +447…, or None if it is not one: 07 then ten digits in the mobile ranges (071-075,
    077-079, and 07624), typed with or without +44, spaces, dashes or brackets. 070 (personal numbering) and 076
    (pagers) cannot take an alarm's text."""
    text = (raw or "").strip().replace("(0)", "")
    digits = "".join(c for c in text if c not in " -().")
    if digits.startswith("+44"):
        digits = "0" + digits[3:]
    elif digits.startswith("0044"):
        digits = "0" + digits[4:]
    if len(digits) != 11 or not digits.isascii() or not digits.isdigit():
        return None
    if digits[:3] in ("071", "072", "073", "074", "075", "077", "078", "079") or digits.startswith("07624"):
        return "+44" + digits[1:]
    return None


async def mobile_of(person_id: int) -> str:
    row = await Person.select(Person.mobile).where(Person.id == person_id).first()
    return row["mobile"] if row else ""


async def set_mobile(actor: Actor, raw: str) -> None:
    """A person sets (or, left empty, removes) their own mobile, for the alarm texts. Audited, without the number."""
    text = (raw or "").strip()
    number = uk_mobile(text) if text else ""
    if number is None:
        raise ValidationFailed({"mobile": MOBILE_MESSAGE})
    async with db().transaction():
        await Person.update({Person.mobile: number}).where(Person.id == actor.person_id)
        await audit.record("person.mobile_changed", actor_id=actor.person_id, actor_label=actor.label,
                           subject_type="person", subject_id=actor.person_id, origin=actor.origin,
                           detail={"mobile": "set" if number else "removed"})


# Passkeys ----------------------------------------------------------------------------------------------

async def list_passkeys(actor: Actor) -> list[dict]:
    return await Passkey.select(Passkey.id, Passkey.name, Passkey.created_at, Passkey.last_used_at,
                                Passkey.backed_up).where(Passkey.person == actor.person_id).order_by(Passkey.id)


async def rename_passkey(actor: Actor, passkey_id: int, name: str) -> None:
    name = " ".join((name or "").split())
    if not name or len(name) > 80:
        raise BadRequest("Give the passkey a name of up to 80 characters, like “Work phone”.")
    async with db().transaction():
        rows = await Passkey.update({Passkey.name: name}).where(
            (Passkey.id == passkey_id) & (Passkey.person == actor.person_id)).returning(Passkey.id)
        if not rows:
            raise NotFound("That passkey was not found.")
        await audit.record("passkey.renamed", actor_id=actor.person_id, actor_label=actor.label,
                           subject_type="passkey", subject_id=passkey_id, subject_label=name, origin=actor.origin)


def recently_verified(settings: Settings, actor: Actor) -> bool:
    return clock.now() - actor.verified_at <= dt.timedelta(minutes=settings.step_up_minutes)


async def remove_passkey(settings: Settings, actor: Actor, passkey_id: int) -> None:
    """Remove one of the actor's passkeys, after a fresh verification; the last one cannot go."""
    passkey = await Passkey.select(Passkey.id, Passkey.name).where(
        (Passkey.id == passkey_id) & (Passkey.person == actor.person_id)).first()
    if not passkey:
        raise NotFound("That passkey was not found.")
    if not recently_verified(settings, actor):
        raise NeedsVerification("Removing a passkey needs a fresh check with one of your passkeys.")
    async with db().transaction():
        if await Passkey.count().where(Passkey.person == actor.person_id) <= 1:
            raise BadRequest("This is your only passkey. Add another before removing it, or you could not sign in.")
        await Passkey.delete().where(Passkey.id == passkey_id)
        await audit.record("passkey.removed", actor_id=actor.person_id, actor_label=actor.label,
                           subject_type="passkey", subject_id=passkey_id, subject_label=passkey["name"],
                           origin=actor.origin)


# Inviting many people at once -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Invited:
    """One person a bulk invitation reached: their single-use link, or None when their own passkey is for them
    to use (a colleague from another school of the trust, whom only a trust admin may send a link)."""

    person_id: int
    display_name: str
    email: str
    roles: list[str]
    link: str | None


async def invite_people(settings: Settings, actor: Actor, text: str, *, expected: int | None = None) -> list[Invited]:
    """Invite everyone on the pasted lines to the actor's school, all or nothing, in one transaction: a person
    with their roles and a single-use link each, audited as a single invitation is. Any line that cannot be used
    (or a count that no longer matches the preview) raises InvitesInvalid and writes nothing."""
    invited: list[Invited] = []
    async with atomic():
        plan = await plan_invites(actor, text)
        if not plan.can_invite:
            raise InvitesInvalid(plan, "Nothing was written: correct the lines below." if plan.faulty or plan.problems
                                 else "Nobody on these lines can be invited: nothing was written.")
        if expected is not None and expected != len(plan.invitable):
            raise InvitesInvalid(plan, "The list changed since it was checked: nothing was written. Check it "
                                       "below and invite again.")
        for entry in plan.invitable:
            person_id = await add_person(email=entry.email, display_name=entry.name, school_id=actor.school_id,
                                         roles=entry.roles, actor=actor, origin=actor.origin)
            invited.append(await _invited(settings, actor, person_id, entry.roles))
    return invited


async def _invited(settings: Settings, actor: Actor, person_id: int, roles: list[str]) -> Invited:
    person = await Person.select(Person.display_name, Person.email).where(Person.id == person_id).first()
    link = None
    if await manages_whole_person(actor, person_id):
        link = await issue_enrolment(settings, person_id, by=actor, origin=actor.origin)
    return Invited(person_id, person["display_name"], person["email"], roles, link)


# The roles an admin may give someone the MIS import brought in: the MIS says they are staff, so not a guest pass.
MIS_ROLES = {key: label for key, label in ROLES.items() if key != "guest"}


async def uninvited_staff(actor: Actor) -> list[dict]:
    """People at the actor's school who have never been sent an enrolment link and have no passkey, and whom the
    actor may send one: the staff an MIS import brought in (it gives them the staff role and no link)."""
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound()
    rows = await Membership.select(Membership.person.id, Membership.person.display_name, Membership.person.email,
                                   Membership.role).where(
        (Membership.school == actor.school_id) & Membership.person.disabled_at.is_null()
        & (Membership.person != actor.person_id))
    people: dict[int, dict] = {}
    for r in rows:
        people.setdefault(r["person.id"], {"id": r["person.id"], "display_name": r["person.display_name"],
                                           "email": r["person.email"], "roles": set()})["roles"].add(r["role"])
    ids = list(people)
    reached: set[int] = set()
    every: dict[int, list[dict]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        reached |= {r["person"] for r in await EnrolmentToken.select(EnrolmentToken.person).where(
            EnrolmentToken.person.is_in(chunk))}
        reached |= {r["person"] for r in await Passkey.select(Passkey.person).where(Passkey.person.is_in(chunk))}
        for r in await Membership.select(Membership.person, Membership.trust, Membership.school).where(
                Membership.person.is_in(chunk)):
            every.setdefault(r["person"], []).append(r)
    # A link signs in as the whole person: someone who also works at a school the actor does not administer is
    # for a trust admin (as schools.manages_whole_person decides for one person).
    trust_admin = await is_trust_admin(actor)
    administered = {r["school"] for r in await Membership.select(Membership.school).where(
        (Membership.person == actor.person_id) & (Membership.role == "admin") & Membership.school.is_not_null())}

    def whole(person_id: int) -> bool:
        theirs = every.get(person_id, [])
        return bool(theirs) and all(m["trust"] == actor.trust_id for m in theirs) and (
            trust_admin or all(m["school"] in administered for m in theirs))

    return sorted((p for pid, p in people.items() if pid not in reached and whole(pid)),
                  key=lambda p: p["display_name"].lower())


class MisInvitesInvalid(BadRequest):
    """A choice from the MIS list that cannot be used: the list is shown again, with what was chosen."""


async def invite_from_mis(settings: Settings, actor: Actor, choices: list[tuple[str, str]]) -> list[Invited]:
    """Send links to people chosen from the not-yet-invited list, each given a role at the actor's school on top
    of what the import gave them; all or nothing, in one transaction, audited as single invitations are."""
    if actor.school_id is None or not actor.has("admin"):
        raise NotFound()
    if not choices:
        raise MisInvitesInvalid("Tick at least one person to invite.")
    if len(choices) > BULK_INVITE_MAX:
        raise MisInvitesInvalid(f"At most {BULK_INVITE_MAX} people at a time: tick fewer and invite the rest after.")
    wanted: dict[int, str] = {}
    for raw_id, role in choices:
        person_id = parse_id(raw_id)
        if person_id is None:
            raise MisInvitesInvalid("Person: that choice is not on the list. Nothing was sent.")
        if role not in MIS_ROLES:
            raise MisInvitesInvalid(f"Role: choose one of {', '.join(MIS_ROLES.values())}. Nothing was sent.")
        wanted[person_id] = role
    invited: list[Invited] = []
    async with atomic():
        listed = {p["id"]: p for p in await uninvited_staff(actor)}
        if any(person_id not in listed for person_id in wanted):
            # Another school's person, or someone invited since the page was loaded: the same answer for both.
            raise MisInvitesInvalid("Someone you ticked is no longer on the list (they may have been invited "
                                    "meanwhile). Nothing was sent: check the list and try again.")
        for person_id, role in sorted(wanted.items(), key=lambda item: listed[item[0]]["display_name"].lower()):
            roles = sorted(listed[person_id]["roles"] | {role})
            if role not in listed[person_id]["roles"]:
                await set_roles(actor, person_id, roles)
            invited.append(await _invited(settings, actor, person_id, roles))
    return invited
