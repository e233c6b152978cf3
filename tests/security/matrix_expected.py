"""The expected answer of every route to every principal: the table test_matrix.py checks, cell by cell.

Written from DESIGN.md's roles table and issue 10, not from what the code happens to do. Every record in a
request (a path id, a pupil in a query or a form) belongs to school A of the Northbridge trust.

Principals (columns):
  anon       no session
  guest      supply/cover at school A            staff      a teacher at A (staff)
  resp       on-call responder at A               past       pastoral at A
  hoy        head of year at A for year 9 only (the pupil in the records is in year 11)
  dsl        designated safeguarding lead at A    admin      admin (and staff) at A
  b_adm      admin (and staff) of school B, in the same trust
  b_dsl      DSL of school B, in the same trust
  out        admin (and staff) at a school of another trust

Cells:
  signin     refused before anything else: a redirect to /signin, or 401
  404        refused as "not found": what someone may not see answers 404, never 403
  403/400/409  the principal may see the record, but this request is refused (a 400 is also the right
             answer to a form naming another school's pupil, room or person: it is the same for any id);
             a refusal shows nothing of A's records unless it says so, as in 409:name (the page shows the
             pupil's name, which this principal may see)
  ok         allowed (2xx, or a redirect that is not to /signin); the answer may show what the role sees
  ok:dsl     allowed, and may also show safeguarding concerns (only ever A's DSL)
  ok:resp    allowed, showing at most what a responder sees of a pupil: name, form, care flags, contacts
  ok:staff   allowed, showing at most what staff see of a pupil: name, form, care flags (no date of birth,
             UPN, contacts or timeline)
  ok:name    allowed, showing at most a pupil's name and form (a guest's view)
  ok:none    allowed, but nothing of school A's records: no pupil, no concern, no colleague's email
  a|b        either answer is right (the shape of a fix is open), with the checks of each

In every cell that is not allowed, the answer shows nothing of school A's records; only `ok` cells may carry
an enrolment link. Variants in [brackets] run one route with other records or bodies.
"""

from __future__ import annotations

PRINCIPALS = ("anon", "guest", "staff", "resp", "past", "hoy", "dsl", "admin", "b_adm", "b_dsl", "out")

TABLE = """
route                                                      anon    guest   staff    resp     past     hoy      dsl      admin    b_adm       b_dsl   out

# The app shell, health, sign-in and enrolment: the same for everyone
GET  /favicon.ico                                          ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /healthz                                              ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /manifest.webmanifest                                 ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /offline                                              ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /sw.js                                                ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /static/{file_path:path}                              ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /signin                                               ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /signed-out                                           ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /auth/signin/options                                  ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /auth/signin                                          400     400     400      400      400      400      400      400      400         400     400
GET  /enrol/{token:str}                                    ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /enrol/{token:str}/options                            ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /enrol/{token:str}                                    400     400     400      400      400      400      400      400      400         400     400
POST /csp-report                                           ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /signout                                              signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /                                                     signin  ok      ok       ok       ok       ok       ok       ok       ok:none     ok:none ok:none

# One's own account: passkeys and sessions are the teacher's (staff)
GET  /account                                              signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /account/passkeys/options                             signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /account/passkeys                                     signin  400     400      400      400      400      400      400      400         400     400
POST /account/passkeys/{passkey_id:int}/name               signin  404     ok:none  404      404      404      404      404      404         404     404
POST /account/passkeys/{passkey_id:int}/remove             signin  404     ok:none  404      404      404      404      404      404         404     404
POST /account/sessions/{session_id:int}/end                signin  404     ok:none  404      404      404      404      404      404         404     404
POST /account/verify/options                               signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /account/verify                                       signin  400     400      400      400      400      400      400      400         400     400
POST /account/school                                       signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  404         404     404
POST /account/mobile                                       signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none

# Admin: people, roles, audit. [a-only] is a person only at school A; [shared] one at A and at B
GET  /admin/people                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/people                                         signin  404     404      404      404      404      404      ok       ok:none|400 404     400
# Bulk invitations land at the inviter's school: B's admin adds an A-only colleague to B, with no link for them
GET  /admin/people/bulk                                    signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/people/bulk/preview                            signin  404     404      404      404      404      404      ok       ok:none     404     400
POST /admin/people/bulk                                    signin  404     404      404      404      404      404      ok       ok:none     404     400
POST /admin/people/bulk/mis                                signin  404     404      404      404      404      404      ok       400         404     400
GET  /admin/people/{person_id:int} [a-only]                signin  404     404      404      404      404      404      ok       404         404     404
GET  /admin/people/{person_id:int} [shared]                signin  404     404      404      404      404      404      ok       ok          404     404
POST /admin/people/{person_id:int}/roles [a-only]          signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/people/{person_id:int}/roles [shared]          signin  404     404      404      404      404      404      ok       ok          404     404
POST /admin/people/{person_id:int}/disable [a-only]        signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/people/{person_id:int}/disable [shared]        signin  404     404      404      404      404      404      400      400         404     404
POST /admin/people/{person_id:int}/enable [a-only]         signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/people/{person_id:int}/enable [shared]         signin  404     404      404      404      404      404      400      400         404     404
POST /admin/people/{person_id:int}/link [a-only]           signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/people/{person_id:int}/link [shared]           signin  404     404      404      404      404      404      400      400         404     404
POST /admin/people/{person_id:int}/remove [a-only]         signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/people/{person_id:int}/remove [shared]         signin  404     404      404      404      404      404      ok       ok          404     404
GET  /admin/audit                                          signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
GET  /admin/school                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/school                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
# Adding a school is for a trust admin: no principal here is one
POST /admin/school/new                                     signin  404     404      404      404      404      404      404      404         404     404

# Pupils: lookup and the profile of a year-11 pupil at A
GET  /pupils                                               signin  ok      ok       ok       ok       ok       ok       ok       ok:none     ok:none ok:none
POST /pupils/search [name]                                 signin  ok:name ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
POST /pupils/search [upn]                                  signin  ok:none ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
POST /pupils/search [year]                                 signin  ok:none ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
GET  /pupils/{pupil_id:int}                                signin  ok:name ok:staff ok:resp  ok       ok:staff ok:dsl   ok:staff 404         404     404
GET  /pupils/{pupil_id:int}/photo                          signin  ok      ok       ok       ok       ok       ok       ok       404         404     404
POST /pupils/{pupil_id:int}/safeguarding                   signin  404     404      404      404      404      ok       404      404         404     404

# Incidents: one recorded by the teacher about the year-11 pupil; the head of year leads year 9
GET  /incidents/new                                        signin  ok:name ok       ok       ok       ok       ok       ok       ok:none     ok:none ok:none
POST /incidents/pick [name]                                signin  ok:name ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
POST /incidents/pick [upn]                                 signin  ok:none ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
POST /incidents                                            signin  ok      ok       ok       ok       ok       ok       ok       400         400     400
GET  /incidents/follow-up                                  signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /incidents/rewards                                    signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /incidents/{incident_id:int}                          signin  404     ok       404      ok       404      ok       404      404         404     404
POST /incidents/{incident_id:int}/edit                     signin  404     ok       404      ok       404      ok       404      404         404     404
POST /incidents/{incident_id:int}/statements               signin  404     404      404      ok       404      ok       404      404         404     404
POST /incidents/{incident_id:int}/delete                   signin  404     403      404      ok       404      ok       404      404         404     404
POST /incidents/{incident_id:int}/undo                     signin  404     ok       404      404      404      404      404      404         404     404
POST /incidents/links/{link_id:int}/status                 signin  404     404      404      ok       404      ok       404      404         404     404
POST /incidents/links/{link_id:int}/actions                signin  404     404      404      ok       404      ok       404      404         404     404
GET  /admin/incidents                                      signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/incidents/categories                           signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/incidents/locations                            signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/incidents/categories/{category_id:int}        signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/incidents/categories/{category_id:int}/retire  signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/incidents/locations/{location_id:int}/retire   signin  404     404      404      404      404      404      ok       404         404     404

# Safeguarding: a concern about the pupil, recorded by the teacher
GET  /concerns/new                                         signin  ok:name ok       ok       ok       ok       ok       ok       ok:none     ok:none ok:none
POST /concerns                                             signin  ok      ok       ok       ok       ok       ok       ok       400         400     400
GET  /concerns/receipt/{reference:str}                     signin  404     ok:name  404      404      404      404      404      404         404     404
GET  /concerns                                             signin  404     404      404      404      404      ok:dsl   404      404         ok:none 404
GET  /concerns/{concern_id:int}                            signin  404     404      404      404      404      ok:dsl   404      404         404     404
POST /concerns/{concern_id:int}/entries                    signin  404     404      404      404      404      ok:dsl   404      404         404     404
GET  /concerns/chronology/{pupil_id:int}                   signin  404     404      404      404      404      ok:dsl   404      404         404     404
GET  /concerns/continue                                    signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none

# Alerts: the notification is the DSL's (a new concern)
GET  /notifications                                        signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /notifications/{notification_id:int}/open             signin  404     404      404      404      404      ok:none  404      404         404     404
GET  /notifications/stream                                 signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /notifications/push/key                               signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
POST /notifications/push/subscribe                         signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none

# On-call: requests raised by the teacher (with the pupil); responders are resp, past, hoy and dsl
GET  /oncall/new                                           signin  ok      ok       ok       ok       ok       ok       ok       ok:none     ok:none ok:none
POST /oncall                                               signin  ok      ok       ok       ok       ok       ok       ok       400         400     400
POST /oncall/duty                                          signin  404     ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /oncall/board                                         signin  404     404      ok       ok       ok       ok       404      404         ok:none 404
GET  /oncall/board/stream                                  signin  404     404      ok       ok       ok       ok       404      404         ok:none 404
GET  /oncall/report                                        signin  404     404      404      404      ok       ok       ok       ok:none     ok:none ok:none
GET  /oncall/{request_id:int}                              signin  404     ok       ok       ok       ok       ok       404      404         404     404
GET  /oncall/{request_id:int}/stream                       signin  404     ok       ok       ok       ok       ok       404      404         404     404
POST /oncall/{request_id:int}/acknowledge                  signin  404     404      ok       ok       ok       ok       404      404         404     404
POST /oncall/{request_id:int}/en-route                     signin  404     404      ok       409:name 409:name 409:name 404      404         404     404
POST /oncall/{request_id:int}/on-scene                     signin  404     404      ok       409:name 409:name 409:name 404      404         404     404
POST /oncall/{request_id:int}/resolve                      signin  404     404      ok       409:name 409:name 409:name 404      404         404     404
POST /oncall/{request_id:int}/hand-over                    signin  404     404      ok       409:name 409:name 409:name 404      404         404     404
POST /oncall/{request_id:int}/note                         signin  404     ok:none  404      404      404      404      404      404         404     404
POST /oncall/{request_id:int}/cancel                       signin  404     ok:none  404      404      404      404      404      404         404     404
GET  /admin/oncall                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/oncall/slots                                   signin  404     404      404      404      404      404      ok       400         404     400
POST /admin/oncall/slots/{slot_id:int}/remove              signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/oncall/overrides                               signin  404     404      404      404      404      404      ok       400         404     400
POST /admin/oncall/settings                                signin  404     404      404      404      404      404      ok       ok:none     404     ok:none

# Referrals: made by A's pastoral officer about the year-11 pupil; the head of year leads year 9
GET  /referrals                                            signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /referrals/chase                                      signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /referrals/pupil/{pupil_id:int}                       signin  404     404      404      ok       404      ok       404      404         404     404
GET  /referrals/new                                        signin  404     404      404      ok       404      ok       404      404         404     404
POST /referrals                                            signin  404     404      404      ok       400      ok       404      404         400     404
GET  /referrals/{referral_id:int}                          signin  404     404      404      ok       404      ok       404      404         404     404
POST /referrals/{referral_id:int}/move                     signin  404     404      404      ok       404      ok       404      404         404     404
POST /referrals/{referral_id:int}/consent                  signin  404     404      404      ok       404      ok       404      404         404     404
GET  /admin/referrals                                      signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/referrals/services                             signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/referrals/services/{service_id:int}            signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/referrals/services/{service_id:int}/retire     signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/referrals/settings                             signin  404     404      404      404      404      404      ok       ok:none     404     ok:none

# Casework: a case on the year-11 pupil, opened by the DSL with A's pastoral officer (past) as keyworker, with one
# target. The head of year leads year 9 only; b_dsl is a DSL of school B (sees B's caseload, empty here)
GET  /casework                                             signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /casework/mine                                        signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /casework/pupil/{pupil_id:int}                        signin  404     ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  404         404     404
GET  /casework/new                                         signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
POST /casework                                             signin  404     404      404      ok       400      ok       404      404         400     404
GET  /casework/{case_id:int}                               signin  404     404      404      ok       404      ok       404      404         404     404
POST /casework/{case_id:int}/status                        signin  404     404      404      ok       404      ok       404      404         404     404
POST /casework/{case_id:int}/plan                          signin  404     404      404      ok       404      ok       404      404         404     404
POST /casework/{case_id:int}/targets                       signin  404     404      404      ok       404      ok       404      404         404     404
GET  /casework/{case_id:int}/review                        signin  404     404      404      ok       404      ok       404      404         404     404
POST /casework/{case_id:int}/review                        signin  404     404      404      ok       404      ok       404      404         404     404
GET  /casework/types                                       signin  404     404      404      404      404      ok:none  ok:none  ok:none     ok:none ok:none
POST /casework/types                                       signin  404     404      404      404      404      ok:none  ok:none  ok:none     ok:none ok:none

# Contact log: contacts with the year-11 pupil's family (their MIS contact, an aunt), logged by A's pastoral officer.
# The head of year leads year 9 only; b_dsl passes the role guard but names a pupil of another school (400)
GET  /contact-log/new                                      signin  404     404      404      ok       404      ok       404      404         404     404
POST /contact-log                                          signin  404     404      404      ok       400      ok       404      404         400     404
GET  /contact-log/pupil/{pupil_id:int}                     signin  404     404      404      ok       404      ok       404      404         404     404
GET  /contact-log/{log_id:int}                             signin  404     404      404      ok       404      ok       404      404         404     404

# Chronology: the year-11 pupil's, with the world's incident (and, for A's DSL, the concern). Pastoral and the DSL see
# it (the DSL with concerns); the head of year leads year 9 only; b_dsl is another school's DSL
GET  /chronology/pupil/{pupil_id:int}                      signin  404     404      404      ok       404      ok:dsl   404      404         404     404
GET  /chronology/pupil/{pupil_id:int}/csv                  signin  404     404      404      ok       404      ok:dsl   404      404         404     404
POST /chronology/pupil/{pupil_id:int}/significant          signin  404     404      404      ok       404      ok:dsl   404      404         404     404

# Case-conference pack: a pack of the year-11 pupil's chronology (with the world's incident and, for A's DSL, the
# concern), made by A's pastoral officer, and by A's DSL for the DSL's own cells: a pack is its producer's. The head
# of year leads year 9 only; b_dsl names another school's pupil (404: nothing to see) and opens A's pack (404)
GET  /case-pack/new                                        signin  404     404      404      ok       404      ok:dsl   404      404         404     404
POST /case-pack                                            signin  404     404      404      ok       404      ok:dsl   404      404         404     404
GET  /case-pack/{pack_id:int}                              signin  404     404      404      ok       404      ok:dsl   404      404         404     404
POST /case-pack/{pack_id:int}/redactions                   signin  404     404      404      ok       404      ok:dsl   404      404         404     404
GET  /case-pack/{pack_id:int}/pack.pdf                     signin  404     404      404      ok       404      ok:dsl   404      404         404     404
GET  /case-pack/{pack_id:int}/pack.csv                     signin  404     404      404      ok       404      ok:dsl   404      404         404     404

# Interventions: a programme set up by the DSL with the year-11 pupil on it. Pastoral, the DSL (and the pastoral
# lead) see every programme; the head of year (year 9 only) sees none of these; b_dsl sees B's (none)
GET  /interventions                                        signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /interventions/new                                    signin  404     404      404      ok:none  ok:none  ok:none  404      404         ok:none 404
POST /interventions                                        signin  404     404      404      ok       ok       ok       404      404         400     404
GET  /interventions/instruments                            signin  404     404      404      ok:none  ok:none  ok:none  404      404         ok:none 404
POST /interventions/instruments                            signin  404     404      404      ok:none  ok:none  ok:none  404      404         ok:none 404
GET  /interventions/{programme_id:int}                     signin  404     404      404      ok       404      ok       404      404         404     404
POST /interventions/{programme_id:int}/pupils              signin  404     404      404      ok       404      ok       404      404         404     404
GET  /interventions/{programme_id:int}/register            signin  404     404      404      ok       404      ok       404      404         404     404
POST /interventions/{programme_id:int}/register            signin  404     404      404      ok       404      ok       404      404         404     404
GET  /interventions/{programme_id:int}/measures/{participant_id:int}  signin  404  404  404  ok       404      ok       404      404         404     404
POST /interventions/{programme_id:int}/measures/{participant_id:int}  signin  404  404  404  ok       404      ok       404      404         404     404
GET  /interventions/{programme_id:int}/impact              signin  404     404      404      ok       404      ok       404      404         404     404
GET  /interventions/{programme_id:int}/impact.csv          signin  404     404      404      ok       404      ok       404      404         404     404
GET  /interventions/terms/{term:str}                       signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404
GET  /interventions/terms/{term:str}/impact.csv            signin  404     404      404      ok       ok:none  ok       404      404         ok:none 404

# MIS import: uploads by A's admin
GET  /admin/import                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/import                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
GET  /admin/import/{key:str}                               signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/import/{key:str}/apply                         signin  404     404      404      404      404      404      ok       404         404     404
GET  /admin/import/{key:str}/result                        signin  404     404      404      404      404      404      ok       404         404     404

# Attendance (issue 15): A's admin imports register marks and sets the bands; the Attendance panel of the year-11
# pupil's profile is for pastoral and the DSL (the head of year leads year 9 only), never staff or admins
GET  /admin/attendance                                     signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/attendance                                     signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/attendance/bands                               signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
GET  /admin/attendance/{key:str}                           signin  404     404      404      404      404      404      ok       404         404     404
POST /admin/attendance/{key:str}/apply                     signin  404     404      404      404      404      404      ok       404         404     404
GET  /admin/attendance/{key:str}/result                    signin  404     404      404      404      404      404      ok       404         404     404
GET  /attendance/pupil/{pupil_id:int}                      signin  404     404      404      ok       404      ok       404      404         404     404

# Lates at the gate (staff on duty, not a guest) and first-day absence (pastoral, heads of year, the DSL team)
GET  /gate                                                 signin  404     ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
POST /gate/find                                            signin  404     ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none
POST /gate                                                 signin  404     ok       ok       ok       ok       ok       ok       400         400     400
GET  /admin/register-close                                 signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/register-close                                 signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
GET  /admin/tutors                                         signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/tutors                                         signin  404     404      404      404      404      404      ok       404         404     404
GET  /attendance/first-day                                 signin  404     404      404      ok       ok       ok       404      404         ok:none 404
GET  /attendance/first-day/csv                             signin  404     404      404      ok       ok       ok       404      404         ok:none 404
GET  /gate/today.csv                                       signin  404     ok:staff ok:staff ok:staff ok:staff ok:staff ok:staff ok:none     ok:none ok:none

# The data review (issue 15, points 5-6), asked for year 11 (the year of A's pupil); hoy leads year 9 only. The
# early-intervention list is the reviewer's years (A's pupil crosses no threshold: its case and dismiss are 404 for
# all). Thresholds: each school's admin or pastoral lead. b_dsl reviews school B, which may have no year 11
GET  /data-review                                          signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /data-review/csv/{key:str}                            signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /data-review/early-intervention                       signin  404     404      404      ok       ok       ok       404      404         ok:none 404
GET  /data-review/early-intervention.csv                   signin  404     404      404      ok       ok       ok       404      404         ok:none 404
GET  /data-review/early-intervention/{pupil_id:int}/case   signin  404     404      404      404      404      404      404      404         404     404
POST /data-review/early-intervention/{pupil_id:int}/dismiss signin 404     404      404      404      404      404      404      404         404     404
GET  /data-review/thresholds                               signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /data-review/thresholds                               signin  404     404      404      404      404      404      ok       ok:none     404     ok:none

# Rewards (issue 15, point 7), asked for year 11 (hoy leads year 9 only): pastoral and the DSL team any year; b_dsl
# has no year 11 at school B (404) or sees B's own; printing a certificate A's pupil has not earned is a 400.
# The milestones are set by an admin (or pastoral lead) of each school.
GET  /rewards                                              signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /rewards/csv/{table:str}                              signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /rewards/leaderboard                                  signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /rewards/leaderboard/present                          signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /rewards/leaderboard.csv                              signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
GET  /rewards/certificates                                 signin  404     404      404      ok       404      ok       404      404         ok:none|404 404
POST /rewards/certificates                                 signin  404     404      404      400      404      400      404      404         400|404 404
GET  /rewards/milestones                                   signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /rewards/milestones                                   signin  404     404      404      404      404      404      ok       ok:none     404     ok:none

# Retention (issue 17): each school's admin sets its own periods (b_adm and out see and change their own school's
# only); a legal hold on the year-11 pupil is for A's DSL team alone
GET  /admin/retention                                      signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
POST /admin/retention                                      signin  404     404      404      404      404      404      ok       ok:none     404     ok:none
GET  /retention/hold/{pupil_id:int}                        signin  404     404      404      404      404      ok       404      404         404     404
GET  /retention/hold/{pupil_id:int}/panel                  signin  404     404      404      404      404      ok       404      404         404     404
POST /retention/hold/{pupil_id:int}                        signin  404     404      404      404      404      ok       404      404         404     404
POST /retention/hold/{pupil_id:int}/lift                   signin  404     404      404      404      404      ok       404      404         404     404

# Subject access requests (issue 17): the DSL team's alone (the admin too gets 404: the export holds safeguarding and
# pastoral records), for the year-11 pupil (with the world's incident and concern, decided); b_dsl sees B's empty list
GET  /subject-access                                       signin  404     404      404      404      404      ok:dsl   404      404         ok:none 404
GET  /subject-access/new                                   signin  404     404      404      404      404      ok:dsl   404      404         404     404
POST /subject-access                                       signin  404     404      404      404      404      ok:dsl   404      404         404     404
GET  /subject-access/{request_id:int}                      signin  404     404      404      404      404      ok:dsl   404      404         404     404
POST /subject-access/{request_id:int}/decisions            signin  404     404      404      404      404      ok:dsl   404      404         404     404
POST /subject-access/{request_id:int}/staff-names          signin  404     404      404      404      404      ok:dsl   404      404         404     404
GET  /subject-access/{request_id:int}/export.pdf           signin  404     404      404      404      404      ok:dsl   404      404         404     404
GET  /subject-access/{request_id:int}/export.json          signin  404     404      404      404      404      ok:dsl   404      404         404     404

# Home visits (issue 14): visits to the year-11 pupil's home planned by A's pastoral officer, who goes (with a second
# pastoral colleague, or alone where the override is the point). The head of year leads year 9 only; A's DSL plans,
# authorises and overrides but is not going, so never starts or finishes one; the alarm is for those it alerted (the
# responder is on call, the DSL is tier 2), never the staff on the visit; b_dsl has its own school's empty list.
# The ladder (tier minutes, headteacher, SLT) is each school's own, set by its DSL or admin
GET  /home-visits                                          signin  404     404      404      ok       ok       ok       404      404         ok:none 404
GET  /home-visits/ladder                                   signin  404     404      404      404      404      ok:none  ok:none  ok:none     ok:none ok:none
POST /home-visits/ladder                                   signin  404     404      404      404      404      ok:none  ok:none  ok:none     ok:none ok:none
GET  /home-visits/new                                      signin  404     404      404      ok       404      ok       404      404         404     404
POST /home-visits                                          signin  404     404      404      ok       404      ok       404      404         404     404
GET  /home-visits/{visit_id:int}                           signin  404     404      404      ok       404      ok       404      404         404     404
POST /home-visits/{visit_id:int}/checklist                 signin  404     404      404      ok       404      ok       404      404         404     404
POST /home-visits/{visit_id:int}/override                  signin  404     404      404      404      404      ok       404      404         404     404
POST /home-visits/{visit_id:int}/authorise                 signin  404     404      404      404      404      ok       404      404         404     404
POST /home-visits/{visit_id:int}/cancel                    signin  404     404      404      ok       404      ok       404      404         404     404
POST /home-visits/{visit_id:int}/start                     signin  404     404      404      ok       404      404      404      404         404     404
POST /home-visits/{visit_id:int}/arrive                    signin  404     404      404      ok       404      404      404      404         404     404
POST /home-visits/{visit_id:int}/extend                    signin  404     404      404      ok       404      404      404      404         404     404
POST /home-visits/{visit_id:int}/safe                      signin  404     404      404      ok       404      404      404      404         404     404
GET  /home-visits/{visit_id:int}/alarm                     signin  404     404      ok       404      404      ok       404      404         404     404
POST /home-visits/{visit_id:int}/acknowledge               signin  404     404      ok       404      404      ok       404      404         404     404
# The second check-out (duress, point 5) is the visitor's like "I'm safe"; the outcome (point 6) is recorded by the
# staff who went; the board of today's visits (point 8) and its stream are the pastoral leads' and the DSL team's
# (b_dsl sees its own school's, empty)
POST /home-visits/{visit_id:int}/checkout                  signin  404     404      404      ok       404      404      404      404         404     404
POST /home-visits/{visit_id:int}/outcome                   signin  404     404      404      ok       404      404      404      404         404     404
GET  /home-visits/board                                    signin  404     404      404      404      404      ok       404      404         ok:none 404
GET  /home-visits/board/stream                             signin  404     404      404      404      404      ok       404      404         ok:none 404
# The visit pack: only the staff going (past) on an authorised visit; the DSL who authorised it is not going
GET  /home-visits/{visit_id:int}/pack                      signin  404     404      404      ok       404      404      404      404         404     404
GET  /home-visits/offline                                  ok:none ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none

# Physical interventions (issue 16, points 4-5): records of A's year-11 pupil, started by A's DSL from the teacher's
# incident. Seen by the DSL team, pastoral leads and the SLT named on the ladder page (none named here): of these
# principals only A's DSL; b_dsl has its own school's empty list and report. Sign-off is by a senior leader who
# neither owns the record nor was involved. The techniques and deadline are each school's own, set by its DSL or admin
GET  /physical-interventions                               signin  404     404      404      404      404      ok       404      404         ok:none 404
POST /physical-interventions                               signin  404     404      404      404      404      ok       404      404         404     404
GET  /physical-interventions/report                        signin  404     404      404      404      404      ok       404      404         ok:none 404
GET  /physical-interventions/report.csv                    signin  404     404      404      404      404      ok       404      404         ok:none 404
GET  /physical-interventions/settings                      signin  404     404      404      404      404      ok:none  ok:none  ok:none     ok:none ok:none
POST /physical-interventions/settings                      signin  404     404      404      404      404      ok:none  ok:none  ok:none     ok:none ok:none
GET  /physical-interventions/{record_id:int}               signin  404     404      404      404      404      ok       404      404         404     404
POST /physical-interventions/{record_id:int}               signin  404     404      404      404      404      ok       404      404         404     404
POST /physical-interventions/{record_id:int}/sign-off      signin  404     404      404      404      404      ok       404      404         404     404

# On report (issue 16, points 1-3): a report on A's year-11 pupil put by A's pastoral officer (seen by tutor, HoY and
# pastoral; hoy leads year 9 only). Any staff member at A rates (no guests: the targets are behaviour records) and sees
# the pupil's name and form on the now-list, the rating page and the profile panel; a rating is refused (400) when no
# covered lesson has begun, which depends on the time of day the test runs. The day's periods are each school's own,
# set by its admin. The report, its grid, CSV and PDF, and its level and end are the pastoral team's and the DSL's
GET  /on-report                                            signin  404     ok:staff ok:staff ok       ok:staff ok       ok:staff ok:none     ok:none ok:none
GET  /on-report/day                                        signin  404     404      404      404      404      404      ok:none  ok:none     404     ok:none
POST /on-report/day                                        signin  404     404      404      404      404      404      ok:none  ok:none     404     ok:none
GET  /on-report/new                                        signin  404     404      404      ok       404      ok       404      404         404     404
POST /on-report                                            signin  404     404      404      ok       404      ok       404      404         404     404
GET  /on-report/{report_id:int}                            signin  404     404      404      ok       404      ok       404      404         404     404
GET  /on-report/{report_id:int}/rate                       signin  404     ok:staff ok:staff ok       ok:staff ok       ok:staff 404         404     404
POST /on-report/{report_id:int}/rate                       signin  404     ok:staff|400:staff ok:staff|400:staff ok|400:staff ok:staff|400:staff ok|400:staff ok:staff|400:staff 404 404 404
POST /on-report/{report_id:int}/level                      signin  404     404      404      ok       404      ok       404      404         404     404
POST /on-report/{report_id:int}/end                        signin  404     404      404      ok       404      ok       404      404         404     404
GET  /on-report/{report_id:int}/report.csv                 signin  404     404      404      ok       404      ok       404      404         404     404
GET  /on-report/{report_id:int}/report.pdf                 signin  404     404      404      ok       404      ok       404      404         404     404
GET  /on-report/pupil/{pupil_id:int}                       signin  404     ok:staff ok:staff ok       ok:staff ok       ok:staff 404         404     404

# The offline outbox: the receipt is for the teacher's incident
GET  /outbox                                               signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /outbox/session                                       signin  ok:none ok:none  ok:none  ok:none  ok:none  ok:none  ok:none  ok:none     ok:none ok:none
GET  /outbox/receipts/{key:str}                            signin  404     ok:none  404      404      404      404      404      404         404     404
"""


def _parse(text: str) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for line in text.strip().splitlines()[1:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        method, path, *rest = line.split()
        variant = ""
        if rest and rest[0].startswith("["):
            variant, rest = rest[0], rest[1:]
        if len(rest) != len(PRINCIPALS):
            raise ValueError(f"matrix_expected: {method} {path} {variant} has {len(rest)} cells, not {len(PRINCIPALS)}")
        key = f"{method} {path}" + (f" {variant}" if variant else "")
        if key in table:
            raise ValueError(f"matrix_expected: {key} is listed twice")
        table[key] = dict(zip(PRINCIPALS, rest))
    return table


EXPECTED = _parse(TABLE)


def route_of(case: str) -> str:
    """'POST /admin/people/{person_id:int}/disable [shared]' → 'POST /admin/people/{person_id:int}/disable'."""
    return case.split(" [")[0]
