"""Settings are read once, strictly; the README's configuration table lists exactly what the code reads."""

import re
from pathlib import Path

import pytest

from app.settings import PROJECT_ROOT, Settings, SettingsError

BASE = {"SECRET_KEY": "x" * 40}


def test_defaults_serve_the_embedded_sqlite_case(tmp_path):
    s = Settings.from_env({**BASE, "CORRIDOR_DATA_DIR": str(tmp_path)})
    assert s.database_url == f"sqlite:///{tmp_path / 'corridor.sqlite3'}"
    assert s.public_url == "http://localhost:8000" and s.rp_id == "localhost"
    assert (s.session_idle_minutes, s.session_absolute_hours) == (120, 12)
    assert s.session_cookie == "corridor_session"  # the documented dev fallback on http://localhost


def test_https_uses_host_prefixed_cookies():
    s = Settings.from_env({**BASE, "PUBLIC_URL": "https://corridor.example.sch.uk/"})
    assert s.session_cookie == "__Host-corridor_session" and s.secure_cookies
    assert s.origin == "https://corridor.example.sch.uk" and s.rp_id == "corridor.example.sch.uk"


def test_postgres_urls_are_accepted():
    assert Settings.from_env({**BASE, "DATABASE_URL": "postgres://u@db/corridor"}).is_postgres


@pytest.mark.parametrize("env, variable", [
    ({"PORT": "eighty"}, "PORT"),
    ({"PORT": "70000"}, "PORT"),
    ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
    ({"SESSION_ABSOLUTE_HOURS": "1.5"}, "SESSION_ABSOLUTE_HOURS"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"),
    ({"PUBLIC_URL": "corridor.example"}, "PUBLIC_URL"),
    ({"PUBLIC_URL": "http://corridor.example.sch.uk"}, "PUBLIC_URL"),
    ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ({"SECRET_KEY": "short"}, "SECRET_KEY"),
])
def test_a_bad_value_stops_start_up_naming_the_variable(env, variable):
    with pytest.raises(SettingsError, match=variable):
        Settings.from_env({**BASE, **env})


def test_the_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("s" * 50 + "\n")
    assert Settings.from_env({"SECRET_KEY_FILE": str(secret)}).secret_key == "s" * 50
    with pytest.raises(SettingsError, match="SECRET_KEY_FILE"):
        Settings.from_env({"SECRET_KEY_FILE": str(tmp_path / "missing")})


def test_the_readme_table_lists_every_variable_the_code_reads():
    code = (PROJECT_ROOT / "src/app/settings.py").read_text()
    read = set(re.findall(r'env, "([A-Z_]+)"', code)) | set(re.findall(r'env(?:\.get\(|\[)"([A-Z_]+)"', code))
    readme = Path(PROJECT_ROOT / "README.md").read_text()
    table = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, flags=re.M))
    assert read, "found no variables in settings.py"
    assert read == table, f"in code only: {read - table}; in README only: {table - read}"
