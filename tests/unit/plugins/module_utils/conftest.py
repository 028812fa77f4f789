"""Shared fixtures of the module_utils tests: ``k8s``, a session on the REAL Kubernetes API server of
tests/controlplane (started on first use; see docs/testing.md).

``k8s`` empties and serves the namespaces a test module lists in ``K8S_NAMESPACES`` (default ``monitoring``).
"""

from __future__ import annotations

import pytest

from controlplane.session import ClusterSession


@pytest.fixture
def k8s(request):
    with ClusterSession(namespaces=list(getattr(request.module, "K8S_NAMESPACES", ["monitoring"]))) as session:
        yield session


@pytest.fixture
def client_requests(monkeypatch):
    """What the kubernetes client sends, headers included (the audit log has no Content-Type): a spy on
    ``RESTClientObject.request`` that records (method, url, headers) and passes every call through unchanged."""
    from kubernetes.client import rest

    seen = []
    original = rest.RESTClientObject.request

    def spy(self, method, url, *args, **kwargs):
        seen.append({"method": method, "url": url, "headers": dict(kwargs.get("headers") or {})})
        return original(self, method, url, *args, **kwargs)

    monkeypatch.setattr(rest.RESTClientObject, "request", spy)
    return seen
