"""Settings come from the environment, secrets may come from files and never print."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.settings import Settings


def test_defaults_run_on_a_laptop():
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///kiemdiem.db"
    assert s.channels == ("file",)


def test_channels_are_a_comma_list_and_unknown_ones_are_refused():
    assert Settings.from_env({"KIEMDIEM_CHANNELS": "email, zalo_zns"}).channels == ("email", "zalo_zns")
    with pytest.raises(ConfigError, match="unknown channel 'sms'"):
        Settings.from_env({"KIEMDIEM_CHANNELS": "email,sms"})


def test_a_secret_may_come_from_a_file_and_is_never_shown(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    s = Settings.from_env({"KIEMDIEM_SMTP_PASSWORD_FILE": str(secret)})
    assert s.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)


def test_an_unreadable_secret_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="KIEMDIEM_WEBHOOK_SECRET_FILE"):
        Settings.from_env({"KIEMDIEM_WEBHOOK_SECRET_FILE": str(tmp_path / "missing")})
