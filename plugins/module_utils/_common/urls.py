# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one check of Prometheus's external URL and route prefix, on hosts and in clusters. Private to promaccess.core.

``prometheus_flags`` and ``k8s_prometheus_url``/the workload backend check the values they set with
``check_http_url`` and ``check_route_prefix``; ``check_prefix_consistency`` answers whether an external URL, a
route prefix and an nginx location shape fit together (``prometheus_flags`` and ``nginx_auth`` use it).
"""

from __future__ import annotations

from urllib.parse import urlsplit

EXTERNAL_URL_FLAG = "web.external-url"
ROUTE_PREFIX_FLAG = "web.route-prefix"


class UrlError(ValueError):
    """A URL or prefix Prometheus cannot use; callers pass their own exception class as ``error``."""


def normalize_prefix(prefix: str | None) -> str:
    """A path prefix the way Prometheus normalizes ``--web.route-prefix``: ``/`` + trimmed of slashes."""
    return "/" + (prefix or "").strip("/")


def check_http_url(url: str, what: str, error=UrlError):
    """The parts of ``url`` (``urlsplit``) when it is an absolute http(s) URL without query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise error("%s must be an absolute http:// or https:// URL, got %r" % (what, url))
    if parts.query or parts.fragment:
        raise error("%s must not have a query or fragment, got %r" % (what, url))
    return parts


def external_path(external_url: str, what: str = "--" + EXTERNAL_URL_FLAG, error=UrlError) -> str:
    """The path of an external URL, normalized like a route prefix (Prometheus trims the trailing slash)."""
    return normalize_prefix(check_http_url(external_url, what, error).path)


def check_route_prefix(prefix: str, what: str = "--" + ROUTE_PREFIX_FLAG, error=UrlError) -> None:
    if not prefix.startswith("/"):
        raise error("%s must start with /, got %r" % (what, prefix))


def check_prefix_consistency(
    external_url: str | None,
    route_prefix: str | None = None,
    location: str | None = None,
    strip_prefix: bool = True,
) -> list[str]:
    """Return the reasons the combination cannot work; an empty list means it works.

    ``external_url`` and ``route_prefix`` are Prometheus's flags (None when not set: the route prefix then
    defaults to the external URL's path, and the external URL to ``/``). ``location`` is the nginx location
    prefix in front of Prometheus, None when clients talk to Prometheus directly. Two nginx shapes exist:

    * ``strip_prefix=true``: ``location /prometheus/ { proxy_pass http://127.0.0.1:9090/; }``. nginx replaces
      the location by ``/``, so Prometheus needs ``--web.external-url=http://HOST/prometheus/`` and
      ``--web.route-prefix=/``.
    * ``strip_prefix=false``: ``location /prometheus/ { proxy_pass http://127.0.0.1:9090; }``. nginx passes the
      URI unchanged, so the route prefix must be ``/prometheus`` (the default when the external URL's path is
      ``/prometheus``).
    """
    problems: list[str] = []
    try:
        ext = external_path(external_url) if external_url else "/"
    except UrlError as exc:
        return [str(exc)]
    route = normalize_prefix(route_prefix) if route_prefix is not None else ext
    if location is None:
        if route != ext:
            problems.append(
                "the path of --%s (%s) differs from --%s (%s): Prometheus would build links under %s but "
                "serve under %s; that only works behind a proxy that strips %s (name its location)"
                % (EXTERNAL_URL_FLAG, ext, ROUTE_PREFIX_FLAG, route, ext, route, ext)
            )
        return problems
    loc = normalize_prefix(location)
    if ext != loc:
        problems.append(
            "the path of --%s (%s) does not match the nginx location %s: the links Prometheus builds would "
            "point outside the proxied location" % (EXTERNAL_URL_FLAG, ext, location)
        )
    expected_route = "/" if strip_prefix else loc
    if route != expected_route:
        if strip_prefix:
            problems.append(
                "nginx strips %s (proxy_pass with a trailing /), so Prometheus receives /graph, not %s/graph: "
                "--%s must be / (it is %s)" % (location, loc.rstrip("/"), ROUTE_PREFIX_FLAG, route)
            )
        else:
            problems.append(
                "nginx passes the URI unchanged (proxy_pass without a path), so Prometheus receives %s/...: "
                "--%s must be %s (it is %s)" % (loc.rstrip("/"), ROUTE_PREFIX_FLAG, loc, route)
            )
    return problems
