"""The security suite's summary lines: what it tried, shown even under -q."""

import pytest


@pytest.hookimpl(specname="pytest_terminal_summary")
def pytest_terminal_summary_matrix(terminalreporter):
    # The matrix's size, shown even under -q: a row dropped from the table is visible in every run.
    from tests.security.matrix_expected import EXPECTED, PRINCIPALS, route_of
    from tests.security.test_matrix import STATS

    if STATS["cells"]:
        routes = len({route_of(case) for case in EXPECTED})
        terminalreporter.write_line(
            f"matrix: {routes} routes ({len(EXPECTED)} rows with variants) × {len(PRINCIPALS)} principals = "
            f"{len(EXPECTED) * len(PRINCIPALS)} cells; {STATS['cells']} checked, {STATS['leaks']} leaks")


@pytest.hookimpl(specname="pytest_terminal_summary")
def pytest_terminal_summary_fuzz(terminalreporter):
    # The fuzzer's size, shown even under -q: a shrunk budget is visible in every run.
    from tests.security.test_fuzz import STATS

    if STATS["requests"]:
        terminalreporter.write_line(
            f"fuzz: {len(STATS['routes'])} routes fuzzed, {STATS['requests']} requests tried "
            f"({STATS['refused']} refused and row-checked, {STATS['streams']} live-stream openings)")
