"""The secret key of links and sessions: from the setting or its file form, else generated
once into a private file; never printed."""

from __future__ import annotations

import stat

from config.errors import ConfigError
from config.secretkey import secret_key
from config.settings import Settings
from tests.helpers import refused
from workflow.links import token_for, token_hash


def test_a_missing_key_is_generated_once_readable_by_its_owner_only(tmp_path):
    path = tmp_path / "var" / "secret.key"
    first = secret_key(Settings.from_env({}), path)
    assert len(first) >= 32 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(Settings.from_env({}), path) == first  # a restart keeps links and sessions
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no draft left behind


def test_the_setting_and_its_file_form_win_and_a_short_one_is_refused(tmp_path):
    key = "k" * 40
    assert secret_key(Settings.from_env({"KIEMDIEM_SECRET_KEY": key}), tmp_path / "x") == key.encode()
    given = tmp_path / "from-docker-secret"
    given.write_text(key + "\n")
    assert secret_key(Settings.from_env({"KIEMDIEM_SECRET_KEY_FILE": str(given)}), tmp_path / "x") == key.encode()
    assert not (tmp_path / "x").exists()
    with refused(ConfigError, "KIEMDIEM_SECRET_KEY.*32"):
        secret_key(Settings.from_env({"KIEMDIEM_SECRET_KEY": "short"}), tmp_path / "x")
    assert "k" * 40 not in repr(Settings.from_env({"KIEMDIEM_SECRET_KEY": key}))


def test_a_token_is_256_bits_of_hmac_and_depends_on_the_key():
    token = token_for(b"a" * 32, "00" * 16)
    assert len(token) == 43 and token != token_for(b"b" * 32, "00" * 16)
    assert token_hash(token) != token and len(token_hash(token)) == 64
