"""The README's claims about options, start modes and the secret filters hold:
each is read from the README itself and checked against the code."""

from __future__ import annotations

import re

from assistant_resurrect import capture, settings
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def option_rows() -> dict[str, tuple[str, str]]:
    rows = {}
    for line in section("tmux options").splitlines():
        m = re.match(r"\| `(@[a-z-]+)` \| ([^|]*) \| (.*) \|$", line)
        if m:
            rows[m.group(1)] = (m.group(2).strip(), m.group(3))
    return rows


def test_every_option_of_ours_is_in_the_options_table_and_no_other() -> None:
    ours = {o for o in settings.OPTIONS if o.startswith("@assistant-resurrect-")}
    assert set(option_rows()) == ours


def test_the_documented_defaults_are_the_code_defaults() -> None:
    rows = option_rows()
    empty = settings.Settings({})
    assert rows["@assistant-resurrect-stagger"][0] == f"`{empty.stagger:g}`"
    assert rows["@assistant-resurrect-check"][0] == f"`{empty.check_seconds:g}`"
    assert rows["@assistant-resurrect-start"][0] == f"`{empty.start_mode(print)}`"
    assert (
        rows["@assistant-resurrect-shells"][0]
        == f"`{' '.join(sorted(empty.shells, key=settings.DEFAULT_SHELLS.index))}`"
    )
    assert rows["@assistant-resurrect-capture-secret-env"][0] == "`off`"


def test_the_documented_start_modes_are_the_code_modes() -> None:
    meaning = option_rows()["@assistant-resurrect-start"][1]
    assert set(re.findall(r"`([a-z]+)`:", meaning)) == set(settings.START_MODES)


def _security_bullet(label: str) -> str:
    text = section("Security model")
    start = text.index(f"**{label}")
    end = text.find("\n- **", start)
    return text[start:end]


def test_the_secret_names_the_readme_lists_are_refused() -> None:
    bullet = _security_bullet("Secrets.")
    names_part = bullet[: bullet.index("values that look like credentials")]
    listed = [n.strip("…") for n in re.findall(r"`([A-Z_…]+)`", names_part)]
    assert len(listed) >= 8, listed
    for stem in listed:
        for name in (stem, f"MY_{stem}", f"{stem}_X"):
            wanted, refused = capture.names(name, allow_secrets=False)
            assert refused == [name] and not wanted, name
            assert capture.names(name, allow_secrets=True)[0] == [name]


def test_the_credential_values_the_readme_shows_are_refused() -> None:
    examples = [
        "https://user:pw@host.example/x",
        "http://proxy-user:s3cret@proxy.example:3128",
        "ghp_" + "a" * 36,
        "github_pat_" + "B" * 40,
        "sk-" + "c" * 40,
        "xoxb-1234-5678-abcdef",
        "AKIA" + "D" * 16,
    ]
    for value in examples:
        assert capture.secret_value(value), value
        kept, refused = capture.keep_values({"X_URL": value}, allow_secrets=False)
        assert kept == {} and refused == ["X_URL"], value
        assert capture.keep_values({"X_URL": value}, allow_secrets=True)[0] == {"X_URL": value}
    for harmless in ("https://host.example/x", "/home/me/.venv", "en_US.UTF-8"):
        assert not capture.secret_value(harmless), harmless


def test_names_the_readme_says_are_captured_are_not_refused() -> None:
    for name in ("PATH", "PATTERN", "PWD", "OLDPWD", "VIRTUAL_ENV", "GIT_AUTHOR_NAME"):
        assert capture.names(name, allow_secrets=False) == ([name], []), name
