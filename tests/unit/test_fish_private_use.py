"""fish 4 drops private-use characters typed at its prompt (U+E000-U+F8FF) and
aborts on some (U+F500-U+F6FF): for fish they are always written as escapes,
never typed raw (tests/hostile/test_real_shells.py types them into the real
fish; the tmux 3.7c container has fish 4.9)."""

from __future__ import annotations

from assistant_resurrect import command


def test_every_private_use_character_is_escaped_for_fish() -> None:
    for code in [*range(0xE000, 0xF900, 0x3F), 0xF500, 0xF5FF, 0xF600, 0xF8FF, 0xFDD0]:
        ch = chr(code)
        line = command.build(["claude", f"a{ch}b"], {}, None, None, "fish")
        assert ch not in line, (hex(code), line)


def test_other_characters_stay_as_they_are_for_fish() -> None:
    for ch in ("é", "€", "😀", "\uf900", "\ufffd"):
        assert ch in command.build(["claude", f"a{ch}b"], {}, None, None, "fish")
