"""The session-signing key: from the environment, from a file, or generated once, privately."""

from __future__ import annotations

import stat

import pytest

from config.errors import ConfigError
from config.settings import Settings
from kiemdiem.secret_key import secret_key


def test_generated_on_first_run_into_a_private_file_and_kept(tmp_path):
    path = tmp_path / "var" / "secret.key"
    first = secret_key(Settings.from_env({}), path)
    assert len(first) >= 32 and path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert secret_key(Settings.from_env({}), path) == first  # a restart keeps every session
    assert [p.name for p in path.parent.iterdir()] == ["secret.key"]  # no draft left behind


def test_the_environment_wins_and_its_file_form_works(tmp_path):
    path = tmp_path / "secret.key"
    key = "k" * 40
    assert secret_key(Settings.from_env({"KIEMDIEM_SECRET_KEY": key}), path) == key
    given = tmp_path / "from-docker-secret"
    given.write_text(key + "\n")
    assert secret_key(Settings.from_env({"KIEMDIEM_SECRET_KEY_FILE": str(given)}), path) == key
    assert not path.exists()


def test_a_short_key_is_refused_naming_the_variable(tmp_path):
    with pytest.raises(ConfigError, match="KIEMDIEM_SECRET_KEY.*32"):
        secret_key(Settings.from_env({"KIEMDIEM_SECRET_KEY": "short"}), tmp_path / "k")


def test_the_key_never_prints():
    settings = Settings.from_env({"KIEMDIEM_SECRET_KEY": "s" * 40})
    assert "s" * 40 not in repr(settings)
