# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The basic-auth users inside a Helm values file, plain or sops-encrypted. Private to promaccess.core: no stable API.

The users sit at a key path the operator gives, in one of the shapes charts take:

- ``list``: a list of ``{username, password}`` mappings with plain passwords (2i2c's support chart, which hashes
  them with Helm's ``htpasswd``); a reserved head of the list (``reserved`` entries, 1 by default) stays first and
  is never touched; other keys of an entry are kept;
- ``map``: a mapping user -> hash (``basic_auth_users`` of an exporter-toolkit ``web.yml`` under the prometheus
  chart's ``serverFiles``);
- ``htpasswd``: one string of ``user:hash`` lines.

For ``map`` and ``htpasswd`` the one reconciliation of _common/users.py decides (a given password is verified
against the stored hash, never hashed again when it matches). A sops file stays encrypted with its own key groups:
it is decrypted with ``sops decrypt`` and only the changed key path is written back with ``sops set`` / ``sops
unset`` on a staged copy, which must decrypt to what was meant before it replaces the file (_store/sops.py,
``Sops.update``); values that did not change keep their ciphertext. A plain file is edited with ruamel.yaml's
round trip (comments, key order, quotes and indentation kept), checked by reading it back, and replaced
atomically. A run that changes nothing writes nothing; check mode computes everything and writes nothing.

run() uses only ``module.params``, ``module.check_mode``, ``module._diff`` and ``module.no_log_values`` (through
hide_labelled_names); the sops runner is a parameter, so tests drive it without Ansible.
"""

from __future__ import annotations

import json
import os

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashingError, HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._common.io import FileWriteError, read_file, staged_file
from ansible_collections.promaccess.core.plugins.module_utils._common.users import (
    Outcome,
    UserError,
    describe_users,
    hide_labelled_name,
    hide_labelled_names,
    normalise_wanted,
    reconcile,
    shown,
)
from ansible_collections.promaccess.core.plugins.module_utils._common.yaml import (
    RUAMEL_IMPORT_ERROR,
    SAFE_LOADER,
    YAML_IMPORT_ERROR,
    LiteralScalarString,
    dump_round_trip,
    key_path_text,
    load_round_trip,
    yaml,
)
from ansible_collections.promaccess.core.plugins.module_utils._helm.prometheus_server import ServerError, wire_server
from ansible_collections.promaccess.core.plugins.module_utils._store.sops import (
    Sops,
    SopsError,
    index_of,
    recipients,
    sops_metadata,
)

SHAPES = ("list", "map", "htpasswd")
#: How many entries at the head stay first and untouched, by shape, when ``reserved`` is not given.
DEFAULT_RESERVED = {"list": 1, "map": 0, "htpasswd": 0}
#: What the diff says of a plain password of the ``list`` shape (the chart hashes it when it renders).
PLAIN = "plain password (hashed by the chart)"


class ValuesError(Exception):
    """The values file cannot be read or changed. The message names the file and the cause, never a secret."""


class _Missing:
    """A key path that ends before its last key (create_key creates it)."""


MISSING = _Missing()


def _walk(document, keys, path: str, create_key: bool):
    """The mapping holding the last key of ``keys`` and the value there (MISSING when absent).

    Missing mappings on the way are created in ``document`` when ``create_key``; a list or a scalar on the way
    is an error naming the part of the key path that reaches it.
    """
    if not isinstance(document, dict):
        raise ValuesError("values file %s must hold a YAML mapping at the top level" % path)
    node = document
    for depth, key in enumerate(keys[:-1]):
        child = node.get(key, MISSING)
        if child is MISSING or child is None:
            if not create_key:
                raise ValuesError("values file %s has no key %s (create_key is false)"
                                  % (path, key_path_text(keys[:depth + 1])))
            child = node[key] = type(node)()
        elif not isinstance(child, dict):
            kind = "a list" if isinstance(child, list) else "a scalar"
            raise ValuesError("values file %s: key path %s runs through %s at %s, not a mapping"
                              % (path, key_path_text(keys), kind, key_path_text(keys[:depth + 1])))
        node = child
    value = node.get(keys[-1], MISSING)
    if value is MISSING and not create_key:
        raise ValuesError("values file %s has no key %s (create_key is false)" % (path, key_path_text(keys)))
    return node, value


def _wrong_type(path: str, keys, shape: str, wanted: str, value) -> ValuesError:
    kind = "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else "a %s" % type(value).__name__
    return ValuesError("values file %s: %s holds %s; shape %s needs %s" % (path, key_path_text(keys), kind, shape, wanted))


# -- the shapes ---------------------------------------------------------------------------------------------------
def plan_list(value, wanted, reserved: int, exclusive: bool, policy: HashPolicy, labels, where: str, new_entry):
    """The new list of ``{username, password}`` entries, the Outcome, and the before/after user listings.

    A changed password is set in its entry in place (the caller keeps a copy of the old value)."""
    entries = list(value or [])
    head, tail = entries[:reserved], entries[reserved:]
    current: dict = {}
    for index, entry in enumerate(tail, start=reserved):
        if not isinstance(entry, dict) or not isinstance(entry.get("username"), str):
            raise ValuesError("%s: entry %d is not a mapping with a 'username' string" % (where, index + 1))
        if entry["username"] in current:
            raise ValuesError("%s: user name of entry %d is listed more than once" % (where, index + 1))
        current[entry["username"]] = entry
    head_names = {e.get("username") for e in head if isinstance(e, dict)}
    outcome = Outcome({})
    new_tail = list(tail)
    listed = set()
    for user in normalise_wanted(wanted):
        name, who = user["name"], user["label"] or user["name"]
        listed.add(name)
        if name in head_names:
            raise ValuesError("%s: user %r is one of the %d reserved entries at the head of the list, which this "
                              "module never changes" % (where, who, reserved))
        entry = current.get(name)
        if user["state"] == "absent":
            if entry is not None:
                new_tail.remove(entry)
                outcome.removed.append(name)
            continue
        if user["password_hash"] is not None:
            raise ValuesError("%s: user %r is given by password_hash, but shape list holds plain passwords (the "
                              "chart hashes them); give its password" % (where, who))
        try:
            policy.check_password(who, user["password"])
        except HashingError as exc:
            raise ValuesError("%s: %s" % (where, exc)) from None
        if entry is None:
            if len(head) < reserved:
                raise ValuesError("%s: the list has %d entries, fewer than the %d reserved at its head; a new user "
                                  "would take a reserved place" % (where, len(head), reserved))
            new_tail.append(new_entry({"username": name, "password": user["password"]}))
            outcome.added.append(name)
        elif entry.get("password") != user["password"]:
            entry["password"] = user["password"]  # in place: the entry's other keys and comments stay
            outcome.updated.append(name)
    if exclusive:
        for entry in list(new_tail):
            if entry["username"] not in listed:
                new_tail.remove(entry)
                outcome.removed.append(entry["username"])

    def listing(items):
        lines = ["reserved entry %d: kept as it is\n" % (i + 1) for i in range(len(head))]
        return "".join(lines) + "".join("%s: %s\n" % (shown(e["username"], labels), PLAIN) for e in items)

    return head + new_tail, outcome, listing(tail), listing(new_tail)


def _plan_hashes(existing: dict, wanted, reserved: int, exclusive: bool, policy: HashPolicy, labels, where: str):
    """The reconciliation of a name -> hash map whose first ``reserved`` users stay first and untouched."""
    names = list(existing)
    head = {name: existing[name] for name in names[:reserved]}
    tail = {name: existing[name] for name in names[reserved:]}
    for user in wanted or []:
        if isinstance(user, dict) and user.get("name") in head:
            raise ValuesError("%s: user %r is one of the %d reserved users at the head, which this module never "
                              "changes" % (where, user.get("label") or user.get("name"), reserved))
    try:
        outcome = reconcile(tail, wanted, policy, exclusive)
    except UserError as exc:
        raise ValuesError("%s: %s" % (where, exc)) from None
    new = dict(head)
    new.update(outcome.users)
    return new, outcome, describe_users(existing, labels), describe_users(new, labels)


def plan_map(value, wanted, reserved, exclusive, policy, labels, where, new_mapping):
    """The new user -> hash mapping: ``value`` itself changed in place (its comments kept), or a new one."""
    existing = dict(value or {})
    for name, hashed in existing.items():
        if not isinstance(name, str) or not isinstance(hashed, str):
            raise ValuesError("%s: every user must map to a hash string" % where)
    new, outcome, before, after = _plan_hashes(existing, wanted, reserved, exclusive, policy, labels, where)
    result = value if isinstance(value, dict) else new_mapping()
    if outcome.changed:
        for name in list(result):
            if name not in new:
                del result[name]
        for name, hashed in new.items():
            result[name] = hashed
    return result, outcome, before, after


def parse_htpasswd(text: str, where: str) -> dict:
    users = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, hashed = line.partition(":")
        if not sep or not name or not hashed:
            raise ValuesError("%s: line %d of the htpasswd string is not 'user:hash'" % (where, number))
        if name in users:
            raise ValuesError("%s: line %d of the htpasswd string repeats a user" % (where, number))
        users[name] = hashed
    return users


def plan_htpasswd(value, wanted, reserved, exclusive, policy, labels, where, literal):
    text = value or ""
    existing = parse_htpasswd(text, where)
    new, outcome, before, after = _plan_hashes(existing, wanted, reserved, exclusive, policy, labels, where)
    if not outcome.changed:
        return value, outcome, before, after
    rendered = "".join("%s:%s\n" % item for item in new.items())
    if text and not text.endswith("\n"):
        rendered = rendered[:-1]
    return literal(rendered), outcome, before, after


# -- the file -----------------------------------------------------------------------------------------------------
def _check_options(params) -> tuple:
    path = params["path"]
    shape = params["shape"]
    if shape not in SHAPES:
        raise ValuesError("shape must be one of %s, got %r" % (", ".join(SHAPES), shape))
    keys = params["key_path"]
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValuesError("key_path must be a non-empty list of non-empty strings (keys may contain dots)")
    reserved = params.get("reserved")
    reserved = DEFAULT_RESERVED[shape] if reserved is None else reserved
    if not isinstance(reserved, int) or reserved < 0:
        raise ValuesError("reserved must be 0 or more")
    try:
        policy = HashPolicy("bcrypt", params.get("bcrypt_rounds") or 12, params.get("rehash") or "never")
    except HashingError as exc:
        raise ValuesError(str(exc)) from None
    return path, shape, keys, reserved, policy


def _plain_copy(document):
    """``document`` as plain dicts, lists and scalars (what PyYAML reads), for comparisons."""
    return json.loads(json.dumps(document, default=str))


def run(module, runner=None) -> dict:
    """Apply ``module.params`` to the values file; the module's result (without ``invocation``).

    ``runner`` runs sops (_store/sops.py); it is needed only for a sops file. Raises ValuesError.
    """
    labels = hide_labelled_names(module)
    params = module.params
    server = params.get("server")
    if server:
        hide_labelled_name(module, server.get("probe_username"), server.get("probe_username_label"))
    if YAML_IMPORT_ERROR is not None or RUAMEL_IMPORT_ERROR is not None:
        raise ValuesError("helm_values_users needs the 'PyYAML' and 'ruamel.yaml' Python packages")
    path, shape, keys, reserved, policy = _check_options(params)
    where = "values file %s, %s" % (path, key_path_text(keys))
    try:
        raw = read_file(path)
    except FileWriteError as exc:
        raise ValuesError("values file %s: %s" % (path, exc)) from None
    if raw is None:
        raise ValuesError("values file %s does not exist" % path)
    metadata = sops_metadata(raw)
    sops = None
    if metadata is not None:
        sops = _sops(params, runner, path)
        plaintext = _sops_call(lambda: sops.decrypt(path, "values file %s" % path), metadata)
        try:
            document = yaml.load(plaintext.decode("utf-8"), Loader=SAFE_LOADER)  # nosec B506 - a safe loader
        except (UnicodeDecodeError, yaml.YAMLError):
            raise ValuesError("values file %s does not decrypt to YAML" % path) from None
        if isinstance(document, dict):
            document.pop("sops", None)
        dumper = None
    else:
        try:
            document, dumper = load_round_trip(raw.decode("utf-8"), ValuesError)
        except UnicodeDecodeError:
            raise ValuesError("values file %s is not UTF-8 text" % path) from None
        except ValuesError as exc:
            raise ValuesError("values file %s %s" % (path, exc)) from None
        if document is None:
            document = type(dumper.load("{}"))()
    holder, value = _walk(document, keys, path, params.get("create_key", True))
    value = None if value is MISSING else value
    mapping_type = type(holder)

    if shape == "list":
        if value is not None and not isinstance(value, list):
            raise _wrong_type(path, keys, shape, "a list of {username, password} mappings", value)

        def new_entry(entry):
            out = mapping_type()
            out.update(entry)
            return out

        new_value, outcome, before, after = plan_list(value, params["users"], reserved, params["exclusive"],
                                                      policy, labels, where, new_entry)
    elif shape == "map":
        if value is not None and not isinstance(value, dict):
            raise _wrong_type(path, keys, shape, "a mapping of user names to hashes", value)
        new_value, outcome, before, after = plan_map(value, params["users"], reserved, params["exclusive"],
                                                     policy, labels, where, mapping_type)
    else:
        if value is not None and not isinstance(value, str):
            raise _wrong_type(path, keys, shape, "an htpasswd string", value)
        literal = str if dumper is None else LiteralScalarString
        new_value, outcome, before, after = plan_htpasswd(value, params["users"], reserved, params["exclusive"],
                                                          policy, labels, where, literal)

    if outcome.changed:
        if isinstance(value, list):
            value[:] = new_value  # the same sequence: its comments stay
        elif new_value is not value:
            holder[keys[-1]] = new_value
    targets = [keys] if outcome.changed else []
    moved = []
    if server:
        _probe_user_present(server, shape, new_value, where)
        try:
            moved, server_before, server_after = wire_server(document, server, "values file %s" % path, mapping_type,
                                                             params.get("create_key", True))
        except ServerError as exc:
            raise ValuesError(str(exc)) from None
        targets.extend(moved)
        before += "".join("server %s" % line for line in server_before)
        after += "".join("server %s" % line for line in server_after)
    changed = bool(targets)
    result = dict(changed=changed, path=path, key_path=list(keys), shape=shape,
                  encrypted=metadata is not None, hash_operations=policy.hash_operations,
                  verify_operations=policy.verify_operations, server_changed=bool(moved),
                  **outcome.as_result(labels))
    if getattr(module, "_diff", False):
        header = "%s: %s" % (path, key_path_text(keys))
        result["diff"] = dict(before=before, after=after, before_header=header, after_header=header)
    if not changed or module.check_mode:
        return result

    expected = _plain_copy(document)
    if sops is not None:
        _write_sops(sops, path, raw, targets, expected, metadata)
    else:
        _write_plain(path, dump_round_trip(document, dumper), expected)
    return result


def _probe_user_present(server: dict, shape: str, users, where: str) -> None:
    """The probes and the self-scrape authenticate as the probe user: it must be among the file's users after
    the change, or the pod would never become ready."""
    name = server["probe_username"]
    if shape == "list":
        names = {e.get("username") for e in users or [] if isinstance(e, dict)}
    elif shape == "map":
        names = set(users or {})
    else:
        names = set(parse_htpasswd(users or "", where))
    if name not in names:
        raise ValuesError("%s: the probe user %s is not one of the file's users, so the probes would get 401"
                          % (where, server.get("probe_username_label") or "given in server"))


def _sops(params, runner, path: str) -> Sops:
    if runner is None:
        raise ValuesError("values file %s is a sops file, and this caller cannot run sops" % path)
    if not params.get("identity"):
        raise ValuesError("values file %s is a sops file: give the operator identity that decrypts it in identity"
                          % path)
    try:
        return Sops(params["identity"], runner, params.get("sops_binary"), params.get("sops_config"),
                    subject="values file %s" % path)
    except SopsError as exc:
        raise ValuesError(str(exc)) from None


def _sops_call(call, metadata):
    try:
        return call()
    except SopsError as exc:
        message = str(exc)
        if "(exit 128)" in message:
            message += "; the file's recipients: %s" % (", ".join(recipients(metadata)) or "none")
        raise ValuesError(message) from None


def _sops_targets(path: str, targets, expected) -> list:
    """The key paths to ``sops set``: a list through the mapping that holds it, as sops sets no list as a whole and
    counts the comments of a list among its items (an item index would miss); a path inside another dropped."""
    resolved = []
    for keys in targets:
        if any('"' in key or "\\" in key for key in keys):
            raise ValuesError("values file %s: a key of %s holds '\"' or '\\', which sops cannot address"
                              % (path, key_path_text(keys)))
        value = expected
        for key in keys:
            value = value[key]
        if isinstance(value, list):
            if len(keys) < 2:
                raise ValuesError("values file %s: sops cannot write a list at the top level of a file" % path)
            keys = keys[:-1]
        if list(keys) not in resolved:
            resolved.append(list(keys))
    return [keys for keys in resolved
            if not any(other != keys and keys[:len(other)] == other for other in resolved)]


def _write_sops(sops: Sops, path: str, raw: bytes, targets, expected, metadata) -> None:
    """Only the changed key paths, by ``sops set`` (see _sops_targets)."""
    changes = []
    for target in _sops_targets(path, targets, expected):
        value = expected
        for key in target:
            value = value[key]
        changes.append((index_of(target), json.dumps(value).encode("utf-8")))

    def check(staged):
        plaintext = _sops_call(lambda: sops.decrypt(staged, "the new values file %s" % path), metadata)
        written = yaml.load(plaintext.decode("utf-8"), Loader=SAFE_LOADER)  # nosec B506 - a safe loader
        written.pop("sops", None)
        if _plain_copy(written) != expected:
            raise ValuesError("the new values file %s did not decrypt to what was meant, so it was not written" % path)

    try:
        _sops_call(lambda: sops.update(path, raw, changes, "the update of values file %s" % path, check=check,
                                       keep_mode=True), metadata)
    except (FileWriteError, OSError) as exc:
        raise ValuesError("cannot write values file %s: %s" % (path, exc)) from None


def _write_plain(path: str, text: str, expected) -> None:
    """Stage the new text beside the file, read it back, give it the old file's mode and rename it over."""
    try:
        written = yaml.load(text, Loader=SAFE_LOADER)  # nosec B506 - a safe loader
    except yaml.YAMLError:
        written = None
    if _plain_copy(written) != expected:
        raise ValuesError("the new values file %s would not read back as what was meant, so it was not written" % path)
    try:
        mode = os.stat(path).st_mode & 0o7777
        with staged_file(path, text.encode("utf-8")) as staged:
            os.chmod(staged, mode)
            os.replace(staged, path)
    except (FileWriteError, OSError) as exc:
        raise ValuesError("cannot write values file %s: %s" % (path, exc)) from None
