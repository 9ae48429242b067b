"""Settings from the environment (secrets only ever here), validated at start-up.

Each `KIEMDIEM_X` may instead be given as `KIEMDIEM_X_FILE`, a path to read it from (the
Docker-secrets convention). Secrets are `Secret`s, so they never print in a log or a repr.

A frozen dataclass checked by one small parser per field, not a pydantic model: every CLI
command builds the settings before anything else, and pydantic's import plus this model's
schema would be a large share of the start-up budget of `advance`. Plan, hierarchy and
results files, which need nested validation with line numbers, keep their pydantic models;
they load only for the commands that read them.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import time
from pathlib import Path
from typing import Any, Literal, get_args

from config.errors import ConfigError, Problem
from config.i18n import _

PREFIX = "KIEMDIEM_"
CHANNELS = ("file", "email", "zalo_zns", "zalo_oa", "webhook")
#: how the SMTP connection is secured: not at all, upgraded after connecting, or TLS from the start
TlsMode = Literal["none", "starttls", "tls"]

#: Turns a value from the environment (text) or from code (already typed) into the field's
#: value, or raises ValueError with what is wrong in a few words.
Parse = Callable[[Any], Any]


class Secret:
    """A secret value: shown as stars in every repr and str, read only on purpose."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def _text(value: Any) -> str:
    return str(value)


def _optional(parse: Parse) -> Parse:
    """Accept an empty value as "not set"."""
    return lambda value: None if value is None or value == "" else parse(value)


def _secret(value: Any) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value))


def _number(kind: type[int] | type[float], *, ge: float | None = None, gt: float | None = None,
            le: float | None = None) -> Parse:
    def parse(value: Any) -> int | float:
        wrong = (_("should be a whole number, not {value!r}") if kind is int
                 else _("should be a number, not {value!r}"))
        if isinstance(value, bool):
            raise ValueError(wrong.format(value=value))
        try:
            number = kind(value)
        except (TypeError, ValueError):
            raise ValueError(wrong.format(value=value)) from None
        if ge is not None and number < ge:
            raise ValueError(_("should be at least {bound}, not {value}").format(bound=ge, value=number))
        if gt is not None and number <= gt:
            raise ValueError(_("should be more than {bound}, not {value}").format(bound=gt, value=number))
        if le is not None and number > le:
            raise ValueError(_("should be at most {bound}, not {value}").format(bound=le, value=number))
        return number

    return parse


def _time_of_day(value: Any) -> time:
    if isinstance(value, time):
        return value
    try:
        return time.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(_("should be a time of day (HH:MM), not {value!r}").format(value=value)) from None


def _choice(*allowed: str) -> Parse:
    def parse(value: Any) -> str:
        if value not in allowed:
            raise ValueError(_("should be one of {choices}, not {value!r}").format(
                choices=", ".join(allowed), value=value))
        return str(value)

    return parse


def _channels(value: Any) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip()) \
        if isinstance(value, str) else tuple(value)
    for channel in names:
        if channel not in CHANNELS:
            raise ValueError(_("unknown channel '{channel}' (channels: {channels})").format(
                channel=channel, channels=", ".join(CHANNELS)))
    return names


def _names(value: Any) -> tuple[str, ...]:
    """A comma-separated list (host names, addresses): empty parts are ignored."""
    return tuple(part.strip() for part in value.split(",") if part.strip()) \
        if isinstance(value, str) else tuple(value)


def _networks(value: Any) -> tuple[str, ...]:
    """Addresses or networks (`10.0.0.5`, `10.0.0.0/8`), each checked."""
    names = _names(value)
    for name in names:
        try:
            ipaddress.ip_network(name, strict=False)
        except ValueError:
            raise ValueError(_("'{name}' is not an IP address or network").format(name=name)) from None
    return names


def _setting(default: Any, parse: Parse = _text) -> Any:
    return field(default=default, metadata={"parse": parse})


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment; defaults run on a laptop."""

    database_url: str = _setting("sqlite:///kiemdiem.db")
    hierarchy: str = _setting("2025")
    channels: tuple[str, ...] = _setting(("file",), _channels)
    outbox_dir: Path = _setting(Path("var/outbox"), Path)
    templates_dir: Path | None = _setting(None, _optional(Path))
    public_url: str = _setting("http://127.0.0.1:8080")
    #: the language of what a person reads from the CLI (config.i18n reads it from the environment)
    lang: str = _setting("vi", _choice("vi", "en"))
    #: signs the units' personal links and the monitor's sessions; absent: generated once into
    #: `var/secret.key` (config.secretkey), never stored in the database
    secret_key: Secret | None = _setting(None, _optional(_secret))

    smtp_host: str = _setting("127.0.0.1")
    smtp_port: int = _setting(25, _number(int, ge=1, le=65535))
    smtp_user: str | None = _setting(None, _optional(_text))
    smtp_password: Secret | None = _setting(None, _optional(_secret))
    smtp_tls: TlsMode = _setting("none", _choice(*get_args(TlsMode)))
    smtp_timeout: float = _setting(30.0, _number(float, gt=0))
    smtp_connections: int = _setting(4, _number(int, ge=1, le=64))
    mail_from: str = _setting("kiemdiem@localhost")

    webhook_url: str | None = _setting(None, _optional(_text))
    webhook_secret: Secret | None = _setting(None, _optional(_secret))

    http_timeout: float = _setting(10.0, _number(float, gt=0))

    zalo_base_url: str = _setting("https://business.openapi.zalo.me")
    zalo_oa_url: str = _setting("https://openapi.zalo.me")
    zalo_oauth_url: str = _setting("https://oauth.zaloapp.com")
    zalo_app_id: str | None = _setting(None, _optional(_text))
    zalo_secret_key: Secret | None = _setting(None, _optional(_secret))
    zalo_refresh_token: Secret | None = _setting(None, _optional(_secret))
    zalo_template_id: str | None = _setting(None, _optional(_text))

    session_hours: float = _setting(8.0, _number(float, gt=0, le=24 * 30))
    allowed_hosts: tuple[str, ...] = _setting((), _names)
    trusted_proxies: tuple[str, ...] = _setting((), _networks)

    dispatch_batch: int = _setting(200, _number(int, ge=1, le=10_000))
    dispatch_concurrency: int = _setting(16, _number(int, ge=1, le=1_000))
    dispatch_give_up_hours: float = _setting(72.0, _number(float, gt=0))
    dispatch_probe_seconds: float = _setting(15.0, _number(float, gt=0))
    dispatch_probe_max_seconds: float = _setting(600.0, _number(float, gt=0))
    dispatch_lease_seconds: float = _setting(300.0, _number(float, gt=0))
    dispatch_backoff_seconds: float = _setting(60.0, _number(float, ge=0))
    dispatch_backoff_max_seconds: float = _setting(3600.0, _number(float, ge=0))
    dispatch_idle_seconds: float = _setting(5.0, _number(float, gt=0))
    digest_time: time = _setting(time(7, 30), _time_of_day)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        """The setting names; each is read from `KIEMDIEM_<NAME>` (or `…_FILE`)."""
        return tuple(f.name for f in fields(cls))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Build settings from `KIEMDIEM_*` variables (or `*_FILE`), then explicit overrides.

        Every bad value is reported at once, each under its variable's name.
        """
        env = os.environ if environ is None else environ
        unknown = sorted(set(overrides) - set(cls.names()))
        if unknown:
            raise ConfigError("settings.unknown", names=", ".join(unknown))
        values: dict[str, object] = {}
        for name in cls.names():
            key = PREFIX + name.upper()
            if key in env:
                values[name] = env[key]
            elif key + "_FILE" in env:
                path = Path(env[key + "_FILE"])
                try:
                    values[name] = path.read_text(encoding="utf-8").strip()
                except OSError as exc:
                    raise ConfigError("settings.file_unreadable", key=key, path=str(path),
                                      reason=exc.strerror) from exc
        values.update({k: v for k, v in overrides.items() if v is not None})
        parsed, problems = {}, []
        for f in fields(cls):
            if f.name in values:
                try:
                    parsed[f.name] = f.metadata["parse"](values[f.name])
                except ValueError as exc:
                    problems.append(Problem("settings.bad_value", key=PREFIX + f.name.upper(), problem=str(exc)))
        if problems:
            raise ConfigError("settings.bad", problems)
        return cls(**parsed)
