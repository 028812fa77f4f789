"""Small helpers shared by the integration tests: credentials, and what a playbook run printed."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path


def wrong_password(password: str) -> str:
    """The password with its last character changed: always different from it (a password ending in "x" made
    ``password[:-1] + "x"`` the right one, and a test fail once in 62 runs)."""
    return password[:-1] + ("y" if password.endswith("x") else "x")


def age_decrypt(identity: Path, path: Path) -> dict:
    """A hand-off file decrypted by the real ``age`` CLI, as ``{field: value}``."""
    out = subprocess.run(["age", "--decrypt", "-i", str(identity), str(path)],
                         capture_output=True, text=True, check=True).stdout
    return dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


def recap(output: str, host: str) -> dict:
    """The last PLAY RECAP line of ``host`` as a dict of counters."""
    lines = re.findall(r"^%s\s+:\s+(.*)$" % re.escape(host), output, re.M)
    assert lines, output[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[-1])}
