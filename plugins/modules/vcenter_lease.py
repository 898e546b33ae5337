#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vcenter_lease
short_description: One writer at a time per vCenter - a lease kept in vCenter itself
version_added: "0.2.0"
description:
  - A run that changes vCenter (reconcile, failover, failback, drill) holds this lease for its whole length, so that two
    runs - a cron job and an AWX job, two AWX nodes, a person at a laptop - never build, remove or switch the same
    mirrors at once. A cron C(flock) protects one host only; every controller sees vCenter.
  - The lease is a folder named C(predictive.mirroring.lease) in vCenter's root folder, with its owner and expiry (in
    vCenter's own clock) in the custom attribute C(mirroring.lease). vCenter refuses a second folder of that name, which
    makes taking it atomic across controllers.
  - V(held) takes the lease (or renews it, when O(owner) already holds it). Another run's lease is waited for up to
    O(wait) seconds, then the module fails with one line naming its owner. A lease past its expiry (its run died) is
    taken over.
  - V(released) gives it up, only when O(owner) holds it (or with O(force), whoever holds it).
  - The playbook passes the returned C(owner) to the modules that write (O(predictive.mirroring.vm_mirror#module:lease_owner)),
    which read it before each VM's changes (a lease taken over or released by force stops the next VM) and renew it
    every third of O(ttl). Modules called without an owner take the lease themselves.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
options:
  state:
    description: V(held) or V(released).
    type: str
    choices: [held, released]
    default: held
  owner:
    description:
      - The owner token. Unset with V(held), a new one is made (host, process and a random part) and returned.
      - Required with V(released) unless O(force).
    type: str
  purpose:
    description: What the run is (C(reconcile), C(failover), ...), written into a new owner token for the messages others see.
    type: str
    default: run
  ttl:
    description:
      - Seconds the lease lasts without renewal. Its keeper (O(follow_run)) renews it every third of this, also during
        a long vCenter task, so a run whose keeper is killed holds the vCenter this long at most.
    type: int
    default: 90
  follow_run:
    description:
      - With V(held), leave a keeper process on this machine that renews the lease while the C(ansible-playbook) run
        that took it is alive (with every process it started, such as a module still waiting for a clone) and gives
        it back as soon as the run is gone - finished, failed, refused or killed. The next run then starts at once.
      - The module must run where the playbook runs (delegated to C(localhost)); elsewhere it warns and the lease
        lives for O(ttl) unless renewed.
      - The lease names the run that took it. A run on the same machine takes over a lease whose keeper and run are
        both gone at once, without waiting for its expiry; a lease whose run lives is never taken over before it
        expires, even if its keeper died or could not log in (it keeps trying while the run lives).
    type: bool
    default: true
    version_added: "0.4.0"
  wait:
    description: Seconds to wait for another run's lease before failing.
    type: int
    default: 300
  force:
    description:
      - With V(released), remove the lease whoever holds it. For an operator who knows the holding run is gone.
    type: bool
    default: false
notes:
  - In check mode nothing is written, so no lease is taken; the module reports who holds it.
"""

EXAMPLES = r"""
- name: One writer at a time
  predictive.mirroring.vcenter_lease:
    state: held
  register: mirroring_lease

- name: Write, with the lease
  predictive.mirroring.vm_mirror:
    vms: "{{ batch }}"
    secondary_datacenter: DC-West
    lease_owner: "{{ mirroring_lease.owner }}"

- name: Give it back
  predictive.mirroring.vcenter_lease:
    state: released
    owner: "{{ mirroring_lease.owner }}"
"""

RETURN = r"""
owner:
  description: The owner token of the lease this run holds (V(held)), or the one released.
  returned: always
  type: str
expires:
  description: When the lease expires unless renewed, in vCenter's clock (ISO 8601).
  returned: when held
  type: str
took_over:
  description: The owner of an expired lease this run took over, if any.
  returned: when held
  type: str
kept_by:
  description: The process id of the C(ansible-playbook) run the lease's keeper follows, or null when none does.
  returned: when held
  type: int
  version_added: "0.4.0"
holder:
  description: Who holds the lease now (check mode), or null.
  returned: in check mode
  type: str
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import LEASE_TTL, LEASE_WAIT
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import lease_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(lease_task, dict(
        state=dict(type="str", choices=["held", "released"], default="held"),
        owner=dict(type="str"),
        purpose=dict(type="str", default="run"),
        ttl=dict(type="int", default=LEASE_TTL),
        wait=dict(type="int", default=LEASE_WAIT),
        follow_run=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
    ), shared=("vsphere",), required_if=[("state", "released", ("owner", "force"), True)])


if __name__ == "__main__":
    main()
