"""The k8s_token_secret backend: pure helpers, and against the real kube-apiserver of tests/controlplane."""

from __future__ import annotations

import base64
import secrets

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._k8s.tokens import (
    TokenSecretBackend,
    TokenSecretError,
    parse,
    reconcile,
    render,
)


NS = "apps"
K8S_NAMESPACES = [NS]


class FakeModule:
    def __init__(self, params, check_mode=False, diff=False):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff


def token():
    return secrets.token_hex(32)


@pytest.fixture
def base(k8s, tmp_path):
    return dict(
        kubeconfig=k8s.write_kubeconfig(tmp_path / "kubeconfig"),
        context=None, host=None, api_key=None, validate_certs=None, ca_cert=None,
        namespace=NS, name="accepted", key="tokens", format="lines", tokens=[], exclusive=False, labels={},
    )


def run(params, **kw):
    return TokenSecretBackend(FakeModule(params, **kw)).run()


def stored(k8s, key="tokens"):
    obj = k8s.get_object("secrets", NS, "accepted")
    return None if obj is None else base64.b64decode(obj["data"][key]).decode()


# -- pure helpers ----------------------------------------------------------------------------------------------
def test_lines_keep_comments_and_order_and_append_new():
    old, new = token(), token()
    existing = parse("# accepted scrape tokens\n%s\n\n" % old, "lines")
    out = reconcile(existing, [{"token": new, "name": "prom"}, {"token": old, "name": "prom-old"}], "lines", False)
    assert render(out["entries"]) == "# accepted scrape tokens\n%s\n\n%s\n" % (old, new)
    assert out["added"] == ["prom"] and out["removed"] == []


def test_absent_removes_by_value_and_exclusive_removes_unlisted():
    a, b, c = token(), token(), token()
    existing = parse("%s\n%s\n%s\n" % (a, b, c), "lines")
    out = reconcile(existing, [{"token": b, "state": "absent", "name": "old"}], "lines", False)
    assert render(out["entries"]) == "%s\n%s\n" % (a, c) and out["removed"] == ["old"]
    out = reconcile(existing, [{"token": c, "name": "keep"}], "lines", True)
    assert render(out["entries"]) == "%s\n" % c and len(out["removed"]) == 2


def test_static_csv_writes_token_user_uid_and_reads_groups():
    old, new = token(), token()
    existing = parse('%s,prometheus,prometheus,"system:monitoring"\n' % old, "static_csv")
    assert existing[0]["name"] == "prometheus"
    out = reconcile(existing, [{"token": new, "name": "prometheus"}], "static_csv", False)
    assert render(out["entries"]).splitlines()[1] == "%s,prometheus,prometheus" % new


def test_a_duplicate_line_is_dropped():
    a = token()
    out = reconcile(parse("%s\n%s\n" % (a, a), "lines"), [{"token": a}], "lines", False)
    assert render(out["entries"]) == "%s\n" % a


@pytest.mark.parametrize("bad", ["", "has space", "a,b", 'q"', "new\nline", "é"])
def test_bad_tokens_are_refused_without_echoing_them(bad):
    with pytest.raises(TokenSecretError) as info:
        reconcile([], [{"token": bad}], "lines", False)
    assert (bad not in str(info.value)) or bad == ""


def test_a_token_both_present_and_absent_is_refused():
    a = token()
    with pytest.raises(TokenSecretError, match="both present and absent"):
        reconcile([], [{"token": a, "name": "x"}, {"token": a, "state": "absent"}], "lines", False)


def test_a_malformed_csv_line_is_refused():
    with pytest.raises(TokenSecretError, match="line 1"):
        parse("justatoken\n", "static_csv")


# -- against the real API server --------------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["lines", "static_csv"])
def test_create_then_idempotent_then_rotate(k8s, base, fmt):
    old, new = token(), token()
    params = dict(base, format=fmt, tokens=[{"token": old, "name": "prometheus", "state": "present"}],
                  labels={"app": "exporter"})
    first = run(params)
    assert first["changed"] and first["tokens"] == 1 and first["added"] == ["prometheus"]
    obj = k8s.get_object("secrets", NS, "accepted")
    assert obj["type"] == "Opaque" and obj["metadata"]["labels"] == {"app": "exporter"}
    writes = len(k8s.writes())
    again = run(params)
    assert not again["changed"] and len(k8s.writes()) == writes

    both = dict(params, tokens=params["tokens"] + [{"token": new, "name": "prometheus", "state": "present"}])
    assert run(both)["tokens"] == 2
    assert [line.split(",")[0] for line in stored(k8s).splitlines()] == [old, new]
    done = dict(params, tokens=[{"token": new, "name": "prometheus", "state": "present"},
                                {"token": old, "name": "prometheus", "state": "absent"}])
    result = run(done)
    assert result["changed"] and result["removed"] == ["prometheus"] and result["tokens"] == 1
    assert old not in stored(k8s) and new in stored(k8s)


def test_check_mode_and_diff_write_nothing_and_show_no_token(k8s, base):
    a = token()
    result = run(dict(base, tokens=[{"token": a, "name": "prometheus", "state": "present"}]),
                 check_mode=True, diff=True)
    assert result["changed"] and k8s.get_object("secrets", NS, "accepted") is None
    assert a not in repr(result) and "token 1: prometheus" in result["diff"]["after"]


def test_other_keys_are_kept_and_nothing_to_accept_creates_nothing(k8s, base):
    assert not run(dict(base, tokens=[{"token": token(), "name": "x", "state": "absent"}]))["changed"]
    assert k8s.get_object("secrets", NS, "accepted") is None
    k8s.put_object("secrets", NS, {"metadata": {"name": "accepted"}, "type": "Opaque",
                                   "data": {"config.yml": base64.b64encode(b"a: 1\n").decode()}})
    a = token()
    run(dict(base, tokens=[{"token": a, "name": "p", "state": "present"}]))
    obj = k8s.get_object("secrets", NS, "accepted")
    assert base64.b64decode(obj["data"]["config.yml"]) == b"a: 1\n" and stored(k8s) == a + "\n"
