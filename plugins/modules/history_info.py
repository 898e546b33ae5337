#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: history_info
short_description: What the history store holds - backend, schema, record counts, tuning, the model in use
version_added: "0.3.0"
description:
  - Opens the history store (creating or migrating its schema, as every module does) and reports what it holds.
  - The failover playbook runs it before it takes the vCenter lease, so that a store that cannot be reached (a wrong
    host or password, a schema newer than the collection) stops the run before anything is changed - no failover
    without a place to record it.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.history
options:
  history_path:
    description: The history store (SQLite file), when O(history_dsn) is not set.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
notes:
  - Supports check mode; it changes nothing (beyond creating the schema of a new store outside check mode).
"""

EXAMPLES = r"""
- name: The store answers
  predictive.mirroring.history_info:
  register: store
"""

RETURN = r"""
backend:
  description: V(sqlite) or V(postgresql).
  returned: always
  type: str
store:
  description: Where the store is (a file path, or the DSN's host, port, database and user - never its password).
  returned: always
  type: str
schema_version:
  description: The store's schema version.
  returned: always
  type: int
counts:
  description: Records per table.
  returned: always
  type: dict
  sample: {windows: 8000, decisions: 120, failovers: 3, actions: 9, models: 2}
tuning:
  description: What the analysis tuned (the failover threshold, when the model was last retrained).
  returned: always
  type: dict
current_model:
  description: The sha256 of the model promoted last in the registry, or null.
  returned: always
  type: str
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.history import info
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(info, {}, shared=("history",))


if __name__ == "__main__":
    main()
