"""Unit tests for the pyrage wrapper."""

from __future__ import annotations

import subprocess

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._store import age
from ansible_collections.promaccess.core.plugins.module_utils._store.age import AgeError

pyrage = pytest.importorskip("pyrage")


@pytest.fixture
def identity(tmp_path):
    key = tmp_path / "key.txt"
    subprocess.run(["age-keygen", "-o", str(key)], check=True, capture_output=True)
    return key


@pytest.fixture
def ssh_key(tmp_path):
    key = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "me@host", "-f", str(key)], check=True)
    return key


def test_x25519_and_ssh_recipients_roundtrip(identity, ssh_key):
    ids = age.read_identities(str(identity))
    pub = ids.public[0].canonical
    ssh_pub = ssh_key.with_suffix(".pub").read_text()
    recipients = age.load_recipients([pub, ssh_pub, pub])
    assert [r.canonical for r in recipients] == [pub, " ".join(ssh_pub.split()[:2])]  # de-duplicated, no comment
    for armor in (False, True):
        data = age.encrypt(b"secret", recipients, armor)
        assert data.startswith(b"-----BEGIN AGE" if armor else b"age-encryption.org/v1")
        assert age.decrypt(data, ids, "x") == b"secret"
        ssh_ids = age.read_identities(str(ssh_key))
        assert age.decrypt(data, ssh_ids, "x") == b"secret"


@pytest.mark.parametrize(
    "value, expected",
    [
        ("age1notakey", "'age1notakey' is not a valid age recipient"),
        ("ssh-ed25519", "has no key data"),
        ("ssh-ed25519 AAAAnot", "is not a valid SSH public key"),
        ("ssh-dss AAAAB3", "is not a recipient age understands"),
        ("", "is empty"),
    ],
)
def test_bad_recipient_is_named(value, expected):
    with pytest.raises(AgeError, match="recipients\\[0\\]") as err:
        age.load_recipients([value])
    assert expected in str(err.value)


def test_secret_key_given_as_recipient_is_not_echoed(identity):
    secret = [line for line in identity.read_text().splitlines() if line.startswith("AGE-SECRET-KEY-")][0]
    with pytest.raises(AgeError) as err:
        age.load_recipients([secret])
    assert "looks like a private key" in str(err.value)
    assert secret not in str(err.value)


def test_empty_recipients_refused():
    with pytest.raises(AgeError, match="no recipients"):
        age.load_recipients([], [])


def test_recipients_file(tmp_path, identity):
    pub = age.read_identities(str(identity)).public[0].canonical
    rfile = tmp_path / "recipients.txt"
    rfile.write_text("# operators\n\n%s\n" % pub)
    assert [r.canonical for r in age.load_recipients([], [str(rfile)])] == [pub]
    rfile.write_text("# nobody\n")
    with pytest.raises(AgeError, match="holds no recipient"):
        age.load_recipients([], [str(rfile)])
    rfile.write_text("%s\nage1broken\n" % pub)
    with pytest.raises(AgeError, match="recipients.txt line 2 'age1broken'"):
        age.load_recipients([], [str(rfile)])
    with pytest.raises(AgeError, match="cannot read recipients file .*missing"):
        age.load_recipients([], [str(tmp_path / "missing")])


def test_identity_errors_name_the_file_not_the_content(tmp_path):
    with pytest.raises(AgeError, match="cannot read identity file .*nope.txt"):
        age.read_identities(str(tmp_path / "nope.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("# created\n" + age.SECRET_KEY_PREFIX + "NOTVALIDATALL\n")
    with pytest.raises(AgeError) as err:
        age.read_identities(str(bad))
    assert "line 2" in str(err.value) and "NOTVALID" not in str(err.value)
    bad.write_text("# only comments\n")
    with pytest.raises(AgeError, match="holds no age secret key"):
        age.read_identities(str(bad))


def test_wrong_identity_fails_cleanly(tmp_path, identity):
    other = tmp_path / "other.txt"
    subprocess.run(["age-keygen", "-o", str(other)], check=True, capture_output=True)
    data = age.encrypt(b"secret", age.read_identities(str(identity)).public)
    with pytest.raises(AgeError, match="cannot decrypt the file with identity .*other.txt"):
        age.decrypt(data, age.read_identities(str(other)), "the file")
