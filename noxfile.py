# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The supported-versions matrix: ansible-test sanity and the unit tests on every ansible-core minor that
meta/runtime.yml claims, each in its own virtualenv on a controller Python that core supports.

    make test-matrix                      every session (nox, from the project's virtualenv)
    .venv/bin/nox -t oldest               the oldest claimed core only (what make test adds to its own run)
    .venv/bin/nox -s "units(2.18)"        one session; `nox -l` lists them

Sessions: sanity(X) and units(X) for every claimed core; integration(X) for the oldest and the newest, the
integration tests that run the modules themselves (MODULE_INTEGRATION) with that core's ansible and ansible-playbook.

The newest core is also what .venv holds, tested by `make sanity` and `make unit`. The Pythons come from pyenv
(scripts/bootstrap.sh finds them the same way); a session whose Python is missing fails, it is not skipped.
"""

from __future__ import annotations

import glob
import os

import nox

#: ansible-core minor -> the controller Python its sessions run on: the oldest one that core supports, so the
#: matrix covers the controller Pythons 3.10 to 3.13 that README.md lists. Keep in step with requires_ansible.
CORES = {
    "2.16": "3.10",
    "2.17": "3.10",
    "2.18": "3.11",
    "2.19": "3.11",
    "2.20": "3.12",
    "2.21": "3.13",
}
OLDEST, NEWEST = min(CORES, key=lambda v: tuple(map(int, v.split(".")))), max(CORES, key=lambda v: tuple(map(int, v.split("."))))

nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "venv"
nox.options.envdir = "build/nox"

_PYENV = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
os.environ["PATH"] = os.pathsep.join(sorted(glob.glob(os.path.join(_PYENV, "versions", "3.*", "bin")))
                                     + [os.environ.get("PATH", "")])


#: The integration tests that exercise the modules (not the playbooks, not molecule): the ansible-test style targets
#: (tests/integration/targets/module_*, lookup_credential), the TLS checks of web_config and nginx_auth with the
#: real Prometheus and nginx, and every module's RETURN documentation against what it returns. They run the
#: ansible and ansible-playbook beside the session's Python, so each runs on the session's core.
MODULE_INTEGRATION = [
    "tests/integration/test_targets.py",
    "tests/integration/test_web_config_tls.py",
    "tests/integration/test_nginx_tls.py",
    "tests/integration/test_return_docs.py",
]


def _install(session: nox.Session, core: str, *more: str) -> None:
    """That core (and more), then a check that the session's ansible is that core: what runs is what is claimed."""
    session.install(_core_spec(core), *more)
    session.run("python", "-c", "import sys; from ansible.release import __version__ as v; "
                "sys.exit(0 if v.startswith(sys.argv[1] + '.') else 'ansible-core %s, not %s' % (v, sys.argv[1]))",
                core, silent=True)


def _core_spec(core: str) -> str:
    major, minor = core.split(".")
    return "ansible-core>=%s.0,<%s.%d" % (core, major, int(minor) + 1)


def _matrix(cores=None):
    cores = cores or list(CORES)
    return nox.parametrize(
        ["python", "core"],
        [(CORES[core], core) for core in cores],
        ids=cores,
        tags=[["oldest"] if core == OLDEST else ["newest"] if core == NEWEST else [] for core in cores],
    )


@nox.session(download_python="never")
@_matrix()
def sanity(session: nox.Session, core: str) -> None:
    """ansible-test sanity (scripts/sanity.sh: a copy of the tree at ansible_collections/promaccess/core)."""
    _install(session, core)
    session.run("scripts/sanity.sh", external=True,
                env={"VENV": session.virtualenv.location, "SANITY_PYTHON": session.python})


@nox.session(download_python="never")
@_matrix()
def units(session: nox.Session, core: str) -> None:
    """The unit tests (tests/unit) with the collection's own requirements."""
    _install(session, core, "-r", "requirements.txt", "pytest>=8.3,<10")
    session.run("python", "-m", "pytest", "-q", "tests/unit", *session.posargs)


@nox.session(download_python="never")
@_matrix([OLDEST, NEWEST])
def integration(session: nox.Session, core: str) -> None:
    """The integration tests that exercise the modules (MODULE_INTEGRATION), on the oldest and the newest core."""
    _install(session, core, "-r", "requirements.txt", "pytest>=8.3,<10")
    session.run("python", "-m", "pytest", "-q", *MODULE_INTEGRATION, *session.posargs)
