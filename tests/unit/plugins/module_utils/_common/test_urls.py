"""Unit tests for the one external-URL and route-prefix check (hosts, clusters, nginx)."""

from __future__ import annotations

import pytest

from ansible_collections.promaccess.core.plugins.module_utils._common.urls import (
    UrlError,
    check_http_url,
    check_prefix_consistency,
    check_route_prefix,
    external_path,
    normalize_prefix,
)


@pytest.mark.parametrize("prefix, normalized", [(None, "/"), ("", "/"), ("/", "/"), ("prometheus/", "/prometheus"),
                                                ("/a/b/", "/a/b")])
def test_normalize_prefix(prefix, normalized):
    assert normalize_prefix(prefix) == normalized


@pytest.mark.parametrize(
    "url, message",
    [
        ("metrics.example.org", "external_url must be an absolute http:// or https:// URL, got 'metrics.example.org'"),
        ("ftp://h/", "must be an absolute http"),
        ("http://h/?a=1", "external_url must not have a query or fragment"),
        ("http://h/#top", "must not have a query or fragment"),
    ],
)
def test_bad_urls(url, message):
    with pytest.raises(UrlError, match=message):
        check_http_url(url, "external_url")


def test_caller_chooses_the_exception_and_the_name():
    class Mine(Exception):
        pass

    with pytest.raises(Mine, match=r"^route_prefix must start with /, got 'x'$"):
        check_route_prefix("x", "route_prefix", Mine)
    assert external_path("https://h:8443/prometheus/") == "/prometheus"
    with pytest.raises(UrlError, match=r"^--web.external-url must be"):
        external_path("h:8443")


@pytest.mark.parametrize(
    "external_url, route_prefix, location, strip, ok",
    [
        # no proxy: route prefix must follow the external URL's path
        ("http://h:9090/", None, None, True, True),
        ("http://h:9090/prometheus/", None, None, True, True),
        ("http://h:9090/prometheus", "/prometheus/", None, True, True),
        ("http://h:9090/prometheus/", "/", None, True, False),
        (None, "/x", None, True, False),
        # the guide's shape: strip /prometheus/, route prefix /
        ("http://h:8080/prometheus/", "/", "/prometheus/", True, True),
        ("http://h:8080/prometheus", "/", "/prometheus/", True, True),
        ("http://h:8080/prometheus/", None, "/prometheus/", True, False),
        ("http://h:8080/other/", "/", "/prometheus/", True, False),
        ("http://h:8080/", "/", "/prometheus/", True, False),
        # pass-through shape: route prefix equals the location
        ("http://h:8080/prometheus/", None, "/prometheus/", False, True),
        ("http://h:8080/prometheus/", "/prometheus", "/prometheus/", False, True),
        ("http://h:8080/prometheus/", "/", "/prometheus/", False, False),
        # a proxy at / is the same in both shapes
        ("http://h:8080/", None, "/", True, True),
        ("http://h:8080/", None, "/", False, True),
        # not a URL
        ("h:8080/prometheus", "/", "/prometheus/", True, False),
    ],
)
def test_prefix_consistency(external_url, route_prefix, location, strip, ok):
    problems = check_prefix_consistency(external_url, route_prefix, location, strip)
    assert (problems == []) is ok, problems
