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
  - V(promoted) promotes the standby (C(pg_promote(wait => true))); a standby already promoted is left as it is.
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
    description: V(async), V(sync), or V(promoted).
    type: str
    choices: [async, sync, promoted]
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.replication.postgres import (
    Postgres, ReplicationError, sync_names_for)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            primary=dict(type="str", no_log=True),
            standby=dict(type="str", no_log=True),
            application_name=dict(type="str", required=True),
            mode=dict(type="str", choices=["async", "sync", "promoted"], required=True),
            synchronous_commit=dict(type="str", choices=["on", "remote_write", "remote_apply"], default="on"),
            require_connected=dict(type="bool", default=True),
            wait_connected=dict(type="float", default=30),
        ),
        required_if=[("mode", "async", ["primary"]), ("mode", "sync", ["primary"]), ("mode", "promoted", ["standby"])],
        supports_check_mode=True,
    )
    p = module.params
    try:
        if p["mode"] == "promoted":
            with Postgres(p["standby"], "standby") as db:
                recovering = db.in_recovery()
                if recovering and not module.check_mode:
                    if not db.promote():
                        raise ReplicationError("pg_promote did not finish within 60 s")
            module.exit_json(changed=bool(recovering), diff={"before": {"in_recovery": recovering},
                                                             "after": {"in_recovery": False}})
        with Postgres(p["primary"], "primary") as db:
            before = db.sync_settings()
            ours = sync_names_for(p["application_name"])
            if p["mode"] == "sync":
                want = {"synchronous_standby_names": ours, "synchronous_commit": p["synchronous_commit"]}
            else:
                names = "" if before["synchronous_standby_names"] == ours else before["synchronous_standby_names"]
                want = {"synchronous_standby_names": names, "synchronous_commit": before["synchronous_commit"]}
            changed = want != before
            if changed and not module.check_mode:
                db.set_sync(want["synchronous_standby_names"], want["synchronous_commit"])
            wait = p["wait_connected"] if p["require_connected"] else 0
            standby = db.wait_standby(p["application_name"], wait)
            if p["require_connected"] and (standby is None or standby["state"] != "streaming"):
                raise ReplicationError("Standby '%s' is not streaming from the primary after %.0f s (pg_stat_replication: %s)"
                                       % (p["application_name"], wait, standby))
    except MirroringError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=changed, standby=standby, settings=want, diff={"before": before, "after": want})


if __name__ == "__main__":
    main()
