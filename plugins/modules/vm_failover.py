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
  - V(preflight) reads the primary and its mirror and fails, changing nothing, when there is no mirror to fail over to.
  - V(quarantined) marks the failed-over primary (custom attribute C(mirroring.quarantined) = the time), optionally powers it
    off, and records the failover in the history store with its FPS, reasons and the primary's feature vector read from
    vCenter at that moment (the Post-Failover Analysis labels it later). A primary already quarantined is left as it is.
  - V(powered_on) powers the quarantined primary on for failback, and keeps it quarantined.
  - V(released) clears the quarantine after failback and records the failback time on the failover.
  - C(reconcile.yml) leaves quarantined primaries alone; the C(failover) and C(failback) roles call this module.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
options:
  name:
    description: The primary VM.
    type: str
    required: true
  state:
    description: What to do.
    type: str
    choices: [preflight, quarantined, powered_on, released]
    required: true
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
  history_path:
    description: The history store the failover is recorded in.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
"""

EXAMPLES = r"""
- name: Quarantine the primary and record the failover
  predictive.mirroring.vm_failover:
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
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.failover import Quarantine
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_argument_spec, connection_params


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", choices=["preflight", "quarantined", "powered_on", "released"], required=True),
        kind=dict(type="str", choices=["predictive", "reactive"], default="predictive"),
        power_off=dict(type="bool", default=False),
        fps=dict(type="float"),
        reasons=dict(type="list", elements="raw", default=[]),
        downtime_s=dict(type="float"),
        data_lag_bytes=dict(type="int"),
        data_lag_s=dict(type="float"),
        history_path=dict(type="path", default="~/.local/share/predictive.mirroring/history.sqlite"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    out = {"changed": False}
    try:
        with VSphere(**connection_params(p)) as vs:
            q = Quarantine(vs)
            primary = q.primary(p["name"])
            mirror = q.mirror(primary)
            before = Quarantine.state(primary)
            if p["state"] == "preflight":
                if mirror is None:
                    raise MirroringError("%s has no mirror to fail over to (its level is %s): failover refused"
                                         % (p["name"], before["level"] or "not set"))
            elif p["state"] == "quarantined":
                if mirror is None:
                    raise MirroringError("%s has no mirror: it cannot be quarantined as failed over" % p["name"])
                if not before["quarantined"]:
                    out["changed"] = True
                    if not module.check_mode:
                        features = q.features(primary)
                        stamp = vsphere.now().replace(microsecond=0).isoformat()
                        if p["power_off"]:
                            q.power(primary, on=False)
                        q.set_quarantine(primary, stamp)
                        primary["attributes"][vsphere.ATTR_QUARANTINED] = stamp
                        with History(p["history_path"]) as h:
                            out["failover_id"] = h.add_failover(
                                p["name"], p["kind"], fps=p["fps"], reasons=p["reasons"], features=features,
                                vcenter=vs.name, downtime_s=p["downtime_s"], data_lag_bytes=p["data_lag_bytes"],
                                data_lag_s=p["data_lag_s"], at=stamp)
                            h.update_failover(out["failover_id"], label_evidence={"powered_off_by_failover": p["power_off"]})
            elif p["state"] == "powered_on":
                if not before["quarantined"]:
                    raise MirroringError("%s is not quarantined: power it on in vSphere, not through failback" % p["name"])
                out["changed"] = primary["power_state"] != "poweredOn"
                if out["changed"] and not module.check_mode:
                    q.power(primary, on=True)
            else:  # released
                if before["quarantined"]:
                    out["changed"] = True
                    if not module.check_mode:
                        q.set_quarantine(primary, "")
                        primary["attributes"][vsphere.ATTR_QUARANTINED] = ""
                        with History(p["history_path"]) as h:
                            open_ones = h.failovers(vm=p["name"], open_only=True)
                            for f in open_ones:
                                h.update_failover(f["id"], failback_at=vsphere.now().replace(microsecond=0).isoformat())
                            out["failover_id"] = open_ones[-1]["id"] if open_ones else None
            after = Quarantine.state(primary)
            if module.check_mode and out["changed"]:
                after = dict(after, quarantined="(now)" if p["state"] == "quarantined" else
                             (None if p["state"] == "released" else after["quarantined"]))
                if p["state"] == "powered_on" or (p["state"] == "quarantined" and p["power_off"]):
                    after["power_state"] = "poweredOn" if p["state"] == "powered_on" else "poweredOff"
    except MirroringError as e:
        module.fail_json(msg=str(e))
    module.exit_json(primary=after, mirror=Quarantine.state(mirror), diff={"before": before, "after": after}, **out)


if __name__ == "__main__":
    main()
