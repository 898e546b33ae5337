#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: vm_mirror
short_description: Hold VMs' mirrors in the secondary datacenter at their mirroring level
version_added: "0.1.0"
description:
  - Enforces each primary VM's mirroring level in vSphere, for one VM (O(name)) or a batch (O(vms)) on one vCenter session.
  - V(minimal) takes a snapshot on schedule (every O(snapshot_interval_hours)), keeps at most O(snapshot_retention) of them and
    none older than O(snapshot_max_age_hours) (the newest always stays), and deallocates the mirror (destroyed, or powered off, see
    O(minimal_mirror)).
  - V(partial) also clones the mirror from the latest snapshot into the secondary datacenter and keeps it powered on at reduced size
    (O(standby_size_ratio)), role C(standby), not serving.
  - V(full) keeps the mirror at the primary's size, powered on, role C(active) (serving).
  - At V(partial) and V(full) the mirror's image is refreshed when it is older than its RPO (O(image_rpo_seconds); the
    mirror's C(mirroring.synced_at) says when its image was taken). A new clone from a fresh snapshot is built beside
    the old mirror with its NICs disconnected, verified (ours, powered on, sized), then swapped in (NICs moved, roles
    handed over, the old mirror removed, the new one renamed). The old mirror serves until the swap; a run stopped at
    any step is completed by the next one. The load balancer and data providers name the mirror's address, which the
    clone keeps, so they are untouched by a refresh.
  - Writes C(mirroring.level), C(mirroring.fps), C(mirroring.since) and C(mirroring.below_since) on the primary and
    C(mirroring.primary), C(mirroring.role), C(mirroring.synced_at) on the mirror as custom attributes.
  - The placement (datacenter, cluster or resource pool, datastore, folder) is checked before anything changes. A clone that fails
    half-way is removed; if even that fails, the clone carries a marker and the next run adopts it. Re-running converges.
  - Idempotent, with check mode and diff.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere
  - predictive.mirroring.lease
  - predictive.mirroring.history
options:
  name:
    description:
      - The primary VM's name. Use O(vms) for a batch.
      - Names are for display and for naming the mirror. Give O(uuid) to say which VM; a name alone is accepted only when
        exactly one primary in the vCenter has it.
    type: str
  uuid:
    description:
      - The primary VM's instance UUID (the inventory's C(vm_instance_uuid)), the VM acted on whatever its name.
    type: str
  level:
    description: Its level (with O(name)).
    type: str
    choices: [minimal, partial, full]
  fps:
    description: The FPS behind the level, recorded when the level changes (with O(name)).
    type: float
  below_since:
    description: The policy's hysteresis clock, recorded as C(mirroring.below_since) (with O(name)); empty clears it.
    type: str
  vms:
    description:
      - A batch of primaries, each with C(uuid) (its instance UUID) and/or C(name), C(level), and optionally C(fps) and
        C(below_since), C(image_rpo_seconds) (this VM's own image RPO, overriding O(image_rpo_seconds)) and C(floor)
        (true when the plan holds the VM above the level its own FPS gives, for an application or a dependency; its
        C(mirroring.below_since) is then left as recorded). C(app) and C(depends_on) may ride along.
      - C(vcenter) may ride along (the plan's identity of a VM is its vCenter and instance UUID, as
        P(predictive.mirroring.mirror_targets#filter) writes it); the VM is found by C(uuid) on the vCenter this module
        is connected to, and one whose C(vcenter) (host:port) names another vCenter fails alone, without stopping the
        others.
      - Namesakes (one name in two datacenters) are told apart by C(uuid); in the diff each is shown with its
        datacenter and UUID.
    type: list
    elements: dict
  secondary_datacenter:
    description: The datacenter mirrors live in.
    type: str
    required: true
  secondary_cluster:
    description: Cluster (or standalone host) for mirrors. Default, the datacenter's first.
    type: str
  secondary_resource_pool:
    description: Resource pool for mirrors, within the cluster.
    type: str
  secondary_datastore:
    description: Datastore for mirrors. Default, the datacenter's one with the most free space.
    type: str
  secondary_folder:
    description: VM folder for mirrors, as a path below the datacenter's VM folder.
    type: str
  secondary_network:
    description:
      - The network (port group) in the secondary datacenter the mirror's NICs are put on.
      - Default, the network of the same name as the primary's; a mirror is never put on a guessed network.
    type: str
  network_map:
    description:
      - Network mapping, primary port group to secondary port group (for example C(VM Network) to C(DR Network)), as
        recovery plans map networks. A NIC on a mapped port group goes to its target; other NICs to O(secondary_network), or
        to the port group of the same name. Every target is checked before anything changes.
    type: dict
  reip_rules:
    description:
      - Re-IP rules per subnet. A mirror's NICs get the secondary datacenter's addresses by guest customization
        (C(CustomizeVM_Task), Linux guests) before the mirror's first power-on, so it never answers on the primary's
        addresses; each address keeps its place in the subnet (10.1.0.11 in 10.1.0.0/24 becomes 10.2.0.11 in
        10.2.0.0/24). The addresses applied are recorded on the mirror (C(mirroring.addresses)); a mirror built before
        the rules, or under other ones, is powered off, customized and powered on again.
      - The primary's addresses are those VMware Tools reports (C(guest.net)), the first IPv4 address of each NIC. A
        VM with a NIC whose address is unknown or in no rule's subnet, or a Windows guest (Sysprep is not supported), is
        refused by name with nothing of it changed; the other VMs go on.
    type: list
    elements: dict
    suboptions:
      primary:
        description: The primary subnet (CIDR).
        type: str
        required: true
      secondary:
        description: The secondary subnet, the same size.
        type: str
        required: true
      gateway:
        description: The mirror's gateway, in the secondary subnet.
        type: str
      dns_servers:
        description: The mirror's DNS servers.
        type: list
        elements: str
      dns_domain:
        description: The mirror's DNS domain (also the Linux customization's domain; default C(localdomain)).
        type: str
  scope:
    description:
      - What to manage. V(snapshots), the scheduled snapshots and their retention; V(mirror), the mirror VM in the secondary
        datacenter; V(attributes), the C(mirroring.*) attributes on the primary. The C(snapshot) and C(standby) roles use one each.
    type: list
    elements: str
    choices: [snapshots, mirror, attributes]
    default: [snapshots, mirror, attributes]
  history_path:
    description:
      - Record every level change (VM, FPS, level before and after) in this history store (SQLite), where the post-failover
        analysis and reports read them. Unset (and no O(history_dsn)) records nothing. Nothing is recorded in check mode.
    type: path
  window:
    description:
      - How many VMs are worked on at once (their vCenter tasks in flight together); each VM's own steps stay in order
        and one VM's failure never stops the others. On a real vCenter a full clone takes minutes, so first-time
        protection of many VMs is about O(window) times faster than one at a time.
    type: int
    default: 4
  per_host:
    description: At most this many VMs of one ESXi host worked on at once (a clone reads from the primary's host).
    type: int
    default: 2
  per_datastore:
    description: At most this many clones into the mirrors' datastore at once.
    type: int
    default: 8
  mirror_suffix:
    description: A mirror is named after its primary with this suffix.
    type: str
    default: -mirror
  minimal_mirror:
    description: What deallocating a mirror means at the minimal level.
    type: str
    choices: [absent, poweredoff]
    default: absent
  standby_size_ratio:
    description: A partial mirror's share of the primary's vCPUs and memory.
    type: float
    default: 0.5
  snapshot_interval_hours:
    description: A new snapshot is taken when the newest is at least this old.
    type: float
    default: 6.0
  snapshot_retention:
    description: Snapshots kept per VM (the collection's own, named C(mirroring-*)).
    type: int
    default: 3
  snapshot_max_age_hours:
    description: Snapshots older than this are removed, except the newest.
    type: float
    default: 72.0
  image_rpo_seconds:
    description:
      - How old a mirror's image may be, per level (C(partial), C(full)), before it is rebuilt from a fresh snapshot.
      - Keys left out keep their default, 86400 (a day) at both levels. A refresh is a full clone of the VM's disks across
        sites; the data that changes by the minute is the data providers' (PostgreSQL, files), the image is the system
        around it. At least 60 s each. M(predictive.mirroring.mirror_plan) prices the refreshes.
      - A mirror with no C(mirroring.synced_at) (built before this option existed) has an unknown age and is refreshed.
    type: dict
notes:
  - Runs on the controller (delegate it to localhost, once per batch).
"""

EXAMPLES = r"""
- name: Hold one VM at partial
  predictive.mirroring.vm_mirror:
    uuid: "{{ vm_instance_uuid }}"
    name: web01
    level: partial
    secondary_datacenter: DC-West
    secondary_datastore: ds-west-01
  delegate_to: localhost

- name: A batch in one call (playbooks/reconcile.yml builds it from the inventory)
  predictive.mirroring.vm_mirror:
    vms:
      - {uuid: 5012c2a4-9d5c-4a37-a1f3-1a0c8a2f8e11, name: web01, level: full, fps: 78.2}
      - {uuid: 50127e0b-3f7c-4d1e-9a55-0c3b7f2d9a01, name: db01, level: partial, fps: 41.0}
      - {uuid: 5012f3d1-6b2a-4c8e-8f10-2d4e6a8c0b12, name: batch07, level: minimal, fps: 3.5}
    secondary_datacenter: DC-West
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
vms:
  description: Per primary, what was (or in check mode would be) done.
  returned: always
  type: list
  elements: dict
  sample:
    - name: web01
      level: partial
      changed: true
      actions: [snapshot, clone, attributes]
      uuid: 5012c2a4-9d5c-4a37-a1f3-1a0c8a2f8e11
      mirror: {name: web01-mirror, power_state: poweredOn, num_cpu: 1, memory_mb: 2048, role: standby,
               synced_at: "2026-12-04T10:00:00+00:00", age_seconds: 0.0}
      mirror_age_seconds: 0.0
      # with reip_rules, the mirror carries its addresses: mirror.addresses, comma-separated in NIC order
      image_rpo_seconds: 86400
failed_vms:
  description: Primaries that could not be brought to their level, with the reason.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import LEVELS
from ansible_collections.predictive.mirroring.plugins.module_utils.mirror import DEFAULT_PER_DATASTORE, DEFAULT_PER_HOST, DEFAULT_WINDOW, SCOPES, mirror_task
from ansible_collections.predictive.mirroring.plugins.module_utils.runner import run


def main():
    run(mirror_task, dict(
        name=dict(type="str"),
        uuid=dict(type="str"),
        level=dict(type="str", choices=list(LEVELS)),
        fps=dict(type="float"),
        below_since=dict(type="str"),
        vms=dict(type="list", elements="dict"),
        secondary_datacenter=dict(type="str", required=True),
        secondary_cluster=dict(type="str"),
        secondary_resource_pool=dict(type="str"),
        secondary_datastore=dict(type="str"),
        secondary_folder=dict(type="str"),
        secondary_network=dict(type="str"),
        network_map=dict(type="dict"),
        reip_rules=dict(type="list", elements="dict", options=dict(
            primary=dict(type="str", required=True), secondary=dict(type="str", required=True),
            gateway=dict(type="str"), dns_servers=dict(type="list", elements="str"), dns_domain=dict(type="str"))),
        scope=dict(type="list", elements="str", choices=list(SCOPES), default=list(SCOPES)),
        mirror_suffix=dict(type="str", default="-mirror"),
        minimal_mirror=dict(type="str", choices=["absent", "poweredoff"], default="absent"),
        standby_size_ratio=dict(type="float", default=0.5),
        snapshot_interval_hours=dict(type="float", default=6.0),
        snapshot_retention=dict(type="int", default=3),
        snapshot_max_age_hours=dict(type="float", default=72.0),
        image_rpo_seconds=dict(type="dict"),
        window=dict(type="int", default=DEFAULT_WINDOW),
        per_host=dict(type="int", default=DEFAULT_PER_HOST),
        per_datastore=dict(type="int", default=DEFAULT_PER_DATASTORE),
    ), shared=("vsphere", "history", "lease"), history_path=None,
        required_one_of=[("name", "uuid", "vms")], mutually_exclusive=[("name", "vms"), ("uuid", "vms")],
        required_by={"name": "level", "uuid": "level"})


if __name__ == "__main__":
    main()
