"""Split the browser tests (tests/e2e) into shards of about equal running time, by file.

`python tools/e2e_shards.py INDEX COUNT` prints the test files of shard INDEX (1..COUNT), one a line.
A file stays whole in one shard: its module-scoped servers start once. Files are weighed by SECONDS (their
time in a fresh-clone CI run: `pytest tests/e2e --durations=0`, setup + call + teardown, summed by file);
a file missing from the table weighs DEFAULT_SECONDS. Largest first, each onto the lightest shard so far,
ties by name: the same files always give the same shards. Every file is in exactly one shard.
"""

from __future__ import annotations

import sys
from pathlib import Path

E2E = Path(__file__).resolve().parents[1] / "tests" / "e2e"
DEFAULT_SECONDS = 15.0
# Measured on 2026-12-07 with the two shards side by side on a machine shared by eight engineers (load 15-20):
# slow in absolute terms, but it is the proportions that balance the shards. test_proxy_journey.py did not run
# then (no Caddy): its figure is a guess.
SECONDS: dict[str, float] = {
    "test_accessibility.py": 61, "test_admin_disable.py": 59, "test_attendance.py": 20, "test_bulk_invite.py": 22,
    "test_case_pack.py": 25, "test_casework.py": 19, "test_chronology.py": 16, "test_concern_push.py": 108,
    "test_contact_log.py": 88, "test_cross_school_admin.py": 13, "test_csp_reports.py": 2, "test_data_review.py": 21,
    "test_debug_log.py": 55, "test_dsl_step_up.py": 26, "test_enrolment_and_signin.py": 14,
    "test_fresh_install.py": 66, "test_gate.py": 30, "test_home_search.py": 16, "test_home_visits.py": 68,
    "test_home_visits_duress_board.py": 56, "test_interventions.py": 31, "test_lookup.py": 45,
    "test_offline_attention.py": 42, "test_offline_entry.py": 145, "test_offline_lost_answer.py": 32,
    "test_offline_restarts.py": 51, "test_offline_session.py": 49, "test_offline_soak.py": 64,
    "test_offline_two_tabs.py": 25, "test_on_report.py": 61, "test_oncall.py": 89, "test_oncall_pupil.py": 61,
    "test_oncall_two_processes.py": 53, "test_outbox_privacy.py": 73, "test_passkey_management.py": 37,
    "test_physical_intervention.py": 78, "test_proxy_journey.py": 90, "test_pwa.py": 30, "test_quick_entry.py": 60,
    "test_quick_entry_phone.py": 40, "test_referrals.py": 54, "test_retention.py": 46,
    "test_served_forwarded_for.py": 41, "test_small_screens.py": 584, "test_stream_after_signout.py": 54,
    "test_subject_access.py": 30, "test_visit_pack.py": 151,
}


def files() -> list[str]:
    return sorted(p.name for p in E2E.glob("test_*.py"))


def shards(count: int, names: list[str] | None = None) -> list[list[str]]:
    names = files() if names is None else names
    weighed = sorted(names, key=lambda n: (-SECONDS.get(n, DEFAULT_SECONDS), n))
    loads = [0.0] * count
    out: list[list[str]] = [[] for _ in range(count)]
    for name in weighed:
        i = min(range(count), key=lambda k: (loads[k], k))
        out[i].append(name)
        loads[i] += SECONDS.get(name, DEFAULT_SECONDS)
    return [sorted(s) for s in out]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not all(a.isdigit() for a in argv) or not 1 <= int(argv[0]) <= int(argv[1]):
        print("usage: python tools/e2e_shards.py INDEX COUNT   (1 <= INDEX <= COUNT)", file=sys.stderr)
        return 2
    for name in shards(int(argv[1]))[int(argv[0]) - 1]:
        print(f"tests/e2e/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
