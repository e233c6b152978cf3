"""One frozen settings object, read once from the environment and parsed strictly.

Every variable read here is listed in the README's configuration table; tests/platform/test_settings.py
keeps the two in step.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parents[2]


class SettingsError(ValueError):
    """A bad configuration value; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    database_url: str
    secret_key: str
    public_url: str
    host: str = "127.0.0.1"
    port: int = 8000
    session_idle_minutes: int = 120
    session_absolute_hours: int = 12
    enrolment_link_hours: int = 24
    auth_rate_limit_per_minute: int = 300
    step_up_minutes: int = 5
    log_level: str = "INFO"
    data_dir: Path = field(default=PROJECT_ROOT / "var")
    live_backend: str = "auto"
    redis_url: str = "redis://127.0.0.1:6379/0"
    vapid_key_file: Path = field(default=PROJECT_ROOT / "var" / "vapid_private.pem")
    vapid_subject: str = "mailto:admin@localhost"
    push_service_hosts: tuple[str, ...] = ()
    trusted_proxies: tuple[str, ...] = ()
    signin_failures_per_passkey: int = 10
    backup_dir: Path = field(default=PROJECT_ROOT / "var" / "backups")
    backup_key_file: Path | None = None
    backup_keep_days: int = 30
    # SMS for the home-visit alarm (issue 14): none, GOV.UK Notify or a generic webhook. The secret is the Notify
    # API key's secret part or the webhook's HMAC key, read from a file; never printed.
    sms_gateway: str = "none"
    sms_url: str = ""
    sms_secret: str = field(default="", repr=False)
    notify_service_id: str = ""
    notify_template_id: str = ""

    # Derived values ----------------------------------------------------------------------------
    @property
    def rp_id(self) -> str:
        """The WebAuthn relying-party id: the host of PUBLIC_URL, without port."""
        return urlsplit(self.public_url).hostname or "localhost"

    @property
    def origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def secure_cookies(self) -> bool:
        """`__Host-` cookies need https; plain http://localhost is the documented dev fallback."""
        return urlsplit(self.public_url).scheme == "https"

    @property
    def session_cookie(self) -> str:
        return "__Host-corridor_session" if self.secure_cookies else "corridor_session"

    @property
    def csrf_cookie(self) -> str:
        return "__Host-corridor_csrf" if self.secure_cookies else "corridor_csrf"

    @property
    def is_postgres(self) -> bool:
        return self.database_url.startswith(("postgres://", "postgresql://"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        data_dir = Path(_str(env, "CORRIDOR_DATA_DIR", str(PROJECT_ROOT / "var")))
        database_url = _str(env, "DATABASE_URL", f"sqlite:///{data_dir / 'corridor.sqlite3'}")
        if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise SettingsError(
                "DATABASE_URL must start with sqlite:/// or postgres:// (got "
                f"{database_url.split(':', 1)[0]!r})"
            )
        port = _int(env, "PORT", 8000, low=1, high=65535)
        # Unset, the public URL follows the port (`corridor serve --port` sets PORT first), so the links the
        # commands print and the origin passkeys are checked against agree with where the app listens.
        public_url = _str(env, "PUBLIC_URL", f"http://localhost:{port}").rstrip("/")
        parts = urlsplit(public_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise SettingsError("PUBLIC_URL must be an absolute http(s) URL, e.g. https://corridor.example.sch.uk")
        if parts.scheme == "http" and parts.hostname != "localhost":
            raise SettingsError("PUBLIC_URL must use https except for http://localhost (passkeys need a secure origin)")
        return cls(
            database_url=database_url,
            secret_key=_secret_key(env, data_dir),
            public_url=public_url,
            host=_str(env, "HOST", "127.0.0.1"),
            port=port,
            session_idle_minutes=_int(env, "SESSION_IDLE_MINUTES", 120, low=1, high=24 * 60),
            session_absolute_hours=_int(env, "SESSION_ABSOLUTE_HOURS", 12, low=1, high=24 * 30),
            enrolment_link_hours=_int(env, "ENROLMENT_LINK_HOURS", 24, low=1, high=24 * 14),
            auth_rate_limit_per_minute=_int(env, "AUTH_RATE_LIMIT_PER_MINUTE", 300, low=1, high=10_000),
            step_up_minutes=_int(env, "STEP_UP_MINUTES", 5, low=1, high=60),
            log_level=_choice(env, "LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR")),
            data_dir=data_dir,
            live_backend=_choice(env, "LIVE_BACKEND", "AUTO", ("AUTO", "MEMORY", "POSTGRES", "REDIS")).lower(),
            redis_url=_str(env, "REDIS_URL", "redis://127.0.0.1:6379/0"),
            vapid_key_file=_vapid_key(env, data_dir),
            vapid_subject=_vapid_subject(env, parts.hostname or "localhost"),
            push_service_hosts=_hosts(env, "PUSH_SERVICE_HOSTS"),
            trusted_proxies=_networks(env, "TRUSTED_PROXIES"),
            signin_failures_per_passkey=_int(env, "SIGNIN_FAILURES_PER_PASSKEY", 10, low=1, high=1000),
            backup_dir=Path(_str(env, "BACKUP_DIR", str(data_dir / "backups"))),
            backup_key_file=Path(env["BACKUP_KEY_FILE"].strip()) if env.get("BACKUP_KEY_FILE", "").strip() else None,
            backup_keep_days=_int(env, "BACKUP_KEEP_DAYS", 30, low=0, high=3650),
            **_sms(env),
        )


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip()
    return value or default


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, "").strip().upper() or default
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _hosts(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated host names; a leading dot (".push.example.net") also allows its subdomains."""
    hosts = tuple(h.strip().lower() for h in env.get(name, "").split(",") if h.strip())
    for host in hosts:
        if not re.fullmatch(r"\.?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+", host):
            raise SettingsError(f"{name} must be host names separated by commas, got {host!r}")
    return hosts


def _networks(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    """Comma-separated IP addresses or networks (10.0.0.0/8, ::1)."""
    values = tuple(v.strip() for v in env.get(name, "").split(",") if v.strip())
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise SettingsError(f"{name} must be IP addresses or networks separated by commas, got {value!r}") from None
    return values


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    """SECRET_KEY, or the file SECRET_KEY_FILE names, or (for the embedded default) var/secret_key."""
    if env.get("SECRET_KEY", "").strip():
        value = env["SECRET_KEY"].strip()
    elif env.get("SECRET_KEY_FILE", "").strip():
        path = Path(env["SECRET_KEY_FILE"].strip())
        try:
            value = path.read_text().strip()
        except OSError as exc:
            raise SettingsError(f"SECRET_KEY_FILE cannot be read: {exc.strerror}") from None
    else:
        path = data_dir / "secret_key"
        if not path.exists():
            data_dir.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(48))
            path.chmod(0o600)
        value = path.read_text().strip()
    if len(value) < 32:
        raise SettingsError("SECRET_KEY must be at least 32 characters")
    return value


def _vapid_key(env: Mapping[str, str], data_dir: Path) -> Path:
    """The VAPID private key (PEM) that signs Web Push: VAPID_PRIVATE_KEY_FILE, or one made once in var/."""
    from py_vapid import Vapid02

    if env.get("VAPID_PRIVATE_KEY_FILE", "").strip():
        path = Path(env["VAPID_PRIVATE_KEY_FILE"].strip())
        try:
            Vapid02.from_file(str(path))
        except Exception:
            raise SettingsError("VAPID_PRIVATE_KEY_FILE must name a readable EC P-256 private key in PEM") from None
        return path
    path = data_dir / "vapid_private.pem"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Vapid02()
        key.generate_keys()
        key.save_key(str(path))
        path.chmod(0o600)
    return path


def _vapid_subject(env: Mapping[str, str], host: str) -> str:
    value = env.get("VAPID_SUBJECT", "").strip() or f"mailto:admin@{host}"
    if not value.startswith(("mailto:", "https://")):
        raise SettingsError("VAPID_SUBJECT must be a mailto: or https: address push services can reach you at")
    return value


_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _gateway_url(name: str, value: str) -> str:
    parts = urlsplit(value)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if not parts.hostname or parts.scheme not in ("http", "https") or (parts.scheme == "http" and not local):
        raise SettingsError(f"{name} must be an https URL (http only for localhost), got {value!r}")
    return value.rstrip("/")


def _secret_file(env: Mapping[str, str], name: str) -> str:
    raw = env.get(name, "").strip()
    if not raw:
        raise SettingsError(f"{name} must name the file holding the secret")
    try:
        value = Path(raw).read_text().strip()
    except OSError as exc:
        raise SettingsError(f"{name} cannot be read: {exc.strerror}") from None
    if not value:
        raise SettingsError(f"{name} is empty")
    return value


def _sms(env: Mapping[str, str]) -> dict:
    """SMS_GATEWAY and what the chosen gateway needs; a gateway missing a value fails at start, naming it."""
    gateway = _choice(env, "SMS_GATEWAY", "NONE", ("NONE", "NOTIFY", "WEBHOOK")).lower()
    if gateway == "notify":
        # A Notify API key is "<key name>-<service id>-<secret>", both UUIDs: the JWT's issuer and signing key.
        key = _secret_file(env, "NOTIFY_API_KEY_FILE")
        match = re.fullmatch(rf".+-({_UUID})-({_UUID})", key)
        if not match:
            raise SettingsError("NOTIFY_API_KEY_FILE must hold a GOV.UK Notify API key (name-service id-secret)")
        template = env.get("NOTIFY_SMS_TEMPLATE_ID", "").strip().lower()
        if not re.fullmatch(_UUID, template):
            raise SettingsError("NOTIFY_SMS_TEMPLATE_ID must be the id of a Notify text template whose body is "
                                "((body))")
        url = _gateway_url("NOTIFY_BASE_URL", _str(env, "NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk"))
        return {"sms_gateway": gateway, "sms_url": url, "sms_secret": match.group(2),
                "notify_service_id": match.group(1), "notify_template_id": template}
    if gateway == "webhook":
        if not env.get("SMS_WEBHOOK_URL", "").strip():
            raise SettingsError("SMS_WEBHOOK_URL must be set when SMS_GATEWAY is WEBHOOK")
        url = _gateway_url("SMS_WEBHOOK_URL", env["SMS_WEBHOOK_URL"].strip())
        secret = _secret_file(env, "SMS_WEBHOOK_SECRET_FILE")
        if len(secret) < 32:
            raise SettingsError("SMS_WEBHOOK_SECRET_FILE must hold at least 32 characters")
        return {"sms_gateway": gateway, "sms_url": url, "sms_secret": secret}
    return {}
