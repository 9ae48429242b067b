"""The secret key that signs the units' personal links and the monitor's session cookies:
from the settings, else from a file.

`KIEMDIEM_SECRET_KEY` (or `KIEMDIEM_SECRET_KEY_FILE`) wins. Without it the key is generated
once into `var/secret.key` (mode 0600) and read from there afterwards — never into the
database, so a copy of the database alone cannot produce a working link. Several machines
serving one database must share the key: set `KIEMDIEM_SECRET_KEY` on each.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config.errors import ConfigError
from config.settings import Settings

DEFAULT_KEY_FILE = Path("var/secret.key")
#: a key shorter than this is refused (HMAC-SHA256 wants at least 256 bits of secret)
MIN_KEY_CHARS = 32


def secret_key(settings: Settings, path: Path = DEFAULT_KEY_FILE) -> bytes:
    """Return the key: the setting's, else the file's, generating the file the first time."""
    if settings.secret_key is not None:
        value = settings.secret_key.get_secret_value()
        if len(value) < MIN_KEY_CHARS:
            raise ConfigError("secret_key.short_setting", chars=MIN_KEY_CHARS,
                              command="`python -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return value.encode()
    try:
        if not path.exists():
            _generate(path)
        value = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise ConfigError("secret_key.no_file", path=str(path), reason=exc.strerror) from exc
    if len(value) < MIN_KEY_CHARS:
        raise ConfigError("secret_key.short_file", path=str(path), chars=MIN_KEY_CHARS)
    return value.encode()


def _generate(path: Path) -> None:
    """Write a new key readable by its owner only; a process that loses the race keeps the
    winner's (the file appears whole, by a hard link, or not at all)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
    finally:
        temporary.unlink(missing_ok=True)
