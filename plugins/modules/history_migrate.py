#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: history_migrate
short_description: Copy a SQLite history store into the PostgreSQL one
version_added: "0.3.0"
description:
  - Copies every record of a SQLite history store (labelled windows, level decisions, failovers with their labels, the
    write-ahead action records, the analysis's tuning and the model registry) into the PostgreSQL store O(history_dsn),
    creating its schema on first use.
  - Idempotent. Records are matched by their natural key (a window's vCenter, VM and end; a tuning key; a model's sha256)
    or by the unique id each record carries, so a second run, or two runs at once, copy nothing twice. The copy is one
    transaction - whole or absent.
  - Tuning the target already holds is kept (it is the newer memory). Failover ids are the target's; the action records
    that name a failover are rewritten to its new id.
  - The source is opened read-write, as every store is, so that it is brought to the current schema first.
author:
  - predictive.mirroring developers (@predictive-mirroring)
options:
  source_path:
    description: The SQLite history store to copy from. It must exist.
    type: path
    required: true
  history_dsn:
    description:
      - The PostgreSQL history store to copy into (libpq connection string or C(postgresql://) URI). Never printed.
      - Required; falls back to E(PM_HISTORY_DSN).
    type: str
notes:
  - Supports check mode (counts what would be copied) and diff.
"""

EXAMPLES = r"""
- name: Move the cron host's history into the shared store before the first AWX job
  predictive.mirroring.history_migrate:
    source_path: /var/lib/predictive-mirroring/history.sqlite
  environment:
    PM_HISTORY_DSN: "host=db.example.com dbname=mirroring user=mirroring sslmode=verify-full"
"""

RETURN = r"""
copied:
  description: Records copied (or, in check mode, that would be) per table.
  returned: always
  type: dict
  sample: {windows: 8000, decisions: 120, failovers: 3, actions: 9, tuning: 2, models: 1}
"""

from ansible.module_utils.basic import env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import HISTORY_DSN_ENV
from ansible_collections.predictive.mirroring.plugins.module_utils.history import migrate
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(migrate, dict(
        source_path=dict(type="path", required=True),
        history_dsn=dict(type="str", no_log=True, fallback=(env_fallback, [HISTORY_DSN_ENV])),
    ))


if __name__ == "__main__":
    main()
