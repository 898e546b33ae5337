#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: pg_replication
short_description: Hold a PostgreSQL standby at the replication mode of its mirroring level, report its lag, promote it
version_added: "0.1.0"
description:
  - V(async) (partial level) and V(sync) (full level) set the primary's C(synchronous_standby_names) so that the standby named by
    O(application_name) is, or is not, synchronous, with ALTER SYSTEM and a reload; V(sync) also sets C(synchronous_commit).
  - Reports the standby's replication state and its lag in bytes and seconds, as the primary sees it.
  - V(promoted) promotes the standby (C(pg_promote(wait => true))); a standby already promoted is left as it is. A
    synchronous standby list the promoted server copied from its old primary is cleared, so its commits do not wait for
    a standby that is not there.
  - V(status) changes nothing - the standby's lag as the standby sees it (and, when O(primary) is given and answers, as the
    primary sees it; the larger counts). The failover's preflight compares it with the VM's RPO.
  - Idempotent, with check mode and diff. The standby itself is made by the C(replication) role (C(pg_basebackup) with a replication slot).
author:
  - predictive.mirroring developers (@predictive-mirroring)
options:
  primary:
    description: Connection string of the primary (libpq key=value or URI). Needed for V(async) and V(sync).
    type: str
  standby:
    description: Connection string of the standby. Needed for V(promoted).
    type: str
  application_name:
    description: The standby's C(application_name) (its C(primary_conninfo) sets it).
    type: str
    required: true
  mode:
    description: V(async), V(sync), V(promoted) or V(status).
    type: str
    choices: [async, sync, promoted, status]
    required: true
  synchronous_commit:
    description: C(synchronous_commit) on the primary in V(sync) mode.
    type: str
    choices: ['on', remote_write, remote_apply]
    default: 'on'
  require_connected:
    description: Fail when the standby is not streaming from the primary.
    type: bool
    default: true
  wait_connected:
    description: Seconds to wait for the standby to be streaming (a standby just started takes a moment).
    type: float
    default: 30
  slot:
    description:
      - A physical replication slot to hold on the primary in V(async) and V(sync) mode (created when missing), so the
        primary keeps the WAL its consumer has not received yet.
    type: str
  drop_slots:
    description:
      - Physical replication slots to remove from the primary in V(async) and V(sync) mode, when present (a slot nobody
        reads from keeps WAL on the primary until its disk fills). A slot still in use is an error and nothing is dropped.
    type: list
    elements: str
    default: []
  min_lsn:
    description:
      - In V(promoted) mode, the WAL position the standby must have replayed before it is promoted, such as the old
        primary's shutdown checkpoint in a zero-loss switchover. The standby is not promoted when it does not reach it
        within O(lsn_timeout) seconds.
    type: str
  lsn_timeout:
    description: Seconds to wait for the standby to reach O(min_lsn).
    type: float
    default: 30
notes:
  - Changing the primary's settings needs a superuser (ALTER SYSTEM).
requirements:
  - psycopg 3 on the controller
"""

EXAMPLES = r"""
- name: Full level - the standby is synchronous
  predictive.mirroring.pg_replication:
    primary: "host=db01 port=5432 user=postgres dbname=postgres"
    application_name: db01_mirror
    mode: sync
  delegate_to: localhost
"""

RETURN = r"""
standby:
  description: The standby as the primary sees it (state, sync_state, lag_bytes, lag_seconds), or null when not connected.
  returned: for async and sync
  type: dict
  sample: {state: streaming, sync_state: sync, lag_bytes: 0, lag_seconds: 0.0}
settings:
  description: The primary's synchronous_standby_names and synchronous_commit after the run.
  returned: for async and sync
  type: dict
slots:
  description: The primary's physical replication slots after the run.
  returned: for async and sync
  type: list
  elements: str
replay_lsn:
  description: The standby's replayed WAL position when it was promoted (or found promoted).
  returned: for promoted
  type: str
lag:
  description: in_recovery, lag_bytes, lag_seconds, and primary_reachable.
  returned: for status
  type: dict
  sample: {in_recovery: true, lag_bytes: 0, lag_seconds: 0.0, primary_reachable: true}
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.replication.postgres import replication_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(replication_task, dict(
        primary=dict(type="str", no_log=True),
        standby=dict(type="str", no_log=True),
        application_name=dict(type="str", required=True),
        mode=dict(type="str", choices=["async", "sync", "promoted", "status"], required=True),
        synchronous_commit=dict(type="str", choices=["on", "remote_write", "remote_apply"], default="on"),
        require_connected=dict(type="bool", default=True),
        wait_connected=dict(type="float", default=30),
        slot=dict(type="str"),
        drop_slots=dict(type="list", elements="str", default=[]),
        min_lsn=dict(type="str"),
        lsn_timeout=dict(type="float", default=30),
    ), required_if=[("mode", "async", ["primary"]), ("mode", "sync", ["primary"]), ("mode", "promoted", ["standby"]),
                    ("mode", "status", ["standby"])])


if __name__ == "__main__":
    main()
