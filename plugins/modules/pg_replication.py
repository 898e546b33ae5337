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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.replication.postgres import (
    Postgres, ReplicationError, check_identifier, sync_names_for)


def main():
    module = AnsibleModule(
        argument_spec=dict(
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
        ),
        required_if=[("mode", "async", ["primary"]), ("mode", "sync", ["primary"]), ("mode", "promoted", ["standby"]),
                     ("mode", "status", ["standby"])],
        supports_check_mode=True,
    )
    p = module.params
    try:
        # checked before any connection: every name here reaches SQL or a server setting
        check_identifier("application_name", p["application_name"])
        for name in ([p["slot"]] if p["slot"] else []) + p["drop_slots"]:
            check_identifier("replication slot", name)
        if p["mode"] == "promoted":
            module.exit_json(**promote(module, p))
        if p["mode"] == "status":
            module.exit_json(changed=False, lag=status(p))
        with Postgres(p["primary"], "primary") as db:
            before = db.sync_settings()
            ours = sync_names_for(p["application_name"])
            if p["mode"] == "sync":
                want = {"synchronous_standby_names": ours, "synchronous_commit": p["synchronous_commit"]}
            else:
                names = "" if before["synchronous_standby_names"] == ours else before["synchronous_standby_names"]
                want = {"synchronous_standby_names": names, "synchronous_commit": before["synchronous_commit"]}
            slots_before = db.slots()
            slots_after = sorted((set(slots_before) | {p["slot"]} if p["slot"] else set(slots_before)) - set(p["drop_slots"]))
            busy = [name for name in p["drop_slots"] if slots_before.get(name)]
            if busy and module.check_mode:
                # the tasks before this one (stopping the consumer) did not run either
                module.warn("Replication slot(s) %s are in use now; they are dropped once what streams from them is "
                            "stopped" % ", ".join(busy))
            elif busy:
                raise ReplicationError("Replication slot(s) %s are still in use on the primary: stop what streams from them "
                                       "first" % ", ".join(busy))
            changed = want != before or slots_after != sorted(slots_before)
            if changed and not module.check_mode:
                if want != before:
                    db.set_sync(want["synchronous_standby_names"], want["synchronous_commit"])
                if p["slot"] and p["slot"] not in slots_before:
                    db.create_slot(p["slot"])
                for name in p["drop_slots"]:
                    if name in slots_before:
                        db.drop_slot(name)
            before = dict(before, slots=sorted(slots_before))
            want = dict(want, slots=slots_after)
            wait = p["wait_connected"] if p["require_connected"] else 0
            standby = db.wait_standby(p["application_name"], wait)
            if p["require_connected"] and (standby is None or standby["state"] != "streaming"):
                raise ReplicationError("Standby '%s' is not streaming from the primary after %.0f s (pg_stat_replication: %s)"
                                       % (p["application_name"], wait, standby))
    except MirroringError as e:
        module.fail_json(msg=str(e))
    slots = want.pop("slots")
    module.exit_json(changed=changed, standby=standby, settings=want, slots=slots,
                     diff={"before": before, "after": dict(want, slots=slots)})


def status(p):
    with Postgres(p["standby"], "standby") as db:
        lag = db.standby_lag()
    lag["primary_reachable"] = False
    if p["primary"]:
        try:
            with Postgres(p["primary"], "primary") as db:
                row = db.standby(p["application_name"])
        except ReplicationError:
            return lag  # a dead primary: what the standby has is what there is
        lag["primary_reachable"] = True
        if row is not None:
            lag["lag_bytes"] = max(lag["lag_bytes"], row["lag_bytes"])
            lag["lag_seconds"] = max(lag["lag_seconds"], row["lag_seconds"])
    return lag


def promote(module, p):
    """Promote the standby; with min_lsn, only once it has replayed up to it (zero-loss switchover)."""
    with Postgres(p["standby"], "standby") as db:
        recovering = db.in_recovery()
        lsn = db.replay_lsn() if recovering else None
        if recovering and p["min_lsn"]:
            reached, lsn = db.wait_replayed(p["min_lsn"], p["lsn_timeout"])
            if not reached:
                raise ReplicationError("The standby replayed only up to %s, not the required %s, within %.0f s: not promoted"
                                       % (lsn, p["min_lsn"], p["lsn_timeout"]))
        if recovering and not module.check_mode:
            if not db.promote():
                raise ReplicationError("pg_promote did not finish within 60 s")
    return dict(changed=bool(recovering), replay_lsn=lsn,
                diff={"before": {"in_recovery": recovering}, "after": {"in_recovery": False}})


if __name__ == "__main__":
    main()
