"""A full disk under the file outbox: deliveries fail as transient, nothing half-written,
nothing lost once space returns, nothing written twice.

The outbox folder is a real 64 KiB tmpfs (this needs root, as on the CI machine; elsewhere
the test is skipped with that reason). Filling it makes `write` fail with ENOSPC, exactly as
a full partition would — unlike RLIMIT_FSIZE, which kills the writer with SIGXFSZ instead.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.faults
files = pytest.importorskip("notifiers.files", reason="the file channel lands with the notifiers branch")
base = pytest.importorskip("notifiers.base")

MESSAGES = 60


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "outbox"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a 64 KiB tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _message(n: int):
    return base.Message(kind="late", channel="file", recipient=f"GL-TS-T{n}",
                        dedup_key=f"2026:GL-TS-T{n}:reports_prepared:late:0:file:GL-TS-T{n}",
                        subject=f"Chậm hạn chuẩn bị báo cáo — chi bộ {n}",
                        text="Kính gửi đồng chí Bí thư. " * 120, html="", short=f"Chi bộ {n} chậm hạn",
                        data={"unit_code": f"GL-TS-T{n}", "stage": "reports_prepared"})


async def _send_all(channel, messages) -> tuple[list, list]:
    sent, failed = [], []
    for message in messages:
        try:
            await channel.send(message)
            sent.append(message)
        except base.DeliveryError as exc:
            assert not exc.permanent, "a full disk must be retried, not given up"
            failed.append(message)
    return sent, failed


def _outbox(folder: Path) -> dict[str, dict]:
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")}


def test_full_disk_loses_nothing_and_duplicates_nothing(small_disk: Path) -> None:
    channel = files.FileChannel(small_disk, "kiemdiem@example.vn")
    messages = [_message(n) for n in range(MESSAGES)]
    sent, failed = asyncio.run(_send_all(channel, messages))
    on_disk = _outbox(small_disk)
    print(f"disk full after {len(sent)} of {MESSAGES} messages; {len(failed)} to retry")
    assert failed, "the disk never filled: the test proves nothing"
    assert not list(small_disk.glob(".*.tmp")), "a temporary file was left behind"
    assert sorted(on_disk) == sorted(f"{m.key}.json" for m in sent), \
        "a file without its message, or a message without its file"
    assert all(doc["dedup_key"] == m.dedup_key for m in sent for doc in [on_disk[f"{m.key}.json"]])

    subprocess.run(["mount", "-o", "remount,size=4m", str(small_disk)], check=True)
    resent, still = asyncio.run(_send_all(channel, failed + sent[:3]))  # plus 3 redeliveries
    on_disk = _outbox(small_disk)
    lost = {f"{m.key}.json" for m in messages} - set(on_disk)
    extra = len(list(small_disk.iterdir())) - MESSAGES
    print(f"after space returned: lost {len(lost)}, duplicated {extra}")
    assert not still and not lost and extra == 0
    assert len(resent) == len(failed) + 3
