# -*- coding: utf-8 -*-
# Copyright (c) promaccess.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Documentation fragments for user-set and secret-file options. Private to promaccess.core."""

from __future__ import annotations


class ModuleDocFragment:
    # Options of every module that manages a set of basic-auth users.
    DOCUMENTATION = r"""
options:
  users:
    description:
      - The users to manage, in the order new users are appended.
      - Existing users keep their place, so a first, reserved internal entry stays first.
      - Users in the file that are not listed are kept, unless O(exclusive=true).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - The user name. Must not be empty, contain V(:), white space at either end, or control characters.
        type: str
        required: true
      label:
        description:
          - A name for the user in results and diffs, for example the grant it belongs to. The playbooks label
            each minted user with its grant and the role of its credential, for example V(team-a (current\)).
          - When a user has a label, its user name is treated as a secret, like its password (a minted user name
            is half of a credential) and kept out of everything the module returns. RV(users_added),
            RV(users_removed), RV(users_changed), the diff, warnings and error messages show the label instead,
            and the name is masked (as V(********)) anywhere else in the result, including the module's
            C(invocation) printed at C(-vvv). Give labels to minted names only, as a short name such as V(a)
            would be masked wherever it appears in the result.
          - Users without a label are shown by name, as names chosen by hand (V(team-a)) are not secret.
          - Labels need not be unique. Users that share a label cannot be told apart in the results; each of
            them is still listed, so the count stays right.
          - The label is never written to the file or Secret.
        type: str
      password:
        description:
          - The clear-text password. It is verified against the stored hash and hashed only when it differs.
          - Mutually exclusive with O(users[].password_hash).
        type: str
      password_hash:
        description:
          - A ready hash, compared as a string with the stored one (no hashing work at all).
          - Must be a complete, well-formed hash of a scheme the target reads, as C(htpasswd -B), C(-2), C(-5),
            C(-m), C(-s) or C(-d) write it - bcrypt (V($2y$), V($2b$) or V($2a$), cost 04 to 31), sha512_crypt
            (V($6$)), sha256_crypt (V($5$)), apr_md5_crypt (V($apr1$)), md5_crypt (V($1$)), V({SHA}), V({SSHA})
            (read by nginx, not by Apache) or DES crypt; targets that read fewer schemes accept fewer.
          - Anything else (a truncated hash, a bcrypt cost out of range, a character outside the scheme's
            alphabet) would lock the user out, so it fails the task, naming the user and never the hash, and
            nothing is written.
          - Mutually exclusive with O(users[].password).
        type: str
      state:
        description:
          - Whether the user must be present or absent.
        type: str
        default: present
        choices: [present, absent]
  exclusive:
    description:
      - Remove every user that is not listed in O(users).
    type: bool
    default: false
  bcrypt_rounds:
    description:
      - The bcrypt cost (log2 of the number of rounds) for new hashes, from 4 to 31.
    type: int
    default: 12
  rehash:
    description:
      - V(on_policy_change) rehashes a user whose password is given and whose stored hash uses another
        scheme or a lower bcrypt cost than asked. V(never) keeps any hash that the password verifies against.
    type: str
    default: never
    choices: [never, on_policy_change]
notes:
  - A user name minted by the P(promaccess.core.credential#lookup) lookup is a secret like the password, half of
    the credential. Give such a user an O(users[].label) so its name stays out of results, diffs and C(-v) or
    C(-vvv) output; the C(users) entries the lookup returns carry one.
"""

    # A local file holding hashes.
    SECRET_FILE = r"""
options:
  path:
    description:
      - The file to manage.
    type: path
    required: true
    aliases: [dest]
  create:
    description:
      - Create the file when it does not exist. With V(false), a missing file is an error.
    type: bool
    default: true
  backup:
    description:
      - Keep a time-stamped copy of the previous file next to it.
    type: bool
    default: false
notes:
  - O(mode) defaults to V(0640), also for an existing file, so hashes are never readable by others.
  - Writes are atomic; the new file is never readable by others, not even for a moment.
  - Diff output lists users with their hash scheme and cost, never a hash or a password; a user with an
    O(users[].label) is listed by its label, never its name.
"""

    # The user name of a scrape job or a scrape Secret, shown by a label.
    USERNAME_LABEL = r"""
options:
  username_label:
    description:
      - A name for O(username) in results, diffs and logs, for example the grant it belongs to.
      - When given, the user name is kept out of everything the module returns (the diff and the invocation
        shown at C(-vvv) included), as a password is (a minted user name is half of a credential).
    type: str
"""
