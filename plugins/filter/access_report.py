# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters access_report, access_report_markdown and access_report_html (documented in the .yml files beside)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.promaccess.core.plugins.plugin_utils.access_report import (
    AccessReportError,
    build_report,
    render_html,
    render_markdown,
)
from ansible_collections.promaccess.core.plugins.plugin_utils.data import plain


def access_report(hosts, grants, internal_grant="internal", store=None, missing_grants=None, generated_at=None,
                  policy=None):
    try:
        return build_report(
            plain(hosts), plain(grants), internal_grant=str(internal_grant), generated_at=generated_at,
            store=None if store is None else str(store), missing_grants=plain(missing_grants),
            policy=plain(policy) if policy else None,
        )
    except AccessReportError as exc:
        raise AnsibleFilterError("access_report: %s" % exc) from None


def _render(renderer, report):
    if not isinstance(report, dict) or "rows" not in report or "summary" not in report:
        raise AnsibleFilterError("expected a report made by promaccess.core.access_report")
    return renderer(plain(report))


def access_report_markdown(report):
    return _render(render_markdown, report)


def access_report_html(report):
    return _render(render_html, report)


class FilterModule:
    def filters(self):
        return {
            "access_report": access_report,
            "access_report_markdown": access_report_markdown,
            "access_report_html": access_report_html,
        }
