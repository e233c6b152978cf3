from __future__ import annotations

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table


class Trust(Table):
    name = Varchar(length=200)
    slug = Varchar(length=80, unique=True)
    created_at = Timestamptz()


class School(Table):
    trust = ForeignKey(references=Trust, on_delete=OnDelete.restrict, index=True)
    name = Varchar(length=200)
    slug = Varchar(length=80, unique=True)
    urn = Varchar(length=10, null=True, default=None)
    la_code = Varchar(length=3)
    establishment_number = Varchar(length=4)
    phase = Varchar(length=30, default="")  # a key of schools.service.PHASES, or empty when not given
    # The OneRoster org sourcedId a MIS import matched or created this school from: later imports match by it.
    oneroster_sourced_id = Varchar(length=64, default="")
    created_at = Timestamptz()
    # Bumped by every change to the school's pupils, so each process knows when its lookup index is stale.
    pupils_changed_at = Timestamptz(null=True, default=None)


class Person(Table):
    """A member of staff (or a guest) who signs in. Pupils are not people who sign in."""

    email = Varchar(length=254, unique=True)
    display_name = Varchar(length=200)
    user_handle = Varchar(length=100, unique=True)  # WebAuthn user.id, base64url, no personal data
    disabled_at = Timestamptz(null=True, default=None)
    disabled_reason = Text(default="")
    guest_until = Timestamptz(null=True, default=None)
    created_at = Timestamptz()
    # The person's own UK mobile (+447…), for the home-visit alarm's texts; empty: no texts.
    mobile = Varchar(length=20, default="")


class Membership(Table):
    """One role of one person: at one school, or (school empty) at every school of a trust."""

    person = ForeignKey(references=Person, on_delete=OnDelete.cascade, index=True)
    trust = ForeignKey(references=Trust, on_delete=OnDelete.restrict, index=True)
    school = ForeignKey(references=School, on_delete=OnDelete.restrict, null=True, index=True)
    role = Varchar(length=20)
    created_at = Timestamptz()
    years = Varchar(length=60, default="")  # for a head of year: the NC year codes they lead, comma-separated
