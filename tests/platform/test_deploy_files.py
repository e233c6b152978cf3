"""The files docs/deploy.md installs (deploy/) name only settings that exist, give a working production
configuration, and run what the suite tests: `corridor serve --workers`, stopped by SIGTERM within the grace period."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from app.cli import build_parser
from app.server import GRACE_SECONDS
from app.settings import PROJECT_ROOT, Settings

DEPLOY = PROJECT_ROOT / "deploy"
NOT_CORRIDOR = {"PATH", "PYTHONUNBUFFERED"}  # set for Python or the shell, not read by Corridor


def readme_settings() -> set[str]:
    """The README's configuration table (tests/platform/test_settings.py keeps it equal to what settings.py reads)."""
    return set(re.findall(r"^\| `([A-Z_]+)` \|", (PROJECT_ROOT / "README.md").read_text(), flags=re.M))


def env_file(text: str) -> dict[str, str]:
    return dict(re.findall(r"^([A-Z_]+)=(.*)$", text, flags=re.M))


def unit(name: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for key, value in re.findall(r"^([A-Za-z]+)=(.*)$", (DEPLOY / name).read_text(), flags=re.M):
        found.setdefault(key, []).append(value)
    return found


def test_the_environment_file_lists_every_setting_and_only_real_ones():
    text = (DEPLOY / "corridor.env").read_text()
    named = set(re.findall(r"^# ?([A-Z_]+)=", text, flags=re.M)) | set(env_file(text))
    assert named <= readme_settings(), f"not settings: {named - readme_settings()}"
    # Every setting is there (SECRET_KEY itself never: production reads it from SECRET_KEY_FILE).
    assert readme_settings() - named == {"SECRET_KEY"}


def test_the_environment_file_is_a_valid_production_configuration(tmp_path):
    env = env_file((DEPLOY / "corridor.env").read_text())
    # The secrets it names, made as docs/deploy.md makes them.
    (tmp_path / "secret_key").write_text("k" * 48 + "\n")
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    str(tmp_path / "vapid_private.pem")], check=True, capture_output=True)
    env = {k: v.replace("/etc/corridor/", f"{tmp_path}/") for k, v in env.items()}
    settings = Settings.from_env(env)
    assert settings.public_url.startswith("https://") and settings.secure_cookies
    assert settings.rp_id == "corridor.example.sch.uk"
    assert settings.is_postgres and settings.live_backend == "postgres"
    assert settings.host == "127.0.0.1" and settings.trusted_proxies == ("127.0.0.1",)
    assert settings.secret_key == "k" * 48 and settings.vapid_key_file == tmp_path / "vapid_private.pem"
    assert settings.session_cookie == "__Host-corridor_session"


def test_the_service_runs_several_workers_restarts_on_failure_and_stops_within_the_grace_period():
    service = unit("corridor.service")
    (exec_start,) = service["ExecStart"]
    program, *args = exec_start.split()
    assert program == "/srv/corridor/.venv/bin/corridor"
    parsed = build_parser().parse_args(args)
    assert parsed.command == "serve" and parsed.workers > 1
    assert service["Restart"] == ["on-failure"] and service["User"] == ["corridor"]
    assert service["EnvironmentFile"] == ["/etc/corridor/corridor.env"]
    assert service["KillMode"] == ["mixed"] and service["KillSignal"] == ["SIGTERM"]
    assert int(service["TimeoutStopSec"][0]) > GRACE_SECONDS
    assert service["StandardOutput"] == ["journal"] and service["StandardError"] == ["journal"]
    for hardening, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
                             ("PrivateTmp", "yes"), ("CapabilityBoundingSet", "")):
        assert service[hardening] == [value], hardening
    # It may write where the settings say data and backups go, and nowhere else.
    env = env_file((DEPLOY / "corridor.env").read_text())
    assert env["CORRIDOR_DATA_DIR"] == "/var/lib/" + service["StateDirectory"][0]
    assert service["ReadWritePaths"] == [env["BACKUP_DIR"]]
    assert env["HOST"] == "127.0.0.1" and env["TRUSTED_PROXIES"] == "127.0.0.1"


def test_the_backup_runs_nightly_as_the_same_user_with_the_same_settings():
    backup, timer = unit("corridor-backup.service"), unit("corridor-backup.timer")
    (exec_start,) = backup["ExecStart"]
    program, *args = exec_start.split()
    assert program == "/srv/corridor/.venv/bin/corridor" and build_parser().parse_args(args).command == "backup"
    assert backup["User"] == ["corridor"] and backup["EnvironmentFile"] == ["/etc/corridor/corridor.env"]
    assert backup["ReadWritePaths"] == unit("corridor.service")["ReadWritePaths"]
    assert timer["OnCalendar"] and timer["Persistent"] == ["true"]


def test_the_container_recipe_sets_only_real_settings_and_serves_with_workers():
    text = (DEPLOY / "Containerfile").read_text()
    block = re.search(r"^ENV (.*?)(?:\n\n|\n[A-Z]+ )", text, flags=re.M | re.S).group(1)
    named = set(re.findall(r"([A-Z_]+)=", block)) - NOT_CORRIDOR
    assert named and named <= readme_settings(), f"not settings: {named - readme_settings()}"
    cmd = re.search(r'^CMD \["corridor", (.*)\]$', text, flags=re.M).group(1)
    parsed = build_parser().parse_args([a.strip().strip('"') for a in cmd.split(",")])
    assert parsed.command == "serve" and parsed.workers > 1


def test_the_caddyfile_is_valid_and_proxies_to_where_corridor_listens():
    text = (DEPLOY / "Caddyfile").read_text()
    env = env_file((DEPLOY / "corridor.env").read_text())
    assert f"reverse_proxy {env['HOST']}:{env['PORT']} " in text
    assert re.search(r"^\s*log\b", text, flags=re.M) is None, "no access log: enrolment links carry a token"
    if shutil.which("caddy") is None:
        pytest.skip("caddy is not installed (tools/ensure_proxy.sh): the Caddyfile was not validated")
    done = subprocess.run(["caddy", "adapt", "--config", str(DEPLOY / "Caddyfile"), "--adapter", "caddyfile"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_systemd_accepts_the_units(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the units were not verified")
    for name in ("corridor.service", "corridor-backup.service", "corridor-backup.timer"):
        # Pointed at this checkout, so the programs they name exist.
        (tmp_path / name).write_text((DEPLOY / name).read_text().replace("/srv/corridor", str(PROJECT_ROOT)))
    done = subprocess.run(["systemd-analyze", "verify", "--man=no", *sorted(str(p) for p in tmp_path.iterdir())],
                          capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_the_helper_for_commands_by_hand_reads_the_service_settings():
    text = (DEPLOY / "corridor-as-service").read_text()
    assert ". /etc/corridor/corridor.env" in text and "runuser -u corridor" in text
    assert Path(DEPLOY / "corridor-as-service").stat().st_mode & 0o111
