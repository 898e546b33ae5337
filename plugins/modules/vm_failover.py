#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_failover
short_description: The vSphere side of a failover and failback - preflight, quarantine of the primary, release
version_added: "0.1.0"
description:
  - V(preflight) reads the primary and its mirror and fails, changing nothing, when there is no mirror to fail over to,
    or (with O(image_rpo_seconds)) when the mirror's image is older than that RPO or of unknown age.
  - V(quarantined) marks the failed-over primary (custom attribute C(mirroring.quarantined) = the time), optionally powers it
    off, and records the failover in the history store with its FPS, reasons and the primary's feature vector read from
    vCenter at that moment (the Post-Failover Analysis labels it later). A primary already quarantined is left as it is.
  - V(powered_on) powers the quarantined primary on for failback, and keeps it quarantined.
  - V(released) clears the quarantine after failback and records the failback time on the failover.
  - V(intent) writes the failover's intent to the history store before the first act (traffic, data, vSphere) and
    returns its O(action_id); V(aborted) records that a step failed, with O(error); V(quarantined) with O(action_id)
    records it done. A fault at any step of a failover so leaves a record; re-running the failover completes it.
  - C(reconcile.yml) leaves quarantined primaries alone; the C(failover) and C(failback) roles call this module.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.lease
  - predictive.mirroring.history
options:
  name:
    description:
      - The primary VM's name, for display and the records. Give O(uuid) to say which VM; a name alone is accepted only
        when exactly one primary has it.
    type: str
  uuid:
    description: The primary VM's instance UUID (the inventory's C(vm_instance_uuid)).
    type: str
  state:
    description: What to do.
    type: str
    choices: [preflight, intent, quarantined, aborted, powered_on, released]
    required: true
  action_id:
    description: The id V(intent) returned, closed by V(quarantined) (done) or V(aborted) (failed).
    type: int
  error:
    description: What failed, for V(aborted).
    type: str
  kind:
    description: V(predictive) (before the primary fails) or V(reactive) (after). For V(quarantined).
    type: str
    choices: [predictive, reactive]
    default: predictive
  power_off:
    description: Power the primary off when it is quarantined.
    type: bool
    default: false
  fps:
    description: The FPS that decided the failover.
    type: float
  reasons:
    description: The FPS's reasons, as the inventory gives them.
    type: list
    elements: raw
    default: []
  downtime_s:
    description: Seconds the service was not served, as the failover measured it.
    type: float
  data_lag_bytes:
    description: The replica's lag in bytes when it was promoted.
    type: int
  data_lag_s:
    description: The replica's lag in seconds when it was promoted.
    type: float
  image_rpo_seconds:
    description:
      - With O(state=preflight), refuse the failover when the mirror's image (its C(mirroring.synced_at)) is older than this
        many seconds, naming its age. Leave it out to skip the check (a forced failover).
    type: int
  history_path:
    description:
      - The history store the failover is recorded in. It is opened before anything is changed, the intent is written
        before the act and the outcome after; a store that cannot be opened stops the module with nothing changed.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
"""

EXAMPLES = r"""
- name: Quarantine the primary and record the failover
  predictive.mirroring.vm_failover:
    uuid: "{{ vm_instance_uuid }}"
    name: web01
    state: quarantined
    fps: "{{ fps }}"
    reasons: "{{ fps_reasons }}"
  delegate_to: localhost
"""

RETURN = r"""
primary:
  description: The primary after the run (name, power_state, host, cluster, datacenter, quarantined, level).
  returned: always
  type: dict
mirror:
  description: Its mirror (same keys), or null.
  returned: always
  type: dict
failover_id:
  description: The failover's id in the history store.
  returned: when state is quarantined or released
  type: int
action_id:
  description: The id of the intent record V(intent) wrote.
  returned: when state is intent
  type: int
"""


from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.failover import Quarantine, stale_image
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import Writer, lease_argument_spec
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_argument_spec, connection_params


class Outcome:
    """What has really been changed so far, so that a failure half-way still reports changed truthfully."""

    def __init__(self):
        self.changed = False


def quarantine(q, h, primary, mirror, before, p, check_mode, done):
    """Power off (optional), mark quarantined and record the failover, intent first; re-running completes a half-done one."""
    out = {}
    recorded = h.failovers(vm_uuid=primary["instance_uuid"], open_only=True) if h is not None else []
    if before["quarantined"] and recorded:
        return out  # failed over and recorded: nothing left to do
    if check_mode:
        done.changed = True
        return out
    detail = {"kind": p["kind"], "power_off": p["power_off"], "fps": p["fps"], "mirror": mirror["name"]}
    action = h.begin_action(primary["name"], "quarantine", vm_uuid=primary["instance_uuid"], vcenter=q.vs.name,
                            detail=detail)
    try:
        features = q.features(primary)
        stamp = before["quarantined"] or vsphere.now().replace(microsecond=0).isoformat()
        if p["power_off"] and q.power(primary, on=False):
            done.changed = True
        if not before["quarantined"]:
            q.set_quarantine(primary, stamp)
            primary["attributes"][vsphere.ATTR_QUARANTINED] = stamp
            done.changed = True
        out["failover_id"] = h.add_failover(
            primary["name"], p["kind"], fps=p["fps"], reasons=p["reasons"], features=features, vcenter=q.vs.name,
            downtime_s=p["downtime_s"], data_lag_bytes=p["data_lag_bytes"], data_lag_s=p["data_lag_s"], at=stamp,
            vm_uuid=primary["instance_uuid"])
        h.update_failover(out["failover_id"], label_evidence={"powered_off_by_failover": p["power_off"]})
        done.changed = True
    except MirroringError as e:
        h.end_action(action, "failed", error=str(e))
        raise
    h.end_action(action, "done", detail=dict(detail, failover_id=out["failover_id"]))
    return out


def power_on(q, h, primary, before, check_mode, done):
    if not before["quarantined"]:
        raise MirroringError("%s is not quarantined: power it on in vSphere, not through failback" % primary["name"])
    if primary["power_state"] == "poweredOn":
        return {}
    done.changed = True
    if not check_mode:
        action = h.begin_action(primary["name"], "power_on", vm_uuid=primary["instance_uuid"], vcenter=q.vs.name)
        try:
            q.power(primary, on=True)
        except MirroringError as e:
            h.end_action(action, "failed", error=str(e))
            raise
        h.end_action(action, "done")
    return {}


def release(q, h, primary, before, check_mode, done):
    out = {}
    if not before["quarantined"]:
        return out
    done.changed = True
    if check_mode:
        return out
    action = h.begin_action(primary["name"], "release", vm_uuid=primary["instance_uuid"], vcenter=q.vs.name)
    try:
        q.set_quarantine(primary, "")
        primary["attributes"][vsphere.ATTR_QUARANTINED] = ""
        # records from before schema v3 carry no UUID: only those are matched by name
        open_ones = h.failovers(vm_uuid=primary["instance_uuid"], open_only=True) or [
            f for f in h.failovers(vm=primary["name"], open_only=True) if not f.get("vm_uuid")]
        for f in open_ones:
            h.update_failover(f["id"], failback_at=vsphere.now().replace(microsecond=0).isoformat())
        out["failover_id"] = open_ones[-1]["id"] if open_ones else None
    except MirroringError as e:
        h.end_action(action, "failed", error=str(e))
        raise
    h.end_action(action, "done")
    return out


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(store_argument_spec())
    argument_spec.update(lease_argument_spec())
    argument_spec.update(
        name=dict(type="str"),
        uuid=dict(type="str"),
        state=dict(type="str", choices=["preflight", "intent", "quarantined", "aborted", "powered_on", "released"],
                   required=True),
        action_id=dict(type="int"),
        error=dict(type="str"),
        kind=dict(type="str", choices=["predictive", "reactive"], default="predictive"),
        power_off=dict(type="bool", default=False),
        fps=dict(type="float"),
        reasons=dict(type="list", elements="raw", default=[]),
        downtime_s=dict(type="float"),
        data_lag_bytes=dict(type="int"),
        data_lag_s=dict(type="float"),
        image_rpo_seconds=dict(type="int"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True, required_one_of=[("name", "uuid")],
                           required_if=[("state", "aborted", ("action_id",))])
    p = module.params
    done = Outcome()
    out = {}
    before = after = mirror_state = None
    try:
        if p["state"] == "aborted":
            if not module.check_mode:
                with open_store(p) as h:
                    h.end_action(p["action_id"], "failed", error=p["error"] or "a step of the failover failed")
            module.exit_json(changed=False, action_id=p["action_id"])
        acting = p["state"] not in ("preflight", "intent") or (p["state"] == "intent" and not module.check_mode)
        # the store is opened before anything changes: no irreversible act without a place to record it. A dry run
        # reads it when it exists and never creates it.
        h = None
        if acting and (not module.check_mode or store_configured(p)):
            h = open_store(p)
        try:
            with VSphere(**connection_params(p)) as vs, \
                    Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], module.check_mode or not acting):
                q = Quarantine(vs)
                primary = q.primary(uuid=p["uuid"], name=p["name"])
                mirror = q.mirror(primary)
                before = Quarantine.state(primary)
                mirror_state = Quarantine.state(mirror)
                if p["state"] in ("preflight", "quarantined") and mirror is None:
                    raise MirroringError("%s has no mirror to fail over to (its level is %s): failover refused"
                                         % (primary["name"], before["level"] or "not set"))
                if p["state"] == "preflight" and p["image_rpo_seconds"] is not None:
                    refusal = stale_image(primary, mirror, p["image_rpo_seconds"], vsphere.now())
                    if refusal:
                        raise MirroringError(refusal)
                if p["state"] == "intent":
                    if h is not None:
                        out["action_id"] = h.begin_action(primary["name"], "failover", vm_uuid=primary["instance_uuid"],
                                                          vcenter=vs.name, detail={"kind": p["kind"], "fps": p["fps"],
                                                                                   "mirror": mirror["name"],
                                                                                   "mirror_image_age_s": mirror_state[
                                                                                       "image_age_seconds"]})
                elif p["state"] == "quarantined":
                    out = quarantine(q, h, primary, mirror, before, p, module.check_mode, done)
                    if p["action_id"] and h is not None and not module.check_mode:
                        h.end_action(p["action_id"], "done", detail={"failover_id": out.get("failover_id")})
                elif p["state"] == "powered_on":
                    out = power_on(q, h, primary, before, module.check_mode, done)
                elif p["state"] == "released":
                    out = release(q, h, primary, before, module.check_mode, done)
                after = Quarantine.state(primary)
                if module.check_mode and done.changed:
                    after = dict(after, quarantined="(now)" if p["state"] == "quarantined" else
                                 (None if p["state"] == "released" else after["quarantined"]))
                    if p["state"] == "powered_on" or (p["state"] == "quarantined" and p["power_off"]):
                        after["power_state"] = "poweredOn" if p["state"] == "powered_on" else "poweredOff"
        finally:
            if h is not None:
                h.close()
    except MirroringError as e:
        module.fail_json(msg=str(e), changed=done.changed)
    module.exit_json(changed=done.changed, primary=after, mirror=mirror_state, diff={"before": before, "after": after}, **out)


if __name__ == "__main__":
    main()
