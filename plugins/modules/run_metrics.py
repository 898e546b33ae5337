#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_metrics
short_description: Record a run in the history store and write the Prometheus metrics of the mirroring state
version_added: "0.3.0"
description:
  - Records the run (its job, start, end and status), the failovers it refused (O(refusals)) and, for a reconcile, each
    VM's state (FPS, level, whether it waits at failover_now, its data lag against its RPO) in the history store.
  - Then writes every metric the store makes (U(https://prometheus.io/docs/instrumenting/exposition_formats/)) to
    O(textfile), a file for node_exporter's textfile collector, atomically - a temp file in the same directory, fsync,
    rename - so it is never read half-written. The exporter (C(extensions/prometheus/exporter.py)) serves the same
    metrics from the store for users without node_exporter. The metrics are listed in C(docs/observability.md).
  - Reports a change only when the metrics differ in more than their times (run duration, last success) and the
    replication lag measured at that time, so a second identical run reports no change.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.history
options:
  job:
    description: The playbook whose run this is.
    type: str
    required: true
    choices: [reconcile, failover, failback, drill, analyse, evacuate]
  status:
    description: How the run ended.
    type: str
    choices: [success, failed]
    default: success
  started:
    description: When the run started, as Unix seconds or an ISO 8601 time with its zone.
    type: str
    required: true
  vms:
    description:
      - The VMs the run scored, as the P(predictive.mirroring.vm_view#filter) filter gives them. Their state replaces
        the state the store holds for them; a VM no run has written for a week is dropped.
    type: list
    elements: dict
    default: []
  plan:
    description: The cost optimizer's plan (the RV(predictive.mirroring.mirror_plan#module:vms) and
      RV(predictive.mirroring.mirror_plan#module:totals) of P(predictive.mirroring.mirror_plan#module)); the planned
      level of each VM and the plan's cost, expected loss and budget.
    type: dict
  failover_now:
    description: Inventory host names of the VMs at failover_now (their FPS is above the failover threshold).
    type: list
    elements: str
    default: []
  refusals:
    description:
      - Failovers the run refused, each with C(inventory_hostname) (or C(vm)), C(reason) (V(blast_radius),
        V(telemetry_gap) or V(preflight)) and C(why); C(vm_instance_uuid) and C(vcenter) when known. The
        P(predictive.mirroring.vm_view#filter) dicts of the inventory's C(failover_refused) group can be given as they
        are (their C(failover_refused_reason) and C(failover_refused_why)).
    type: list
    elements: dict
    default: []
  refusal_repeat_hours:
    description: A refusal of the same VM for the same reason within this many hours is recorded but is not news
      (RV(refusals_new)), so a notification is not repeated at every scheduled run.
    type: float
    default: 4
  rpo_seconds:
    description:
      - The data recovery point objective of a VM whose C(mirroring_rpo_seconds) is not set.
      - A VM's C(mirroring_data_rpo) (seconds by provider, as reconcile sets it for the file data at the VM's level)
        overrides it for that provider.
    type: float
    default: 60
  textfile:
    description:
      - The metrics file to write, ending in C(.prom), in node_exporter's C(--collector.textfile.directory). Not
        written when unset (the run is still recorded).
    type: path
  history_path:
    description: The history store (SQLite file), when O(history_dsn) is not set.
    type: path
    default: ~/.local/share/predictive.mirroring/history.sqlite
notes:
  - Supports check mode and diff mode. In check mode nothing is recorded or written; the diff shows how the metrics file
    differs from the metrics the store makes as it is (without this run's records).
"""

EXAMPLES = r"""
- name: Record the run and write the metrics for node_exporter
  predictive.mirroring.run_metrics:
    job: reconcile
    started: "{{ mirroring_run_started }}"
    vms: "{{ groups['all'] | difference(groups['mirrors'] | default([])) | predictive.mirroring.vm_view(hostvars) }}"
    plan: "{{ mirroring_plan }}"
    failover_now: "{{ groups['failover_now'] | default([]) }}"
    textfile: /var/lib/prometheus/node-exporter/predictive_mirroring.prom
"""

RETURN = r"""
textfile:
  description: The metrics file written, or null.
  returned: always
  type: str
series:
  description: How many samples the metrics hold.
  returned: always
  type: int
refusals_new:
  description: The refusals that are news (the same VM was not refused for the same reason within
    O(refusal_repeat_hours)), as given.
  returned: always
  type: list
  elements: dict
rpo_violations:
  description: The VMs whose replicated data is further behind than their RPO (C(vm), C(uuid), C(provider),
    C(lag_seconds), C(rpo_seconds)).
  returned: always
  type: list
  elements: dict
rpo_violations_new:
  description: Those of RV(rpo_violations) that were within their RPO at the VM's previous record (whom to notify).
  returned: always
  type: list
  elements: dict
vms:
  description: How many VM states were recorded.
  returned: always
  type: int
"""

import datetime
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.predictive.mirroring.plugins.module_utils import metrics
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_argument_spec, store_configured


def parse_started(value):
    """Unix seconds or an ISO 8601 time with a zone, as an aware UTC datetime."""
    text = str(value).strip()
    try:
        return datetime.datetime.fromtimestamp(float(text), datetime.timezone.utc)
    except (ValueError, OverflowError):
        pass
    try:
        t = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise MirroringError("started must be Unix seconds or an ISO 8601 time, not %r" % text) from None
    if t.tzinfo is None:
        raise MirroringError("started %r has no time zone: give it in UTC (now(utc=true)) or with its offset" % text)
    return t.astimezone(datetime.timezone.utc)


def vm_states(vms, plan, failover_now, rpo_seconds):
    """The store's vm_status rows for the VMs a run scored (those with an instance UUID)."""
    planned = {p.get("uuid"): p["level"] for p in (plan or {}).get("vms") or [] if p.get("uuid")}
    waiting = set(failover_now)
    rows = []
    for v in vms:
        uuid = v.get("vm_instance_uuid")
        if not uuid:
            continue
        quarantined = bool(v.get("mirroring_quarantined"))
        level = v.get("mirroring_level_current") if quarantined else planned.get(uuid, v.get("mirroring_level"))
        rpo = float(v.get("mirroring_rpo_seconds") or rpo_seconds)
        own = v.get("mirroring_data_rpo") or {}  # a provider's own RPO (the file data's at its level)
        data = {provider: {"lag_seconds": float(lag), "rpo_seconds": float(own.get(provider) or rpo)}
                for provider, lag in sorted((v.get("mirroring_data_lag") or {}).items()) if lag is not None}
        rows.append({"vcenter": v.get("vcenter") or "", "vm_uuid": uuid, "vm": v.get("vm_name") or v.get("inventory_hostname"),
                     "datacenter": v.get("datacenter"), "cluster": v.get("cluster"), "fps": v.get("fps"), "level": level,
                     "quarantined": quarantined, "failover_now": v.get("inventory_hostname") in waiting and not quarantined,
                     "data": data})
    return rows


def rpo_violations(states, before):
    """(all, new): the data providers of states behind their RPO; new when the VM's previous state was not."""
    found, new = [], []
    for r in states:
        for provider, f in sorted(r["data"].items()):
            if f["lag_seconds"] > f["rpo_seconds"]:
                v = {"vm": r["vm"], "uuid": r["vm_uuid"], "vcenter": r["vcenter"], "provider": provider,
                     "lag_seconds": f["lag_seconds"], "rpo_seconds": f["rpo_seconds"]}
                found.append(v)
                was = before.get((r["vcenter"], r["vm_uuid"]), {}).get(provider) or {}
                if not was or was.get("lag_seconds", 0) <= was.get("rpo_seconds", float("inf")):
                    new.append(v)
    return found, new


def refusal_rows(refusals):
    rows = []
    for r in refusals:
        vm = r.get("vm_name") or r.get("vm") or r.get("inventory_hostname")
        if not vm:
            raise MirroringError("each refusal names its VM (inventory_hostname or vm): %r" % (r,))
        reason = r.get("reason") or r.get("failover_refused_reason")
        if reason not in metrics.REFUSAL_REASONS:
            raise MirroringError("a refusal's reason is one of %s, not %r (VM %s)"
                                 % (", ".join(metrics.REFUSAL_REASONS), reason, vm))
        rows.append({"vm": vm, "vm_uuid": r.get("vm_instance_uuid") or r.get("vm_uuid"), "vcenter": r.get("vcenter"),
                     "reason": reason, "why": r.get("why") or r.get("failover_refused_why"),
                     "given": dict(r, reason=reason, why=r.get("why") or r.get("failover_refused_why"))})
    return rows


def main():
    module = AnsibleModule(argument_spec=dict(
        store_argument_spec(),
        job=dict(type="str", required=True, choices=list(metrics.JOBS)),
        status=dict(type="str", default="success", choices=["success", "failed"]),
        started=dict(type="str", required=True),
        vms=dict(type="list", elements="dict", default=[]),
        plan=dict(type="dict"),
        failover_now=dict(type="list", elements="str", default=[]),
        refusals=dict(type="list", elements="dict", default=[]),
        refusal_repeat_hours=dict(type="float", default=4.0),
        rpo_seconds=dict(type="float", default=60.0),
        textfile=dict(type="path"),
    ), supports_check_mode=True)
    p = module.params
    out = dict(changed=False, textfile=p["textfile"], refusals_new=[], rpo_violations=[], rpo_violations_new=[], vms=0,
               series=0)
    try:
        started = parse_started(p["started"])
        finished = datetime.datetime.now(datetime.timezone.utc)
        states = vm_states(p["vms"], p["plan"], p["failover_now"], p["rpo_seconds"])
        refusals = refusal_rows(p["refusals"])
        if p["textfile"]:
            metrics.check_textfile(p["textfile"])  # before the store is written: a bad path changes nothing
        if module.check_mode and not store_configured(p):
            module.exit_json(**out)
        with open_store(p) as h:
            before = {(v["vcenter"], v["vm_uuid"]): v["data"] for v in h.vm_status()} if states else {}
            out["rpo_violations"], out["rpo_violations_new"] = rpo_violations(states, before)
            if not module.check_mode:
                if states:
                    h.put_vm_status(states)
                out["refusals_new"] = [n["given"] for n in h.add_refusals(refusals, p["refusal_repeat_hours"] * 3600)]
                detail = {"plan": (p["plan"] or {}).get("totals")} if p["plan"] else {}
                h.add_run(p["job"], started.replace(microsecond=0).isoformat(),
                          finished.replace(microsecond=0).isoformat(), p["status"], detail)
            found = metrics.families(h)
        out["vms"] = len(states)
        out["series"] = sum(len(f.samples) for f in found)
        if p["textfile"]:
            data = metrics.render(found)
            before = b""
            if os.path.exists(p["textfile"]):
                with open(p["textfile"], "rb") as f:
                    before = f.read()
            out["changed"] = metrics.comparable(before) != metrics.comparable(data)
            if module._diff and out["changed"]:
                out["diff"] = {"before_header": p["textfile"], "after_header": p["textfile"],
                               "before": "\n".join(metrics.comparable(before)) + "\n",
                               "after": "\n".join(metrics.comparable(data)) + "\n"}
            if not module.check_mode:
                metrics.write_textfile(p["textfile"], data)
    except MirroringError as e:
        module.fail_json(msg=str(e), **out)
    except OSError as e:
        module.fail_json(msg="Cannot write the metrics file %s: %s" % (p["textfile"], e.strerror or e), **out)
    module.exit_json(**out)


if __name__ == "__main__":
    main()
