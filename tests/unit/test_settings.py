"""Settings come from the environment, secrets may come from files and never print."""

from __future__ import annotations

import pytest

from config.errors import ConfigError
from config.settings import Settings
from tests.helpers import refused, worded


def test_defaults_run_on_a_laptop():
    s = Settings.from_env({})
    assert s.database_url == "sqlite:///kiemdiem.db"
    assert s.channels == ("file",)


def test_channels_are_a_comma_list_and_unknown_ones_are_refused():
    assert Settings.from_env({"KIEMDIEM_CHANNELS": "email, zalo_zns"}).channels == ("email", "zalo_zns")
    with refused(ConfigError, "không có kênh 'sms'"):
        Settings.from_env({"KIEMDIEM_CHANNELS": "email,sms"})


def test_a_secret_may_come_from_a_file_and_is_never_shown(tmp_path):
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n", encoding="utf-8")
    s = Settings.from_env({"KIEMDIEM_SMTP_PASSWORD_FILE": str(secret)})
    assert s.smtp_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(s)


def test_an_unreadable_secret_file_is_named(tmp_path):
    with refused(ConfigError, "KIEMDIEM_WEBHOOK_SECRET_FILE"):
        Settings.from_env({"KIEMDIEM_WEBHOOK_SECRET_FILE": str(tmp_path / "missing")})


def test_every_bad_value_is_named_with_its_variable_at_once():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"KIEMDIEM_SMTP_PORT": "hai lăm", "KIEMDIEM_SMTP_TLS": "ssl",
                           "KIEMDIEM_DISPATCH_BATCH": "0"})
    message = worded(caught.value)
    assert "KIEMDIEM_SMTP_PORT: phải là số nguyên, không phải 'hai lăm'" in message
    assert "KIEMDIEM_SMTP_TLS: phải là một trong none, starttls, tls, không phải 'ssl'" in message
    assert "KIEMDIEM_DISPATCH_BATCH: phải ít nhất là 1, không phải 0" in message


def test_values_from_the_environment_are_typed():
    s = Settings.from_env({"KIEMDIEM_SMTP_PORT": "587", "KIEMDIEM_SMTP_TIMEOUT": "2.5",
                           "KIEMDIEM_OUTBOX_DIR": "/tmp/hộp thư", "KIEMDIEM_WEBHOOK_URL": ""})
    assert (s.smtp_port, s.smtp_timeout) == (587, 2.5)
    assert str(s.outbox_dir) == "/tmp/hộp thư"
    assert s.webhook_url is None


def test_settings_given_in_code_are_checked_too():
    assert Settings.from_env({}, smtp_port=2525, channels=("email",)).smtp_port == 2525
    with refused(ConfigError, "không có thiết lập: smtp_prot"):
        Settings.from_env({}, smtp_prot=2525)
    with refused(ConfigError, "KIEMDIEM_CHANNELS: không có kênh 'fax'"):
        Settings.from_env({}, channels=("fax",))
