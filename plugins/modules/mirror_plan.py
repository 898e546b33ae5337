#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: mirror_plan
short_description: Choose each VM's mirroring level to balance cost and risk under a budget
version_added: "0.1.0"
description:
  - The Cost Optimizer. For every VM it prices each level (snapshot storage, standby vCPU and RAM at reduced and full size,
    replication traffic) and the expected monthly loss at that level (the FPS as the probability of a failure, times the
    level's recovery time and data loss, times the VM's cost of an hour down and of an hour of lost data).
  - The level the FPS asks for (raised by dependency floors) is the most a VM gets. With no budget every VM gets exactly that;
    under O(budget) it lowers the levels that add the least expected loss, and never breaks a dependency floor.
  - Exact, by mixed integer programming (HiGHS through C(scipy.optimize.milp)). Read-only.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.policy
options:
  vms:
    description:
      - The VMs, each with C(name) and C(fps), and optionally C(uuid) and C(vcenter) (a VM's identity, so namesakes are
        planned apart), C(level_current) (the level it is held at now), C(level) (the policy's level, which holds hysteresis; default,
        the FPS band), C(depends_on) (names), C(app) (an application, whose members are held at one level, its riskiest
        member's, and lowered for the budget together), C(num_cpu), C(memory_mb), C(disk_gb),
        C(change_gb_day), C(downtime_cost_hour) and C(data_loss_cost_hour) (which default to O(downtime_cost_hour) and
        O(data_loss_cost_hour)).
    type: list
    elements: dict
    required: true
  budget:
    description: Monthly budget for mirroring, in the catalogue's currency. Empty, unlimited.
    type: float
  downtime_cost_hour:
    description: Cost of an hour of downtime of a VM that does not say its own.
    type: float
    default: 100.0
  data_loss_cost_hour:
    description: Cost of an hour of lost data of a VM that does not say its own.
    type: float
    default: 200.0
  catalogue:
    description:
      - Prices, overriding the defaults C(snapshot_gb_month) 0.05, C(standby_vcpu_hour) 0.012, C(standby_gb_ram_hour) 0.004,
        C(replication_gb) 0.02, C(refresh_gb) 0.02 (an image refresh copies the VM's disks) and C(partial_size_ratio) 0.5.
    type: dict
    default: {}
  image_rpo_seconds:
    description:
      - How often a mirror's image is re-cloned, per level (C(partial), C(full); default 86400 each), as
        M(predictive.mirroring.vm_mirror) holds it; each refresh costs the VM's disk in C(refresh_gb). A VM's own
        C(image_rpo_seconds) overrides it.
    type: dict
    default: {}
  files_rpo_seconds:
    description:
      - How old the mirror's copy of a VM's declared files may grow, per level (C(partial) 14400, rsync from cron;
        C(full) 300, lsyncd), returned per VM as C(files_rpo_seconds) for the C(files) role and the metrics.
    type: dict
    default: {}
    version_added: "0.4.0"
  rto_hours:
    description: Recovery time per level, overriding C(minimal) 4, C(partial) 0.5, C(full) 0.02.
    type: dict
    default: {}
  rpo_hours:
    description: Data loss per level, overriding C(minimal) 6, C(partial) 0.1, C(full) 0.
    type: dict
    default: {}
"""

EXAMPLES = r"""
- name: Plan levels for the inventory under a budget
  predictive.mirroring.mirror_plan:
    vms: "{{ groups['all'] | difference(groups['mirrors']) | predictive.mirroring.mirror_targets(hostvars) }}"
    budget: 5000
  delegate_to: localhost
  run_once: true
  register: plan
"""

RETURN = r"""
vms:
  description:
    - Per VM, C(level_from_fps), the C(level) chosen, C(why), C(cost_month), C(risk_month) and C(risk_at_minimal).
    - C(lowering), whether the level chosen is below C(level_current) (what reconcile steps down before mirrors go),
      and C(files_rpo_seconds), the file data's RPO at the level chosen (null at minimal).
  returned: always
  type: list
  elements: dict
totals:
  description:
    - C(cost_month), C(risk_month), C(cost_at_fps_levels), C(levels) (counts), C(lowered), C(budget).
    - C(risk_at_minimal), the expected monthly loss with every VM at minimal, and C(risk_covered), how much of it the
      plan's mirroring removes.
  returned: always
  type: dict
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.cost import plan_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(plan_task, dict(
        vms=dict(type="list", elements="dict", required=True),
        budget=dict(type="float"),
        downtime_cost_hour=dict(type="float", default=100.0),
        data_loss_cost_hour=dict(type="float", default=200.0),
        catalogue=dict(type="dict", default={}),
        image_rpo_seconds=dict(type="dict", default={}),
        files_rpo_seconds=dict(type="dict", default={}),
        rto_hours=dict(type="dict", default={}),
        rpo_hours=dict(type="dict", default={}),
    ), shared=("policy",))


if __name__ == "__main__":
    main()
