"""`antsibull-changelog release` produces CHANGELOG.md for the first version, on a copy of the tree.

The release consumes the fragments (``keep_fragments: false``) and rewrites changelogs/changelog.yaml, so it is
never run in the checkout: changelogs/, galaxy.yml and what antsibull-changelog reads the new plugins, modules
and roles from (plugins/, roles/, meta/, playbooks/) are copied into a temporary directory and the release is
made there. CHANGELOG.md must then list every module and lookup as new in 0.1.0 (their ``version_added``),
every public role at least by name, and carry the text of every fragment.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
VERSION = "0.1.0"
DATE = "2026-11-23"


def _plain(text: str) -> str:
    """CHANGELOG.md or fragment text reduced to words: no markup, escapes or line breaks."""
    text = re.sub(r"</?code>", "", text)
    text = text.replace("``", "")
    text = re.sub(r"\\(.)", r"\1", text)
    return " ".join(text.split())


def _fragments() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for path in sorted((REPO / "changelogs" / "fragments").glob("*.yml")):
        for section, entries in (yaml.safe_load(path.read_text()) or {}).items():
            if section == "trivial":
                continue
            out.setdefault(section, []).extend([entries] if isinstance(entries, str) else entries)
    return out


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    work = tmp_path_factory.mktemp("changelog_release")
    shutil.copy2(REPO / "galaxy.yml", work / "galaxy.yml")
    for folder in ("changelogs", "plugins", "roles", "meta", "playbooks"):
        shutil.copytree(REPO / folder, work / folder, ignore=shutil.ignore_patterns(
            "__pycache__", "*.pyc", ".plugin-cache.yaml"))
    fragments_before = sorted(p.name for p in (REPO / "changelogs" / "fragments").iterdir())
    proc = subprocess.run(
        [str(BIN / "antsibull-changelog"), "release", "--is-collection",
         "--ansible-doc-bin", str(BIN / "ansible-doc"), "--reload-plugins",
         "--version", VERSION, "--date", DATE],
        cwd=work, capture_output=True, text=True, timeout=300, check=False,
        env={"PATH": "%s:/usr/bin:/bin" % BIN, "HOME": str(work), "ANSIBLE_NOCOLOR": "1",
             "ANSIBLE_LOCAL_TEMP": str(work / ".ansible-tmp")},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The checkout is untouched: the release ran on the copy only.
    assert sorted(p.name for p in (REPO / "changelogs" / "fragments").iterdir()) == fragments_before
    return work


def test_changelog_md_for_the_first_version(release):
    changelog = release / "CHANGELOG.md"
    assert changelog.exists()
    text = changelog.read_text()
    assert "## v%s" % VERSION.replace(".", r"\.") in text
    data = yaml.safe_load((release / "changelogs" / "changelog.yaml").read_text())
    assert list(data["releases"]) == [VERSION]
    assert data["releases"][VERSION]["release_date"] == DATE
    assert not list((release / "changelogs" / "fragments").glob("*.yml")), "fragments were not consumed"


def _section(text: str, title: str) -> str:
    """The text of a `### title` section of CHANGELOG.md (up to the next `### `)."""
    start = text.index("### %s" % title)
    end = text.find("\n### ", start + 1)
    return text[start:end if end != -1 else len(text)]


@pytest.mark.parametrize("module", sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py")
                                          if not p.stem.startswith("_")))
def test_every_module_is_new(release, module):
    section = _plain(_section((release / "CHANGELOG.md").read_text(), "New Modules"))
    assert "* promaccess.core.%s - " % module in section, "%s missing from New Modules:\n%s" % (module, section)


@pytest.mark.parametrize("lookup", sorted(p.stem for p in (REPO / "plugins" / "lookup").glob("*.py")))
def test_every_lookup_is_new(release, lookup):
    section = _plain(_section((release / "CHANGELOG.md").read_text(), "New Plugins"))
    assert "* promaccess.core.%s - " % lookup in section


def test_every_public_role_is_mentioned(release):
    """Roles are listed under "New Roles" only when their argument spec's main entry has version_added;
    until then each public role must at least be named by a fragment."""
    text = _plain((release / "CHANGELOG.md").read_text())
    for role_dir in sorted((REPO / "roles").iterdir()):
        if role_dir.name.startswith("_"):
            continue
        specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())
        if specs["argument_specs"]["main"].get("version_added"):
            assert "* promaccess.core.%s - " % role_dir.name in _plain(
                _section((release / "CHANGELOG.md").read_text(), "New Roles"))
        else:
            assert role_dir.name in text, "role %s is not mentioned in CHANGELOG.md" % role_dir.name


@pytest.mark.parametrize("section,entry", [(s, e) for s, es in sorted(_fragments().items()) for e in es],
                         ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_every_fragment_is_in_the_changelog(release, section, entry):
    assert _plain(entry) in _plain((release / "CHANGELOG.md").read_text()), "%s entry missing: %s" % (
        section, entry)
