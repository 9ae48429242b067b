"""The overview's cache computes a missing value once, however many requests miss it at once."""

from __future__ import annotations

import threading

from kiemdiem.web.cache import VersionedCache


def test_concurrent_misses_of_one_key_compute_it_once_and_a_new_version_again():
    cache = VersionedCache()
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def scan() -> str:
        calls.append(1)
        started.set()
        release.wait(30)
        return "scan"

    results: list[str] = []
    first = threading.Thread(target=lambda: results.append(cache.get("root", 1, scan)))
    first.start()
    assert started.wait(30)
    others = [threading.Thread(target=lambda: results.append(cache.get("root", 1, scan))) for _ in range(8)]
    for thread in others:
        thread.start()
    release.set()
    for thread in [first, *others]:
        thread.join(30)
    assert results == ["scan"] * 9 and len(calls) == 1
    assert cache.get("root", 2, lambda: "newer") == "newer"
    assert cache.get("root", 2, scan) == "newer" and len(calls) == 1
