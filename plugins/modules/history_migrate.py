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

import os

from ansible.module_utils.basic import AnsibleModule, env_fallback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import DSN_ENV, History, copy_history


def main():
    module = AnsibleModule(
        argument_spec=dict(
            source_path=dict(type="path", required=True),
            history_dsn=dict(type="str", no_log=True, fallback=(env_fallback, [DSN_ENV])),
        ),
        supports_check_mode=True,
    )
    p = module.params
    if not p["history_dsn"]:
        module.fail_json(msg="history_dsn (or %s) is required: it is the PostgreSQL store to copy into" % DSN_ENV)
    if not os.path.isfile(p["source_path"]):
        module.fail_json(msg="The SQLite history store %s does not exist" % p["source_path"])
    try:
        with History(p["source_path"]) as source, History(dsn=p["history_dsn"]) as target:
            copied = copy_history(source, target, check=module.check_mode)
    except MirroringError as e:
        module.fail_json(msg=str(e))
    changed = any(copied.values())
    module.exit_json(changed=changed, copied=copied,
                     diff={"before": {}, "after": {"copied": copied}} if changed else {"before": {}, "after": {}})


if __name__ == "__main__":
    main()
