"""The credential store as a sops file, with the real sops binary (built from its Go module) and real age keys."""

from __future__ import annotations

import multiprocessing
import os
import subprocess

import pytest
import yaml

from ansible_collections.promaccess.core.plugins.module_utils._common.hashing import HashPolicy
from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import (
    AGE_STORE_WARNING,
    CredentialStore,
    CredentialStoreError,
    migrate,
)
from ansible_collections.promaccess.core.plugins.plugin_utils.sops_runner import run as sops_run

STORE = "credentials.sops.yaml"
#: A KMS key group entry as the sops of a teammate with AWS access writes it. The machines cannot reach a KMS,
#: so its ``enc`` is not a real wrapped data key: the stand-in for a key group this machine cannot use. sops
#: must carry it through every write untouched (it is never asked to decrypt with it: age comes first).
KMS_ENTRY = {
    "arn": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    "created_at": "2026-01-01T00:00:00Z",
    "enc": "AQICAHh" + "Q" * 180,
    "aws_profile": "",
}


class Operator:
    def __init__(self, path):
        subprocess.run(["age-keygen", "-o", str(path)], check=True, capture_output=True)
        self.key = str(path)
        self.public = subprocess.run(["age-keygen", "-y", str(path)], check=True, capture_output=True,
                                     text=True).stdout.strip()

    def store(self, path, sops_binary, **kwargs):
        ids = age.read_identities(self.key)
        return CredentialStore(str(path), ids, list(ids.public), policy=HashPolicy("bcrypt", 4),
                               sops_binary=sops_binary, sops_runner=sops_run, **kwargs)


@pytest.fixture
def team(tmp_path):
    """Operators a, b (both in .sops.yaml's rule for the store) and c (in none), in a repository folder."""
    repo = tmp_path / "repo"
    repo.mkdir()
    ops = {name: Operator(tmp_path / ("%s.txt" % name)) for name in "abc"}
    write_rules(repo, [ops["a"].public, ops["b"].public])
    return repo, ops


def write_rules(repo, publics, regex=r"credentials\.sops\.yaml$"):
    (repo / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [{"path_regex": regex, "age": ",".join(publics)}]}))


def sops(sops_binary, key, *args, stdin=None):
    env = dict(os.environ, SOPS_AGE_KEY_FILE=key, SOPS_DISABLE_VERSION_CHECK="1")
    return subprocess.run([sops_binary, *args], env=env, input=stdin, capture_output=True, check=False)


def plain(sops_binary, key, path):
    proc = sops(sops_binary, key, "decrypt", str(path))
    assert proc.returncode == 0, proc.stderr
    return yaml.safe_load(proc.stdout)


def metadata(path):
    return yaml.safe_load(path.read_text())["sops"]


def test_recipients_come_from_sops_yaml_and_no_write_drops_one(team, sops_binary):
    repo, ops = team
    path = repo / STORE
    b = ops["b"].store(path, sops_binary)
    minted = b.get("team-a")
    assert b.last_action == "minted" and b.format == "sops"
    recipients = sorted(e["recipient"] for e in metadata(path)["age"])
    assert recipients == sorted([ops["a"].public, ops["b"].public])
    # b rotates and revokes: every write is b's alone, and a still reads each version with the real sops CLI
    for step in ("started", "added", "handed_off", "revoking", "finished"):
        b.rotation_step("team-a", step)
        assert sorted(e["recipient"] for e in metadata(path)["age"]) == recipients
        assert plain(sops_binary, ops["a"].key, path)["grants"]["team-a"]["username"]
    b.get("team-b")
    b.revoke("team-b")
    a = ops["a"].store(path, sops_binary)
    grants = a.read()["grants"]
    assert grants["team-a"]["rotated_at"] and grants["team-a"]["username"] != minted["username"]
    assert grants["team-b"]["revoked_at"]
    assert a.recipients_of_file() == ["age:" + r for r in [e["recipient"] for e in metadata(path)["age"]]]


def test_extra_recipients_are_refused_and_nothing_is_written(team, sops_binary):
    repo, ops = team
    path = repo / STORE
    ops["a"].store(path, sops_binary).get("team-a")
    before = path.read_bytes()
    with pytest.raises(CredentialStoreError, match="recipients are kept in the file"):
        ops["a"].store(path, sops_binary, recipients_given=True).get("team-b")
    assert path.read_bytes() == before


def test_key_groups_this_machine_cannot_use_are_carried_through(team, sops_binary):
    repo, ops = team
    path = repo / STORE
    ops["a"].store(path, sops_binary).get("team-a")
    document = yaml.safe_load(path.read_text())
    document["sops"]["kms"] = [KMS_ENTRY]
    document["sops"]["pgp"] = [{"fp": "85D77543B3D624B63CEA9E6DBC17301B491B3F21", "created_at": "2026-01-01T00:00:00Z",
                                "enc": "-----BEGIN PGP MESSAGE-----\n\nwcBMA\n-----END PGP MESSAGE-----\n"}]
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    b = ops["b"].store(path, sops_binary)
    b.get("team-b")
    b.rotation_step("team-a", "started")
    after = metadata(path)
    assert after["kms"] == [KMS_ENTRY]
    assert after["pgp"][0]["fp"] == "85D77543B3D624B63CEA9E6DBC17301B491B3F21"
    assert len(after["age"]) == 2
    assert set(plain(sops_binary, ops["a"].key, path)["grants"]) == {"team-a", "team-b"}
    assert "kms:" + KMS_ENTRY["arn"] in b.recipients_of_file()


def test_git_friendly_unchanged_grants_keep_their_ciphertext_and_a_no_op_writes_nothing(team, sops_binary):
    repo, ops = team
    path = repo / STORE
    a = ops["a"].store(path, sops_binary)
    a.get_many(["team-a", "team-b"])
    first = path.read_text()
    first_plain = plain(sops_binary, ops["a"].key, path)
    stat = path.stat()
    # a run that changes nothing writes nothing
    again = ops["b"].store(path, sops_binary)
    again.get_many(["team-a", "team-b"])
    assert again.writes == 0 and path.read_text() == first and path.stat().st_mtime_ns == stat.st_mtime_ns
    # b mints team-c: team-a's and team-b's lines are byte for byte those of the first version
    again.get("team-c")
    second = path.read_text()
    second_plain = plain(sops_binary, ops["a"].key, path)
    changed = [line for line in second.splitlines() if line not in first.splitlines()]
    assert all("team-a" not in line and "team-b" not in line for line in changed)
    assert first.split("\nsops:")[0] in second.split("\nsops:")[0]
    assert {k: v for k, v in second_plain["grants"].items() if k != "team-c"} == first_plain["grants"]
    assert list(second_plain["grants"]) == ["team-a", "team-b", "team-c"]  # stable order: appended, not resorted


def test_sops_updatekeys_is_how_an_operator_is_added(team, sops_binary):
    repo, ops = team
    path = repo / STORE
    ops["a"].store(path, sops_binary).get("team-a")
    with pytest.raises(CredentialStoreError, match="none of the file's recipients"):
        ops["c"].store(path, sops_binary).read()
    write_rules(repo, [ops["a"].public, ops["b"].public, ops["c"].public])
    proc = subprocess.run([sops_binary, "updatekeys", "--yes", str(path)], cwd=repo, capture_output=True, check=False,
                          env=dict(os.environ, SOPS_AGE_KEY_FILE=ops["a"].key, SOPS_DISABLE_VERSION_CHECK="1"))
    assert proc.returncode == 0, proc.stderr
    c = ops["c"].store(path, sops_binary)
    assert c.read()["grants"]["team-a"]["password"]
    c.get("team-b")  # c's write keeps all three
    assert len(metadata(path)["age"]) == 3


@pytest.mark.parametrize("fault", ["stranger", "bad_mac", "no_sops", "identity_gone"])
def test_bad_input_fails_clearly_and_leaves_the_store_byte_identical(team, sops_binary, fault, tmp_path):
    repo, ops = team
    path = repo / STORE
    record = ops["a"].store(path, sops_binary).get("team-a")
    operator, binary, match = ops["a"], sops_binary, None
    if fault == "stranger":
        operator, match = ops["c"], r"exit 128\): the operator identity is none of the file's recipients.*age:age1"
    elif fault == "bad_mac":
        document = yaml.safe_load(path.read_text())
        username = document["grants"]["team-a"]["username"]
        data = username.split("data:")[1].split(",")[0]
        document["grants"]["team-a"]["username"] = username.replace(data, data[::-1])
        path.write_text(yaml.safe_dump(document, sort_keys=False))
        match = "corrupted"
    elif fault == "no_sops":
        binary, match = str(tmp_path / "no-such-sops"), "sops binary .* does not exist"
    before = path.read_bytes()
    store = operator.store(path, binary)
    if fault == "identity_gone":
        gone = tmp_path / "gone.txt"
        os.rename(operator.key, gone)  # read by read_identities, then gone before sops runs
        match = "cannot read the operator identity"
    with pytest.raises(CredentialStoreError, match=match) as failure:
        store.get("team-b")
    assert path.read_bytes() == before
    assert not [p for p in repo.iterdir() if p.name.startswith(".%s." % STORE)]  # no staged file left behind
    assert record["username"] not in str(failure.value) and record["password"] not in str(failure.value)


def test_no_sops_on_path_is_named(team, monkeypatch):
    repo, ops = team
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CredentialStoreError, match="no 'sops' binary is on PATH"):
        ops["a"].store(repo / STORE, None).get("team-a")
    assert not (repo / STORE).exists()


def test_new_store_needs_a_matching_rule_that_includes_the_operator(team, sops_binary):
    repo, ops = team
    write_rules(repo, [ops["a"].public], regex=r"other\.sops\.yaml$")
    with pytest.raises(CredentialStoreError, match="no creation rule of .sops.yaml matches"):
        ops["a"].store(repo / STORE, sops_binary).get("team-a")
    write_rules(repo, [ops["a"].public])
    with pytest.raises(CredentialStoreError, match="would not be readable with identity .*c.txt"):
        ops["c"].store(repo / STORE, sops_binary).get("team-a")
    assert sorted(p.name for p in repo.iterdir()) == [".sops.yaml", STORE + ".lock"]  # no store, no staged file
    # an explicit .sops.yaml elsewhere
    elsewhere = repo / "config"
    elsewhere.mkdir()
    write_rules(elsewhere, [ops["c"].public], regex=r".*")
    store = ops["c"].store(repo / STORE, sops_binary, sops_config=str(elsewhere / ".sops.yaml"))
    assert store.get("team-a")["password"]


def _worker(args):
    """One run in its own process: get (or mint) a grant; with ``with_run``, under a run id, reading first."""
    path, key, binary, grant, with_run = args
    ids = age.read_identities(key)
    store = CredentialStore(path, ids, [], policy=HashPolicy("bcrypt", 4), sops_binary=binary, sops_runner=sops_run,
                            run="run-%s-%d" % (grant, os.getpid()) if with_run else None)
    if with_run:
        store.read()
    return store.get(grant)["password"]


def test_concurrent_runs_lose_no_update(team, sops_binary):
    repo, ops = team
    path = str(repo / STORE)
    grants = ["grant-%d" % i for i in range(8)]
    work = [(path, ops["a" if i % 2 else "b"].key, sops_binary, g, False) for i, g in enumerate(grants)]
    with multiprocessing.get_context("fork").Pool(4) as pool:
        passwords = pool.map(_worker, work * 2)
    stored = plain(sops_binary, ops["a"].key, path)["grants"]
    assert sorted(stored) == grants
    assert passwords[: len(grants)] == passwords[len(grants):]
    assert [stored[g]["password"] for g in grants] == passwords[: len(grants)]


def test_migration_copies_every_grant_once_and_never_overwrites(team, sops_binary):
    repo, ops = team
    old = ops["a"].store(repo / "credentials.yml.age", sops_binary)
    old.get_many(["internal", "team-a", "team-b"])
    old.rotation_step("team-a", "started")
    old.revoke("team-b")
    assert old.warnings == [AGE_STORE_WARNING]
    before = (repo / "credentials.yml.age").read_bytes()
    new = ops["a"].store(repo / STORE, sops_binary)
    assert migrate(old, new) == ["internal", "team-a", "team-b"]
    assert (repo / "credentials.yml.age").read_bytes() == before  # left in place
    assert plain(sops_binary, ops["b"].key, repo / STORE) == old.read()  # b, in .sops.yaml, reads it all
    assert new.warnings == []
    stored = (repo / STORE).read_bytes()
    with pytest.raises(CredentialStoreError, match="already exists; the migration never overwrites"):
        migrate(old, ops["a"].store(repo / STORE, sops_binary))
    with pytest.raises(CredentialStoreError, match="must be named \\*.sops.yaml"):
        migrate(old, ops["a"].store(repo / "elsewhere.yaml", sops_binary))
    with pytest.raises(CredentialStoreError, match="no credential store .* to migrate"):
        migrate(ops["a"].store(repo / "missing.yml.age", sops_binary), ops["a"].store(repo / "x.sops.yaml", sops_binary))
    (repo / "copy.sops.yaml").write_bytes(stored)
    with pytest.raises(CredentialStoreError, match="already a sops file"):
        migrate(ops["a"].store(repo / "copy.sops.yaml", sops_binary), ops["a"].store(repo / "y.sops.yaml", sops_binary))
    assert (repo / STORE).read_bytes() == stored and not (repo / "x.sops.yaml").exists()
    assert not (repo / "y.sops.yaml").exists() and not (repo / "elsewhere.yaml").exists()


def test_a_store_changed_underneath_a_run_is_refused_never_overwritten(team, sops_binary):
    """Run x reads the store; another operator's commit is pulled (a version b wrote elsewhere); x stops."""
    repo, ops = team
    path = repo / STORE
    x = ops["a"].store(path, sops_binary, run="x")
    x.get_many(["team-a", "team-b"])
    # b's commit: the same store, changed through promaccess on b's clone, then pulled here
    clone = repo / "clone"
    clone.mkdir()
    (clone / STORE).write_bytes(path.read_bytes())
    ops["b"].store(clone / STORE, sops_binary).get("team-c")
    pulled = (clone / STORE).read_bytes()
    path.write_bytes(pulled)
    for attempt in (lambda: x.rotation_step("team-a", "started"), lambda: x.get("team-d"), x.read):
        with pytest.raises(CredentialStoreError, match="changed since this run last read or wrote it, and not "
                                                       "through promaccess"):
            attempt()
        assert path.read_bytes() == pulled
    # a new run starts from the store as it is now; x stays refused after it wrote
    y = ops["b"].store(path, sops_binary, run="y")
    y.get_many(["team-a", "team-c"])
    assert set(y.read()["grants"]) == {"team-a", "team-b", "team-c"}
    y.rotation_step("team-a", "started")
    with pytest.raises(CredentialStoreError, match="changed since this run"):
        x.read()
    # runs on this machine change it only through promaccess: y and z never refuse each other
    z = ops["a"].store(path, sops_binary, run="z")
    z.get("team-d")
    y.rotation_step("team-a", "added")
    z.rotation_step("team-d", "started")
    assert y.read()["grants"]["team-d"]["rotation"]["phase"] == "minted"


def test_concurrent_runs_with_run_ids_never_refuse_each_other(team, sops_binary):
    repo, ops = team
    path = str(repo / STORE)
    grants = ["grant-%d" % i for i in range(10)]
    work = [(path, ops["a" if i % 2 else "b"].key, sops_binary, g, True) for i, g in enumerate(grants)]
    with multiprocessing.get_context("fork").Pool(5) as pool:
        passwords = pool.map(_worker, work)
    stored = plain(sops_binary, ops["a"].key, path)["grants"]
    assert [stored[g]["password"] for g in grants] == passwords
