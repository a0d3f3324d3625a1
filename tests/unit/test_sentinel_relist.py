"""The sentinel's baseline when its watch list grows (sentinel.relisted): a
file a tool created since the last listing, and wrote its first session
into before the sentinel listed it, is a change, not the new baseline."""

from __future__ import annotations

from assistant_resurrect.sentinel import relisted

STATE = (5, 10)


def test_a_file_listed_for_the_first_time_and_written_since_the_last_listing_is_a_change() -> None:
    last = (STATE, (100, 1))
    now = (STATE, (100, 1), (2_000, 7))
    got = relisted(["a"], last, ["a", "new"], now, since_ns=1_000)
    assert got == (STATE, (100, 1), (0, -1))
    assert got != now  # the next look sees the new file as changed


def test_an_old_file_newly_listed_is_its_own_baseline() -> None:
    got = relisted(["a"], (STATE, (100, 1)), ["a", "old"], (STATE, (100, 1), (500, 3)), 1_000)
    assert got == (STATE, (100, 1), (500, 3))


def test_a_file_watched_before_keeps_its_baseline_so_its_change_still_counts() -> None:
    # "a" changed between the last look and the relisting: still pending
    got = relisted(
        ["a", "b"], (STATE, (100, 1), (50, 2)), ["b", "a"], (STATE, (60, 2), (300, 4)), 0
    )
    assert got == (STATE, (50, 2), (100, 1))


def test_the_state_directory_keeps_its_baseline() -> None:
    got = relisted([], ((1, 1),), ["x"], ((9, 9), (0, -1)), 0)
    assert got[0] == (1, 1)
