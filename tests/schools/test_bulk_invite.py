"""Staff arrive in bulk (issue 11, point 15): an admin pastes `email, role[, role…][, name]` lines, checks them, and
invites everyone at once, all or nothing; or ticks staff the MIS import brought in. Each person gets a single-use
link, audited as a single invitation is; only the admin's own school is reached."""

import html
import logging
import re

from app.domain.accounts.tables import EnrolmentToken
from app.domain.audit.tables import AuditEvent
from app.domain.imports import service as imports
from app.domain.schools.service import parse_invite_lines, roles_at
from app.domain.schools.tables import Membership, Person
from tests.conftest import enrol, give_passkey, post_form, sign_in
from tests.imports.files import actor_of, corridor_set

LINK = re.compile(r"http://localhost:8000/enrol/[A-Za-z0-9_-]{20,}")
THREE = ("nina.new@northbridge.example, staff, pastoral, Nina New\n"
         "omar.oak@northbridge.example;responder;Omar Oak\n"
         "pia.pine@northbridge.example\thead of year\tPia Pine\n")


async def people_named(*emails: str) -> dict[str, dict]:
    rows = await Person.select().where(Person.email.is_in(list(emails)))
    return {r["email"]: r for r in rows}


async def preview(client, lines: str):
    return await post_form(client, "/admin/people/bulk/preview", {"lines": lines}, page="/admin/people/bulk")


async def invite(client, lines: str, count: int | None = None):
    data = {"lines": lines} | ({"count": str(count)} if count is not None else {})
    return await post_form(client, "/admin/people/bulk", data, page="/admin/people/bulk")


def errors_of(page: str) -> list[str]:
    block = re.search(r'<ul class="bulk-errors">(.*?)</ul>', page, re.S)
    return [html.unescape(" ".join(li.split())) for li in re.findall(r"<li>(.*?)</li>", block.group(1), re.S)] if block else []


# Pasted lines ----------------------------------------------------------------------------------------------

async def test_it_invites_everyone_on_pasted_lines_with_a_link_each(client, settings, cast, authenticator):
    await sign_in(client, settings, cast.admin)
    checked = await preview(client, "Email, Role, Name\n\n" + THREE)  # a spreadsheet's header row is skipped
    assert checked.status_code == 200
    assert "Invite 3 people" in checked.text and await Person.count() == 8  # the preview writes nothing

    response = await invite(client, "Email, Role, Name\n\n" + THREE, count=3)
    assert response.status_code == 200
    people = await people_named("nina.new@northbridge.example", "omar.oak@northbridge.example",
                                "pia.pine@northbridge.example")
    assert {e: p["display_name"] for e, p in people.items()} == {
        "nina.new@northbridge.example": "Nina New", "omar.oak@northbridge.example": "Omar Oak",
        "pia.pine@northbridge.example": "Pia Pine"}
    nina, omar, pia = (people[e]["id"] for e in sorted(people))
    assert await roles_at(nina, cast.school_id) == {"staff", "pastoral"}
    assert await roles_at(omar, cast.school_id) == {"responder"}
    assert await roles_at(pia, cast.school_id) == {"head_of_year"}
    links = LINK.findall(response.text)
    assert len(set(links)) == 3
    for person_id in (nina, omar, pia):
        assert await EnrolmentToken.count().where(EnrolmentToken.person == person_id) == 1
    # Each link on the page has a Copy button, and a Share button for browsers with Web Share, naming the person.
    for name in ("Nina New", "Omar Oak", "Pia Pine"):
        assert f'Copy<span class="sr-only"> the link for {name}</span>' in response.text
        assert f'Share<span class="sr-only"> the link for {name}</span>' in response.text
    assert '/static/js/share-link.js' in response.text and response.headers["cache-control"] == "no-store"

    # A link from the page works: Nina sets up a passkey with it.
    nina_link = re.search(r'id="link-1" readonly value="([^"]+)"', response.text).group(1)
    client.cookies.clear()
    assert (await enrol(client, authenticator, nina_link)).status_code == 200


async def test_it_reads_spreadsheet_cells_role_labels_and_a_missing_name():
    plan = parse_invite_lines("# staff joining in September\n"
                              "a@x.example\tOn-call responder\tDesignated safeguarding lead\tAl Ash\n"
                              "B@X.example ; Guest (supply / cover)\n"
                              "c@x.example, HOY, staff\n")
    assert [(e.line, e.email, e.roles, e.name, e.errors) for e in plan.lines] == [
        (2, "a@x.example", ["dsl", "responder"], "Al Ash", []),
        (3, "b@x.example", ["guest"], "b", []),
        (4, "c@x.example", ["head_of_year", "staff"], "c", []),
    ]


async def test_it_writes_nothing_when_any_line_is_bad_and_names_each_line_and_field(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    lines = ("good.one@northbridge.example, staff, Good One\n"
             "not-an-email, staff, Who\n"
             "good.two@northbridge.example, staff, Good Two\n"
             "no.role@northbridge.example\n"
             f"far.away@northbridge.example, staff, {'x' * 201}\n")
    before = (await Person.count(), await Membership.count(), await EnrolmentToken.count(), await AuditEvent.count())
    checked = await preview(client, lines)
    assert checked.status_code == 400
    assert errors_of(checked.text) == [
        "Line 2, email: 'not-an-email' is not an email address; each line starts with one, like name@school.sch.uk",
        "Line 4, role: no role; give at least one of staff, guest, responder, pastoral, pastoral lead, head of year, dsl or admin",
        "Line 5, name: longer than 200 characters",
    ]
    assert "Invite 2 people" not in checked.text and 'id="invite-many-form"' not in checked.text
    assert "good.one@northbridge.example, staff, Good One" in checked.text  # what was typed is kept

    # Posting the lines to the invitation anyway (a stale page, a crafted form): still nothing is written.
    response = await invite(client, lines, count=2)
    assert response.status_code == 400
    assert "Nothing was written" in response.text and "Line 2, email:" in html.unescape(response.text)
    assert not LINK.search(response.text)
    after = (await Person.count(), await Membership.count(), await EnrolmentToken.count(), await AuditEvent.count())
    assert after == before


async def test_it_refuses_the_same_email_twice_in_one_paste(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await invite(client, "dup@northbridge.example, staff, Dee One\n"
                                    "other@northbridge.example, staff\n"
                                    "DUP@northbridge.example, pastoral, Dee Two\n")
    assert response.status_code == 400
    assert errors_of(response.text) == [
        "Line 1, email: dup@northbridge.example is also on line 3: one line per person",
        "Line 3, email: dup@northbridge.example is also on line 1: one line per person",
    ]
    assert await people_named("dup@northbridge.example", "other@northbridge.example") == {}


async def test_it_leaves_someone_already_at_the_school_as_they_are(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    lines = f"{cast.dsl.email}, staff, Someone Else\nnew.face@northbridge.example, staff, New Face\n"
    checked = await preview(client, lines)
    assert checked.status_code == 200
    assert "already at Northbridge Academy: left as they are" in checked.text and "Invite 1 person" in checked.text

    response = await invite(client, lines, count=1)
    assert response.status_code == 200 and len(LINK.findall(response.text)) == 1
    assert "New Face" in response.text and "Dee Lead" not in response.text
    assert await roles_at(cast.dsl.id, cast.school_id) == {"staff", "dsl"}  # not replaced by "staff"
    assert await EnrolmentToken.count().where(EnrolmentToken.person == cast.dsl.id) == 0

    only_here = await invite(client, f"{cast.dsl.email}, staff\n")
    assert only_here.status_code == 400 and "Nobody on these lines can be invited" in only_here.text


async def test_it_refuses_an_unknown_role(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await invite(client, "ana@northbridge.example, teecher, Ana Ash\n"
                                    "ben@northbridge.example, staff, superuser, Ben Birch\n")
    assert response.status_code == 400
    assert errors_of(response.text) == [
        "Line 1, role: 'teecher' is not a role; use staff, guest, responder, pastoral, pastoral lead, head of year, dsl or admin",
        "Line 2, role: 'superuser' is not a role; use staff, guest, responder, pastoral, pastoral lead, head of year, dsl or admin",
    ]
    assert await people_named("ana@northbridge.example", "ben@northbridge.example") == {}


async def test_it_refuses_more_than_500_people_at_once(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    lines = "".join(f"person{n}@northbridge.example, staff\n" for n in range(501))
    response = await invite(client, lines, count=501)
    assert response.status_code == 400
    assert errors_of(response.text) == [
        "Lines: at most 500 people at a time; this list has 501. Invite the rest afterwards."]
    assert await Person.count() == 8
    empty = await preview(client, "\n  \n")
    assert empty.status_code == 400 and "Lines: paste one person per line" in empty.text


async def test_it_refuses_an_address_of_another_trust(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await invite(client, f"{cast.outsider.email}, staff, Otto\nfine@northbridge.example, staff\n")
    assert response.status_code == 400
    assert errors_of(response.text) == ["Line 1, email: this address belongs to someone at another trust; use the "
                                        "person's address at this school"]
    assert await roles_at(cast.outsider.id, cast.school_id) == frozenset()
    assert await people_named("fine@northbridge.example") == {}


async def test_it_writes_nothing_if_the_list_changed_since_the_preview(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    response = await invite(client, "late@northbridge.example, staff\nlater@northbridge.example, staff\n", count=3)
    assert response.status_code == 400 and "The list changed since it was checked" in response.text
    assert await people_named("late@northbridge.example", "later@northbridge.example") == {}


async def test_a_failure_partway_through_leaves_nothing_behind(client, settings, cast, monkeypatch):
    # A fault injected at the second person's link: the first person's rows must go too (one transaction).
    from app.domain.accounts import service as accounts
    from app.errors import BadRequest

    real, calls = accounts.issue_enrolment, []

    async def failing_second(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise BadRequest("injected fault")
        return await real(*args, **kwargs)

    monkeypatch.setattr(accounts, "issue_enrolment", failing_second)
    await sign_in(client, settings, cast.admin)
    before = (await Person.count(), await Membership.count(), await EnrolmentToken.count(), await AuditEvent.count())
    response = await invite(client, THREE, count=3)
    assert response.status_code == 400 and not LINK.search(response.text) and len(calls) == 2
    after = (await Person.count(), await Membership.count(), await EnrolmentToken.count(), await AuditEvent.count())
    assert after == before


async def test_it_audits_each_invitation_as_a_single_one_is(client, settings, cast):
    await sign_in(client, settings, cast.admin)
    last = await AuditEvent.select(AuditEvent.id).order_by(AuditEvent.id, ascending=False).first()
    first = last["id"] if last else 0
    assert (await invite(client, THREE, count=3)).status_code == 200
    rows = await AuditEvent.select(AuditEvent.action, AuditEvent.subject_label, AuditEvent.actor,
                                   AuditEvent.school).where(AuditEvent.id > first).order_by(AuditEvent.id)
    for email in ("nina.new@northbridge.example", "omar.oak@northbridge.example", "pia.pine@northbridge.example"):
        assert [r["action"] for r in rows if r["subject_label"] == email] == [
            "person.created", "roles.changed", "enrolment.issued"]
    assert {(r["actor"], r["school"]) for r in rows} == {(cast.admin.id, cast.school_id)}
    assert not any("/enrol/" in str(r) for r in await AuditEvent.select())


async def test_it_never_logs_a_link(client, settings, cast, caplog):
    await sign_in(client, settings, cast.admin)
    caplog.set_level(logging.DEBUG)
    response = await invite(client, THREE, count=3)
    links = LINK.findall(response.text)
    assert len(links) == 3
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert not any(link.rsplit("/", 1)[1] in logged for link in links)


# From the MIS ----------------------------------------------------------------------------------------------

async def import_staff(admin_member, staff: list[list]) -> None:
    admin = await actor_of(admin_member)
    data = corridor_set(groups=False, pupils=False, contacts=False, staff=staff)
    await imports.apply(admin, await imports.store_upload(admin, imports.Upload(filename="staff.zip", data=data)))


async def test_it_invites_staff_the_mis_import_brought_in(client, settings, cast):
    await import_staff(cast.admin, [["mo.maths@northbridge.example", "Mo Maths"],
                                    ["sue.science@northbridge.example", "Sue Science"],
                                    ["art.teacher@northbridge.example", "Art Teacher"]])
    for member in (cast.teacher, cast.responder, cast.pastoral, cast.head_of_year, cast.dsl, cast.guest):
        await give_passkey(member)  # the cast have signed in before: only the imported staff are new
    await sign_in(client, settings, cast.admin)
    page = await client.get("/admin/people/bulk")
    assert page.status_code == 200
    listed = re.findall(r'name="person" value="(\d+)"', page.text)
    people = await people_named("mo.maths@northbridge.example", "sue.science@northbridge.example",
                                "art.teacher@northbridge.example")
    mo, sue, art = (people[e]["id"] for e in ("mo.maths@northbridge.example", "sue.science@northbridge.example",
                                              "art.teacher@northbridge.example"))
    assert sorted(map(int, listed)) == sorted([mo, sue, art])
    assert f'<option value="staff" selected>' in page.text and 'value="guest"' not in page.text.split('id="from-mis"')[1]

    response = await post_form(client, "/admin/people/bulk/mis", {
        "person": [str(mo), str(sue)], f"role-{mo}": "responder", f"role-{sue}": "staff", f"role-{art}": "admin"},
        page="/admin/people/bulk")
    assert response.status_code == 200
    assert len(set(LINK.findall(response.text))) == 2 and "Mo Maths" in response.text and "Art Teacher" not in response.text
    assert await roles_at(mo, cast.school_id) == {"staff", "responder"}
    assert await roles_at(sue, cast.school_id) == {"staff"}
    assert await roles_at(art, cast.school_id) == {"staff"}  # not ticked: untouched, no link
    assert await EnrolmentToken.count().where(EnrolmentToken.person.is_in([mo, sue])) == 2
    assert await EnrolmentToken.count().where(EnrolmentToken.person == art) == 0
    actions = await AuditEvent.select(AuditEvent.action, AuditEvent.subject_label).where(
        AuditEvent.action.is_in(["enrolment.issued", "roles.changed"]) & AuditEvent.subject_label.like("%maths%"))
    assert sorted(a["action"] for a in actions) == ["enrolment.issued", "roles.changed"]

    # Once invited they leave the list; Art is still on it.
    again = await client.get("/admin/people/bulk")
    assert re.findall(r'name="person" value="(\d+)"', again.text) == [str(art)]


async def test_a_bad_mis_choice_writes_nothing(client, settings, cast):
    await import_staff(cast.admin, [["mo.maths@northbridge.example", "Mo Maths"]])
    mo = (await people_named("mo.maths@northbridge.example"))["mo.maths@northbridge.example"]["id"]
    await sign_in(client, settings, cast.admin)
    for data, message in (
        ({}, "Tick at least one person"),
        ({"person": [str(mo)], f"role-{mo}": "guest"}, "Role: choose one of"),
        ({"person": [str(mo), str(cast.outsider.id)]}, "no longer on the list"),
        ({"person": [str(mo), "99999999999"]}, "not on the list"),
    ):
        response = await post_form(client, "/admin/people/bulk/mis", data, page="/admin/people/bulk")
        assert response.status_code == 400 and message in response.text, data
        assert 'id="mis-error"' in response.text and not LINK.search(response.text)
    assert await EnrolmentToken.count() == 0
    assert await roles_at(mo, cast.school_id) == {"staff"}


# Who may --------------------------------------------------------------------------------------------------

async def test_it_answers_not_found_to_anyone_but_an_admin(client, settings, cast):
    await import_staff(cast.admin, [["mo.maths@northbridge.example", "Mo Maths"]])
    mo = (await people_named("mo.maths@northbridge.example"))["mo.maths@northbridge.example"]["id"]
    for member in (cast.teacher, cast.dsl, cast.head_of_year, cast.guest):
        await sign_in(client, settings, member)
        assert (await client.get("/admin/people/bulk")).status_code == 404
        for path, data in (("/admin/people/bulk/preview", {"lines": THREE}), ("/admin/people/bulk", {"lines": THREE}),
                           ("/admin/people/bulk/mis", {"person": [str(mo)]})):
            response = await post_form(client, path, data)
            assert response.status_code == 404, (member.email, path)
            assert not LINK.search(response.text)
    assert await people_named("nina.new@northbridge.example") == {}
    assert await EnrolmentToken.count() == 0


async def test_a_second_schools_admin_invites_into_their_own_school_only(client, settings, cast, sister):
    await import_staff(cast.admin, [["mo.maths@northbridge.example", "Mo Maths"]])
    mo = (await people_named("mo.maths@northbridge.example"))["mo.maths@northbridge.example"]["id"]
    await sign_in(client, settings, sister["admin"])

    # School A's not-yet-invited staff are not on school B's list, and cannot be invited from it.
    page = await client.get("/admin/people/bulk")
    assert page.status_code == 200 and "mo.maths" not in page.text and cast.teacher.email not in page.text
    refused = await post_form(client, "/admin/people/bulk/mis", {"person": [str(mo)], f"role-{mo}": "admin"},
                              page="/admin/people/bulk")
    assert refused.status_code == 400 and "mo.maths" not in refused.text
    assert await roles_at(mo, sister["school_id"]) == frozenset()

    # Pasted lines reach school B only. A's DSL gets roles at B and no link (a link would sign in as A's DSL).
    lines = f"juniors.new@northbridge.example, staff, June New\n{cast.dsl.email}, staff\n"
    response = await invite(client, lines, count=2)
    assert response.status_code == 200
    assert len(LINK.findall(response.text)) == 1 and "Roles here, no link" in response.text
    june = (await people_named("juniors.new@northbridge.example"))["juniors.new@northbridge.example"]["id"]
    assert await roles_at(june, sister["school_id"]) == {"staff"}
    assert await roles_at(june, cast.school_id) == frozenset()
    assert await roles_at(cast.dsl.id, sister["school_id"]) == {"staff"}
    assert await roles_at(cast.dsl.id, cast.school_id) == {"staff", "dsl"}
    assert await EnrolmentToken.count().where(EnrolmentToken.person == cast.dsl.id) == 0
    assert {r["school"] for r in await AuditEvent.select(AuditEvent.school).where(
        AuditEvent.action == "enrolment.issued")} == {sister["school_id"]}


async def test_a_trust_admin_sends_a_colleague_from_another_school_a_link(client, settings, cast, sister):
    await sign_in(client, settings, sister["trust_admin"])
    response = await invite(client, f"{sister['admin'].email}, responder\n", count=1)
    assert response.status_code == 200 and len(LINK.findall(response.text)) == 1
    assert await roles_at(sister["admin"].id, cast.school_id) >= {"responder"}
