# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One of each rule and helper the backends share (files, YAML, web.yml, hashing, names, URLs, times, promtool). Private to promaccess.core."""
