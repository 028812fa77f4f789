"""The operator's side of the delivery-``values`` tests: a checkout of an infrastructure repository with a
``.sops.yaml`` for the operator's age key, the grantee's key, the chart's first install from the decrypted values
(the tests' own set-up: the collection never writes a decrypted file), and the playbooks run from the checkout
with an inventory of one cluster, ``example``.

Real parts only: ``age-keygen``, ``sops``, ``helm`` and ``ansible-playbook``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from _credentials import age_decrypt

from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.credstore import CredentialStore

BIN = Path(sys.executable).parent
CLUSTER = "example"


class Checkout:
    """``tmp/infrastructure`` (``repo``), with ``config/clusters/example`` (``cluster_dir``) and a ``.sops.yaml``
    that encrypts ``enc-*.secret.values.yaml`` to the operator's key; ``team_a_key`` is the grantee's."""

    def __init__(self, tmp: Path, sops_binary: str, helm: str):
        self.tmp, self.sops_binary, self.helm = tmp, sops_binary, helm
        for who in ("operator", "team-a"):
            subprocess.run(["age-keygen", "-o", str(tmp / ("%s-key.txt" % who))], capture_output=True, check=True)
        self.operator_key, self.team_a_key = tmp / "operator-key.txt", tmp / "team-a-key.txt"
        self.operator_public, self.recipient = (
            subprocess.run(["age-keygen", "-y", str(k)], capture_output=True, text=True, check=True).stdout.strip()
            for k in (self.operator_key, self.team_a_key))
        self.repo = tmp / "infrastructure"
        self.cluster_dir = self.repo / "config" / "clusters" / CLUSTER
        self.cluster_dir.mkdir(parents=True)
        (self.repo / ".sops.yaml").write_text(yaml.safe_dump({"creation_rules": [
            {"path_regex": r".*/enc-[^/]*\.secret\.values\.yaml$", "age": self.operator_public}]}))
        self.kubeconfig = None
        self.namespace = None

    def sops(self, *args) -> str:
        env = dict(os.environ, SOPS_AGE_KEY_FILE=str(self.operator_key), SOPS_DISABLE_VERSION_CHECK="1")
        proc = subprocess.run([self.sops_binary, *args], env=env, capture_output=True, text=True, cwd=self.repo,
                              check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    def secret_values(self, name: str, document: dict) -> Path:
        """``cluster_dir/name`` holding ``document``, encrypted in place by sops."""
        path = self.cluster_dir / name
        path.write_text(yaml.safe_dump(document))
        self.sops("encrypt", "-i", str(path))
        return path

    def decrypted(self, path: Path) -> dict:
        return yaml.safe_load(self.sops("decrypt", str(path)))

    def connect(self, k8s, namespace: str) -> str:
        self.kubeconfig = k8s.write_kubeconfig(self.tmp / "kubeconfig", context=CLUSTER)
        self.namespace = namespace
        return self.kubeconfig

    def first_install(self, release: str, chart: Path, plain_values: Path, secret_values: Path) -> None:
        """The cluster as it runs before the collection: the chart installed by hand from the decrypted values."""
        decrypted = self.tmp / "first-install-values.yaml"
        decrypted.write_text(self.sops("decrypt", str(secret_values)))
        install = subprocess.run(
            [self.helm, "upgrade", "--install", release, str(chart), "--namespace", self.namespace,
             "--kubeconfig", self.kubeconfig, "--kube-context", CLUSTER, "-f", str(plain_values), "-f", str(decrypted)],
            capture_output=True, text=True, check=False)
        decrypted.unlink()
        assert install.returncode == 0, install.stderr

    def revision(self, release: str) -> int:
        out = subprocess.run([self.helm, "history", release, "-n", self.namespace, "--kubeconfig", self.kubeconfig,
                              "--kube-context", CLUSTER, "-o", "json"], capture_output=True, text=True, check=True).stdout
        return max(r["revision"] for r in json.loads(out))

    def write_inventory(self, cluster_vars: dict) -> None:
        """One cluster, ``example``, reached with the session's kubeconfig; grant team-a for the grantee's key."""
        inventory = {"all": {
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "promaccess_credential_store": str(self.tmp / "credentials.yml.age"),
                "promaccess_age_identity": str(self.operator_key),
                "promaccess_handoff_dir": str(self.tmp / "handoff"),
                "promaccess_grants": [{"name": "team-a", "contact": "Team A", "recipients": [self.recipient]}],
            },
            "children": {"k8s_clusters": {"hosts": {CLUSTER: dict({
                "ansible_connection": "local",
                "promaccess_k8s_kubeconfig": self.kubeconfig,
                "promaccess_k8s_context": CLUSTER,
                "promaccess_k8s_namespace": self.namespace,
                "promaccess_k8s_delivery": "values",
                "promaccess_k8s_helm_binary": self.helm,
            }, **cluster_vars)}}},
        }}
        (self.tmp / "inventory.yml").write_text(yaml.safe_dump(inventory))

    def play(self, name: str, *extra, ok: bool = True) -> subprocess.CompletedProcess:
        """``ansible-playbook promaccess.core.<name>``, run from the checkout (relative paths are its own)."""
        env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
                   ANSIBLE_LOCAL_TEMP=str(self.tmp / "ansible-local"))
        proc = subprocess.run(
            [str(BIN / "ansible-playbook"), "-i", str(self.tmp / "inventory.yml"), "promaccess.core." + name, *extra],
            env=env, capture_output=True, text=True, timeout=900, check=False, cwd=str(self.repo))
        assert (proc.returncode == 0) is ok, proc.stdout[-8000:] + proc.stderr[-3000:]
        return proc

    def internal(self) -> dict:
        """The store's record of the cluster's internal credential."""
        ids = age.read_identities(str(self.operator_key))
        grants = CredentialStore(str(self.tmp / "credentials.yml.age"), ids, list(ids.public)).read()["grants"]
        return grants["internal." + CLUSTER]

    def handed_off(self) -> dict:
        """team-a's credential, as the grantee decrypts its credentials.txt.age."""
        return age_decrypt(self.team_a_key, self.tmp / "handoff" / "team-a" / "credentials.txt.age")
