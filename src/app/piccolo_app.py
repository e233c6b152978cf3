"""Piccolo's app registry entry: every table, and the migrations that build them."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from app.domain.accounts.tables import Challenge, EnrolmentToken, Passkey, Session
from app.domain.attendance.tables import (AttendanceImport, AttendanceMark, AttendanceMarkChange,
                                          AttendanceSchoolDay, AttendanceSettings)
from app.domain.attendance.gate_tables import FirstDayAlert, RegisterClose
from app.domain.audit.tables import AuditEvent
from app.domain.casework.tables import Case, CaseAction, CaseReview, CaseTarget, CaseType, TargetRating
from app.domain.chronology.pack_tables import CasePack
from app.domain.chronology.tables import ChronologyFlag
from app.domain.concerns.tables import Concern, ConcernEntry
from app.domain.contact_log.tables import ContactLog
from app.domain.data_review.tables import ReviewDismissal, ReviewThresholds
from app.domain.home_visits.tables import (HomeVisit, HomeVisitEscalation, HomeVisitEvent, HomeVisitPupil,
                                           HomeVisitSettings, HomeVisitStaff, HomeVisitText)
from app.domain.imports.tables import ImportBatch
from app.domain.interventions.tables import (Attendance, Instrument, Measure, Participant, Programme,
                                             ProgrammeSession)
from app.domain.incidents.tables import (Category, CategoryWatcher, FollowUpAction, Incident, IncidentPupil,
                                         IncidentVersion, Location, Statement)
from app.domain.notifications.tables import Alert, AlertRecipient, IdempotencyReceipt, Notification
from app.domain.oncall.tables import (OnCallEvent, OnCallPupil, OnCallReason, OnCallRequest, OnCallSettings, OnDuty,
                                      Presence, PushSubscription, RotaOverride, RotaSlot)
from app.domain.physical_intervention.tables import (PhysicalIntervention, PhysicalInterventionPupil,
                                                     PhysicalInterventionSettings, PhysicalInterventionStaff,
                                                     RestraintTechnique)
from app.domain.on_report.tables import (OnReport, OnReportChange, OnReportRating, OnReportSettings,
                                         OnReportTarget, SchoolPeriod)
from app.domain.pupils.tables import Contact, Pupil, TutorGroup
from app.domain.pupils.tutor_tables import FormTutor
from app.domain.referrals.tables import Referral, ReferralEvent, ReferralService, ReferralSettings
from app.domain.retention.tables import LegalHold, RetentionPolicy
from app.domain.rewards.tables import CertificateBatch, CertificatePrint, RewardSettings
from app.domain.schools.tables import Membership, Person, School, Trust
from app.domain.subject_access.tables import SubjectAccessRequest

# Ordered so that deleting in reverse order respects foreign keys.
TABLES = [Trust, School, Person, Membership, Passkey, Session, EnrolmentToken, Challenge,
          AuditEvent, TutorGroup, Pupil, Contact, Category, CategoryWatcher, Location, Incident, IncidentPupil,
          FollowUpAction, Statement, IncidentVersion, Concern, ConcernEntry, Alert, AlertRecipient, Notification,
          IdempotencyReceipt,
          ImportBatch,
          OnCallSettings, OnCallReason, RotaSlot, RotaOverride, OnDuty, OnCallRequest, OnCallPupil, OnCallEvent,
          Presence, PushSubscription,
          CaseType, Case, CaseAction, CaseTarget, CaseReview, TargetRating,
          ReferralSettings, ReferralService, Referral, ReferralEvent,
          ContactLog,
          Instrument, Programme, Participant, ProgrammeSession, Attendance, Measure,
          AttendanceImport, AttendanceMark, AttendanceMarkChange, AttendanceSchoolDay, AttendanceSettings,
          ChronologyFlag, CasePack, SubjectAccessRequest,
          HomeVisitSettings, HomeVisit, HomeVisitPupil, HomeVisitStaff, HomeVisitEscalation, HomeVisitEvent,
          HomeVisitText,
          RetentionPolicy, LegalHold,
          PhysicalInterventionSettings, RestraintTechnique, PhysicalIntervention, PhysicalInterventionPupil,
          PhysicalInterventionStaff, RegisterClose, FirstDayAlert,
          SchoolPeriod, OnReportSettings, OnReport, OnReportTarget, OnReportRating, OnReportChange, FormTutor,
          ReviewThresholds, ReviewDismissal,
          RewardSettings, CertificateBatch, CertificatePrint]

APP_CONFIG = AppConfig(
    app_name="corridor",
    migrations_folder_path=str(Path(__file__).parent / "migrations"),
    table_classes=TABLES,
    migration_dependencies=[],
    commands=[],
)
