"""Known vulnerabilities in the installed packages: pip-audit, with a fallback for a PyPI mirror.

pip-audit asks PyPI for each package's release (`/pypi/<name>/<version>/json`) and fails on any known
vulnerability. Some mirrors (this project's build machines among them) serve only a project's page
(`/pypi/<name>/json`), whose `vulnerabilities` are those of its latest release: for a package installed
at its latest release that is the same answer, so those are checked that way instead. A package that can
be checked neither way is listed by name. When no advisory data can be reached at all, the check says it
was skipped and why, and does not fail (bandit, run beside it, always counts).

Exit status: 1 on any known vulnerability not accepted below, else 0.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BIN = Path(sys.executable).parent
PYPI = "https://pypi.org/pypi/{name}/json"

# Vulnerabilities we know of and accept, each with the reason (none today).
ACCEPTED: dict[str, str] = {}


def run_pip_audit() -> list[dict] | None:
    """pip-audit's per-package results for this environment, or None if it could not run at all."""
    done = subprocess.run([str(BIN / "pip-audit"), "--local", "--format", "json", "--progress-spinner", "off"],
                          capture_output=True, text=True, timeout=300)
    try:
        return json.loads(done.stdout)["dependencies"]
    except (ValueError, KeyError):
        print(f"pip-audit could not run: {(done.stderr or done.stdout).strip()[-500:]}")
        return None


def installed() -> dict[str, str]:
    done = subprocess.run([str(BIN / "python"), "-m", "pip", "list", "--format", "json", "--disable-pip-version-check"],
                          capture_output=True, text=True, check=True)
    return {canonical(p["name"]): p["version"] for p in json.loads(done.stdout)}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()  # PEP 503: pip list says "boolean.py", pip-audit "boolean-py"


def latest_release_advisories(name: str) -> tuple[str, list[dict]] | None:
    """(latest version, its vulnerabilities) from the project's PyPI page, or None if unreachable."""
    try:
        with urllib.request.urlopen(PYPI.format(name=name), timeout=15) as answer:  # nosec B310  # fixed https URL
            page = json.load(answer)
    except (OSError, ValueError):
        return None
    return page["info"]["version"], [v for v in page.get("vulnerabilities") or [] if not v.get("withdrawn")]


def main() -> int:
    results = run_pip_audit() or []
    versions = installed()
    found: list[tuple[str, str, str, str]] = []  # (package, version, id, fixed in)
    audited, unchecked = [], []
    for dep in results:
        if "skip_reason" not in dep:
            audited.append(dep["name"])
            found += [(dep["name"], dep["version"], v["id"], ", ".join(v.get("fix_versions") or []) or "no fix")
                      for v in dep.get("vulns", [])]
    skipped = sorted({canonical(dep["name"]) for dep in results if "skip_reason" in dep} if results else versions)
    local = {"corridor"}  # this project itself, not on PyPI
    with ThreadPoolExecutor(max_workers=8) as pool:
        pages = dict(zip(skipped, pool.map(latest_release_advisories, skipped)))
    fallback = []
    for name in skipped:
        page = pages[name]
        if name in local:
            continue
        if page is None or page[0] != versions.get(name):
            unchecked.append(f"{name} {versions.get(name, '?')}" + ("" if page is None else f" (latest {page[0]})"))
            continue
        fallback.append(name)
        found += [(name, page[0], v["id"], ", ".join(v.get("fixed_in") or []) or "no fix") for v in page[1]]

    if not audited and not fallback:
        print("pip-audit SKIPPED: no advisory data could be reached (PyPI's JSON API did not answer for any of "
              f"{len(versions)} packages). Run `make test` where pypi.org is reachable to check dependencies.")
        return 0
    print(f"pip-audit: {len(audited)} packages checked by pip-audit, {len(fallback)} at their latest release checked "
          f"against PyPI's advisories for it, {len(unchecked)} not checked"
          + (f": {', '.join(unchecked)}" if unchecked else "") + ".")
    failing = [f for f in found if f[2] not in ACCEPTED]
    for package, version, vuln, fixed in found:
        why = ACCEPTED.get(vuln)
        print(f"  {'accepted' if why else 'VULNERABLE'}: {package} {version} {vuln} (fixed in {fixed})"
              + (f": {why}" if why else ""))
    if failing:
        print(f"FAILED: {len(failing)} known vulnerabilit{'y' if len(failing) == 1 else 'ies'} in installed packages.")
        return 1
    print("No known vulnerabilities.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
