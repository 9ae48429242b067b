"""The key that signs the monitor's session cookies (and secretaries' links).

It comes from `KIEMDIEM_SECRET_KEY` (or `KIEMDIEM_SECRET_KEY_FILE`); when neither is set it
is generated on first run into `var/secret.key` (mode 0600), a file beside the process, never
in the database: a copy of the database alone must not let anyone forge a session.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from config.errors import ConfigError
from config.settings import Settings

KEY_FILE = Path("var/secret.key")
MIN_KEY_LENGTH = 32


def secret_key(settings: Settings, path: Path = KEY_FILE) -> str:
    """Return the configured key, else the one in `path`, generating that file on first run."""
    if settings.secret_key is not None:
        key = settings.secret_key.get_secret_value()
        where = "KIEMDIEM_SECRET_KEY"
    else:
        key, where = _stored_key(path), str(path)
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"{where}: the secret key must have at least {MIN_KEY_LENGTH} characters.")
    return key


def _stored_key(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(48) + "\n")
    try:
        os.link(draft, path)  # atomic: of two processes starting at once, one key wins
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text(encoding="utf-8").strip()
