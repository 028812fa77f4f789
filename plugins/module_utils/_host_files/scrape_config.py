# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scrape-job authentication in Prometheus's main configuration file. Private to promaccess.core.

The plain functions (``parse``, ``set_auth``, ``remove_auth``, ``render``) know nothing about Ansible. The
backend uses only ``module.params``, ``check_mode``, ``_diff``, ``warn``, ``run_command``, ``get_bin_path``
and the file helpers of AnsibleModule, so tests can drive it with a stand-in module.
"""

from __future__ import annotations

import copy
import os

from ansible_collections.promaccess.core.plugins.module_utils._common.io import (
    DEFAULT_SECRET_MODE,
    FileWriteError,
    install_file,
    read_file,
    staged_file,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.promtool import check_staged
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import (
    YAML_IMPORT_ERROR,
    dump_document,
    load_mapping,
)

#: The ways a scrape job can authenticate; Prometheus accepts at most one of them per job.
AUTH_KINDS = ("basic_auth", "authorization", "oauth2", "bearer_token", "bearer_token_file")

#: Keys whose values are secrets when written inline; masked in diffs.
SECRET_KEYS = frozenset(("password", "credentials", "bearer_token", "client_secret", "secret_key", "token"))
MASK = "<hidden>"


class ScrapeConfigError(Exception):
    """A configuration that cannot be read or updated; the message never holds a secret."""


# -- plain functions ---------------------------------------------------------------------------------------
def parse(text: str) -> dict:
    """The whole document of a prometheus.yml (a mapping; empty when the text is empty)."""
    document = load_mapping(text, ScrapeConfigError)
    scrape_configs = document.get("scrape_configs")
    if scrape_configs is not None:
        if not isinstance(scrape_configs, list):
            raise ScrapeConfigError("scrape_configs must be a list of scrape jobs")
        for index, job in enumerate(scrape_configs):
            if not isinstance(job, dict):
                raise ScrapeConfigError("scrape_configs entry %d must be a mapping" % (index + 1))
    return document


def job_names(document: dict) -> list[str]:
    """Names of the scrape jobs, in file order."""
    return [str(job.get("job_name")) for job in document.get("scrape_configs") or []]


def auth_block(auth_type: str, username: str | None, password_file: str, authorization_type: str = "Bearer") -> dict:
    """The block this collection puts under ``auth_type`` in a scrape job."""
    if auth_type == "basic_auth":
        if not username:
            raise ScrapeConfigError("username is required with auth_type=basic_auth")
        return {"username": username, "password_file": password_file}
    if auth_type == "authorization":
        return {"type": authorization_type, "credentials_file": password_file}
    raise ScrapeConfigError("unknown auth_type %r" % auth_type)


def _select(document: dict, names: list[str]) -> list[dict]:
    """The jobs named by ``names`` (every job of each name); refuses a name that no job has."""
    if not names:
        raise ScrapeConfigError("job_name must name at least one scrape job")
    existing = job_names(document)
    missing = [name for name in names if name not in existing]
    if missing:
        hint = ""
        if document.get("scrape_config_files"):
            hint = " (jobs in scrape_config_files are not managed by this module)"
        raise ScrapeConfigError(
            "has no scrape job named %s; the jobs are: %s%s"
            % (", ".join(repr(n) for n in missing), ", ".join(repr(n) for n in existing) or "(none)", hint)
        )
    return [job for job in document["scrape_configs"] if str(job.get("job_name")) in names]


def _place(job: dict, key: str, value) -> dict:
    """``job`` with ``key`` set: in place when present, else before the first list of configs
    (``static_configs``, ``*_sd_configs``, ``relabel_configs``...), else at the end."""
    if key in job:
        job[key] = value
        return job
    items = list(job.items())
    position = next((i for i, name in enumerate(job) if str(name).endswith("_configs")), len(items))
    items.insert(position, (key, value))
    return dict(items)


def set_auth(document: dict, names: list[str], auth_type: str, block: dict, force: bool = False) -> tuple[dict, list[str]]:
    """Return (new document, names of the jobs that change) with ``auth_type: block`` on every named job.

    A job that already authenticates another way (``oauth2``, ``bearer_token``...) is refused unless ``force``,
    which removes the other way. The input document is not modified.
    """
    new = copy.deepcopy(document)
    jobs = _select(new, names)
    changed: list[str] = []
    conflicts: list[str] = []
    for job in jobs:
        others = [k for k in AUTH_KINDS if k != auth_type and job.get(k) is not None]
        if others and not force:
            conflicts.append("%r uses %s" % (str(job.get("job_name")), ", ".join(others)))
    if conflicts:
        raise ScrapeConfigError(
            "cannot set %s: job %s already; set force=true to replace it" % (auth_type, "; job ".join(conflicts))
        )
    scrape_configs = new["scrape_configs"]
    for index, job in enumerate(scrape_configs):
        if not any(job is selected for selected in jobs):
            continue
        removed = [k for k in AUTH_KINDS if k != auth_type and k in job]
        if job.get(auth_type) == block and not removed:
            continue
        # Where the first replaced key stood, or before the service discovery and relabelling lists.
        items = list(job.items())
        if removed and auth_type not in job:
            position = list(job).index(removed[0])
            items.insert(position, (auth_type, None))
        rebuilt = dict((k, v) for k, v in items if k not in removed)
        scrape_configs[index] = _place(rebuilt, auth_type, copy.deepcopy(block))
        changed.append(str(job.get("job_name")))
    return new, changed


def set_transport(document: dict, names: list[str], scheme: str | None, ca_file: str | None) -> tuple[dict, list[str]]:
    """Return (new document, names of the jobs that change) with ``scheme`` and ``tls_config.ca_file`` set on every
    named job (None: left as it is); every other key of ``tls_config`` (server_name, cert_file, ...) is kept."""
    new = copy.deepcopy(document)
    jobs = _select(new, names)
    if scheme not in (None, "http", "https"):
        raise ScrapeConfigError("scheme must be http or https, got %r" % scheme)
    changed: list[str] = []
    scrape_configs = new["scrape_configs"]
    for index, job in enumerate(scrape_configs):
        if not any(job is selected for selected in jobs):
            continue
        name = str(job.get("job_name"))
        if scheme is not None and job.get("scheme", "http") != scheme:
            job = _place(job, "scheme", scheme)
            changed.append(name)
        if ca_file is not None:
            tls = job.get("tls_config")
            if tls is not None and not isinstance(tls, dict):
                raise ScrapeConfigError("job %r has a tls_config that is not a mapping" % name)
            if (tls or {}).get("ca_file") != ca_file:
                job = _place(job, "tls_config", dict(tls or {}, ca_file=ca_file))
                changed.append(name)
        scrape_configs[index] = job
    return new, list(dict.fromkeys(changed))


def remove_auth(document: dict, names: list[str], auth_type: str) -> tuple[dict, list[str]]:
    """Return (new document, names of the jobs that change) without ``auth_type`` on the named jobs."""
    new = copy.deepcopy(document)
    jobs = _select(new, names)
    changed: list[str] = []
    for job in jobs:
        if auth_type in job:
            del job[auth_type]
            changed.append(str(job.get("job_name")))
    return new, changed


def render(document: dict) -> str:
    """The document as YAML; keys keep their order."""
    return dump_document(document)


def mask_secrets(value):
    """A copy of ``value`` with every inline secret (``password``, ``credentials``...) replaced by a mask."""
    if isinstance(value, dict):
        return dict(
            (k, MASK if k in SECRET_KEYS and v not in (None, "") else mask_secrets(v)) for k, v in value.items()
        )
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    return value


def has_inline_secrets(value) -> bool:
    return mask_secrets(value) != value


def check_password(password: str) -> None:
    """Refuse a password Prometheus cannot read back unchanged (it trims the file's content)."""
    if password == "":
        raise ScrapeConfigError("password must not be empty")
    if password != password.strip():
        raise ScrapeConfigError(
            "password must not start or end with whitespace or contain only whitespace: "
            "Prometheus trims the content of password_file"
        )
    if "\n" in password or "\r" in password:
        raise ScrapeConfigError("password must be a single line")


# -- the backend of promaccess.core.prometheus_scrape_auth ---------------------------------------------------
class ScrapeAuthBackend:
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.path = module.params["path"]
        self.result: dict = {"path": self.path, "changed": False, "reload_needed": False, "jobs_changed": []}

    def _error(self, exc: ScrapeConfigError, path: str | None = None) -> ScrapeConfigError:
        return ScrapeConfigError("%s %s" % (path or self.path, exc))

    # -- pieces ---------------------------------------------------------------------------------------
    def read_config(self) -> tuple[str, dict]:
        try:
            raw = read_file(self.path)
        except FileWriteError as exc:
            raise ScrapeConfigError(str(exc)) from exc
        if raw is None:
            raise ScrapeConfigError("%s does not exist" % self.path)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScrapeConfigError("%s is not valid UTF-8 text (byte %d)" % (self.path, exc.start)) from exc
        try:
            return text, parse(text)
        except ScrapeConfigError as exc:
            raise self._error(exc) from exc

    def password_file_path(self) -> str:
        """Where the module writes the password: relative paths resolve from the configuration's directory."""
        password_file = self.params["password_file"]
        if os.path.isabs(password_file):
            return password_file
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), password_file)

    def password_file_args(self, path: str) -> dict:
        mode = self.params["password_file_mode"]
        wanted = dict(
            mode=DEFAULT_SECRET_MODE if mode is None else mode,
            owner=self.params["password_file_owner"],
            group=self.params["password_file_group"],
        )
        return self.module.load_file_common_arguments(wanted, path=path)

    def apply_password(self) -> bool:
        """Write the password file when its content or attributes differ; return whether it changed."""
        password = self.params["password"]
        try:
            check_password(password)
        except ScrapeConfigError as exc:
            raise ScrapeConfigError("%s: %s" % (self.params["password_file"], exc)) from exc
        path = self.password_file_path()
        if not os.path.isdir(os.path.dirname(path)):
            raise ScrapeConfigError("cannot write %s: its directory does not exist" % path)
        try:
            current = read_file(path)
        except FileWriteError as exc:
            raise ScrapeConfigError(str(exc)) from exc
        content = (password + "\n").encode("utf-8")
        content_changed = current is None or current.strip() != password.encode("utf-8")
        file_args = self.password_file_args(path)
        changed = content_changed
        if current is not None:
            # Tighten an existing file first, so the new content never inherits looser permissions.
            changed = self.module.set_fs_attributes_if_different(file_args, changed)
        if content_changed and not self.module.check_mode:
            try:
                with staged_file(path, content) as staged:
                    install_file(self.module, staged, path, file_args)
            except FileWriteError as exc:
                raise ScrapeConfigError(str(exc)) from exc
            changed = self.module.set_fs_attributes_if_different(file_args, changed)
        return changed

    def validate(self, staged_path: str) -> None:
        check_staged(self.module, "config", staged_path, self.path, self.result, ScrapeConfigError)

    def diff(self, text: str, document: dict, new_document: dict, changed: bool, password_changed: bool) -> list[dict]:
        if has_inline_secrets(document) or has_inline_secrets(new_document):
            header = "%s (re-rendered, inline secrets hidden)" % self.path
            before, after = render(mask_secrets(document)), render(mask_secrets(new_document))
        else:
            header = self.path
            before, after = text, (render(new_document) if changed else text)
        diffs = [{"before_header": header, "after_header": header, "before": before, "after": after}]
        if self.params["password"] is not None and self.params["state"] == "present":
            name = "%s (content not shown)" % self.password_file_path()
            diffs.append({
                "before_header": name,
                "after_header": name,
                "before": "password file\n",
                "after": "password file (changed)\n" if password_changed else "password file\n",
            })
        return diffs

    # -- the flow -------------------------------------------------------------------------------------
    def run(self) -> dict:
        if YAML_IMPORT_ERROR is not None:
            raise ScrapeConfigError("PyYAML is required to manage %s" % self.path)
        params = self.params
        text, document = self.read_config()
        names = list(params["job_name"])
        ca_file = params.get("tls_ca_file")
        if ca_file and not os.path.isfile(ca_file):
            # Prometheus would fail every scrape of these jobs with it; say so before anything changes.
            raise ScrapeConfigError("tls_ca_file %s does not exist; %s is left as it is" % (ca_file, self.path))
        try:
            if params["state"] == "present":
                if not params["password_file"]:
                    raise ScrapeConfigError("password_file is required with state=present")
                block = auth_block(params["auth_type"], params["username"], params["password_file"],
                                   params["authorization_type"])
                new_document, jobs_changed = set_auth(document, names, params["auth_type"], block, params["force"])
                new_document, transport_changed = set_transport(new_document, names, params["scheme"],
                                                                params["tls_ca_file"])
                jobs_changed += [name for name in transport_changed if name not in jobs_changed]
            else:
                new_document, jobs_changed = remove_auth(document, names, params["auth_type"])
        except ScrapeConfigError as exc:
            raise self._error(exc) from exc

        # The password file first: promtool check config (newer versions) checks that it exists.
        password_changed = False
        if params["state"] == "present" and params["password"] is not None:
            password_changed = self.apply_password()

        config_changed = bool(jobs_changed)
        self.result["jobs_changed"] = jobs_changed
        self.result["reload_needed"] = config_changed
        self.result["password_file_changed"] = password_changed
        if config_changed and not self.module.check_mode:
            content = render(new_document).encode("utf-8")
            try:
                if params["backup"]:
                    self.result["backup_file"] = self.module.backup_local(self.path)
                with staged_file(self.path, content) as staged:
                    self.validate(staged)
                    # No wanted attributes: atomic_move keeps those of the current file.
                    install_file(self.module, staged, self.path, self.module.load_file_common_arguments({}, path=self.path))
            except FileWriteError as exc:
                raise ScrapeConfigError(str(exc)) from exc
        if self.module._diff:
            self.result["diff"] = self.diff(text, document, new_document, config_changed, password_changed)
        self.result["changed"] = config_changed or password_changed
        return self.result
