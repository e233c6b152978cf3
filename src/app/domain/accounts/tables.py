from __future__ import annotations

from piccolo.columns import (
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.table import Table

from app.domain.schools.tables import Person, School


class Passkey(Table):
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    credential_id = Varchar(length=1400, unique=True)  # base64url
    public_key = Text()  # base64url of the COSE key
    sign_count = Integer(default=0)
    transports = Text(default="")  # comma-separated hints for the browser
    name = Varchar(length=80)
    backed_up = Boolean(default=False)
    created_at = Timestamptz()
    last_used_at = Timestamptz(null=True, default=None)


class Session(Table):
    """A signed-in device. The cookie holds a random token; only its SHA-256 is stored."""

    token_hash = Varchar(length=64, unique=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, null=True)
    created_at = Timestamptz()
    last_seen_at = Timestamptz()
    expires_at = Timestamptz()
    verified_at = Timestamptz()
    ended_at = Timestamptz(null=True, default=None)
    ended_reason = Varchar(length=40, default="")
    device = Varchar(length=120, default="")
    ip = Varchar(length=64, default="")


class EnrolmentToken(Table):
    """A single-use link an admin (or the CLI) issues so a person can create a passkey."""

    token_hash = Varchar(length=64, unique=True)
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    issued_by = ForeignKey(references=Person, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz()
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class Challenge(Table):
    """A WebAuthn challenge: single use, short-lived, bound to its purpose."""

    key = Varchar(length=64, unique=True)
    purpose = Varchar(length=20)  # register | signin | step_up
    challenge = Varchar(length=100)  # base64url
    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, null=True)
    session = ForeignKey(references=Session, on_delete=OnDelete.cascade, null=True)
    enrolment = ForeignKey(references=EnrolmentToken, on_delete=OnDelete.cascade, null=True)
    created_at = Timestamptz()
    expires_at = Timestamptz(index=True)
    used_at = Timestamptz(null=True, default=None)
