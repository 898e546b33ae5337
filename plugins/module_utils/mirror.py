# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Resource Mirror: hold each VM's mirror in the secondary datacenter at its level.

    minimal  snapshots on schedule with retention; mirror deallocated (destroyed, or powered off)
    partial  snapshots; mirror cloned from the latest snapshot, powered on at reduced size, role standby
    full     snapshots; mirror at the primary's size, powered on, role active (serving)

At partial and full a mirror's image is refreshed when it is older than its
recovery point objective (image_rpo_seconds): a new clone from a fresh
snapshot is built beside the old one (NICs disconnected, role refreshing),
verified (powered on, sized, marked), then swapped in - the old one's NICs
disconnected, the new one's connected, roles handed over (never two marked
serving), the old one removed only after the swap, the new one renamed. Each
step reads what is there first, so a run stopped anywhere is completed by the
next one and the old mirror stays in service until the swap.

State lives on the VMs: mirroring.level, mirroring.fps, mirroring.since and
mirroring.below_since on the primary; mirroring.primary (the primary's
instance UUID), mirroring.role and mirroring.synced_at (the moment its image
stands for) on the mirror. A clone also carries the
primary's UUID in its extraConfig from the moment it exists, so a mirror left
without its attribute by a dropped session is recognised and adopted on the
next run, never mistaken for someone else's VM, and never duplicated.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.predictive.mirroring.plugins.module_utils import reip, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import DuplicateName, MirroringError, VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_ADDRESSES, ATTR_BELOW_SINCE, ATTR_DRILL_OF, ATTR_FPS, ATTR_LEVEL, ATTR_PRIMARY, ATTR_ROLE, ATTR_SINCE, ATTR_SYNCED_AT,
    CLOCK_SKEW_SECONDS, FULL, LEVELS, MARKER_KEY, MARKER_SYNCED_KEY, MINIMAL)
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store
from ansible_collections.predictive.mirroring.plugins.module_utils.lease import Writer
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import image_rpos, parse_time
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.faults import translated
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.placement import (
    Placement, clone_spec, customization_spec, guest_hostname, relocate_spec, set_nics_connected, size_spec)

SNAPSHOT_PREFIX = "mirroring-"
SCOPES = ("snapshots", "mirror", "attributes")
# a refresh in progress: the new image being readied, the old one on its way out (neither is a serving mirror)
ROLE_REFRESHING = "refreshing"
ROLE_RETIRED = "retired"
REFRESH_SUFFIX = ".refresh"
# what re-IP reads of each VM: the NICs' addresses as VMware Tools reports them, the guest's host name and OS
GUEST_PROPERTIES = ["guest.net", "guest.hostName", "config.guestId"]
# the image time of a mirror whose image time is unknown: older than any RPO
EPOCH = "1970-01-01T00:00:00+00:00"


class NotAPrimary(VSphereError):
    """A VM asked to be mirrored is itself a mirror or a drill's copy."""


def image_age(mirror, now):
    """Seconds since the moment a mirror's image stands for; None (unknown) when it carries no mirroring.synced_at, or
    one further in the future than the clocks of vCenter and this controller can disagree (a wrong clock or a hand
    edit must not pass for a fresh image)."""
    synced = parse_time(mirror["attributes"].get(ATTR_SYNCED_AT))
    if synced is None:
        return None
    age = (now - synced).total_seconds()
    if age < -CLOCK_SKEW_SECONDS:
        return None
    return max(0.0, round(age, 1))


class Options:
    def __init__(self, secondary_datacenter, secondary_cluster=None, secondary_resource_pool=None,
                 secondary_datastore=None, secondary_folder=None, secondary_network=None, mirror_suffix="-mirror",
                 minimal_mirror="absent",
                 standby_size_ratio=0.5, snapshot_interval_hours=6.0, snapshot_retention=3, snapshot_max_age_hours=72.0,
                 image_rpo_seconds=None, network_map=None, reip_rules=None):
        self.secondary_datacenter = secondary_datacenter
        self.secondary_cluster = secondary_cluster
        self.secondary_resource_pool = secondary_resource_pool
        self.secondary_datastore = secondary_datastore
        self.secondary_folder = secondary_folder
        self.secondary_network = secondary_network
        self.mirror_suffix = mirror_suffix
        self.minimal_mirror = minimal_mirror
        self.standby_size_ratio = standby_size_ratio
        self.snapshot_interval = datetime.timedelta(hours=snapshot_interval_hours)
        self.snapshot_retention = snapshot_retention
        self.snapshot_max_age = datetime.timedelta(hours=snapshot_max_age_hours)
        self.image_rpo = image_rpos(image_rpo_seconds)
        self.network_map = reip.parse_network_map(network_map)
        self.reip = reip.parse_rules(reip_rules)
        if minimal_mirror not in ("absent", "poweredoff"):
            raise MirroringError("minimal_mirror must be absent or poweredoff, got %r" % minimal_mirror)
        if not 0.0 < standby_size_ratio <= 1.0:
            raise MirroringError("standby_size_ratio must be within (0, 1], got %s" % standby_size_ratio)
        if snapshot_retention < 1:
            raise MirroringError("snapshot_retention must be >= 1, got %s" % snapshot_retention)


def standby_size(num_cpu, memory_mb, ratio):
    """A warm standby's vCPUs and memory (MB, a multiple of 4, at least 512)."""
    cpu = max(1, int(math.ceil(num_cpu * ratio)))
    mem = max(512, int(memory_mb * ratio) // 4 * 4)
    return cpu, min(mem, memory_mb)


def marker_of(vm_ref):
    """The primary UUID a clone of ours carries in its extraConfig from its first moment (None if it has none)."""
    return extra_config(vm_ref, MARKER_KEY)


def extra_config(vm_ref, key):
    """The value of one extraConfig key of a VM, or None."""
    for opt in vm_ref.config.extraConfig or []:
        if opt.key == key:
            return opt.value
    return None


def mirrors_by_primary(vms, refreshing=False):
    """{primary instance UUID: [mirror rows]}: a mirror is found by its mirroring.primary attribute, never by name.

    The copies of an image refresh in progress (role refreshing or retired)
    are not mirrors to serve from: refreshing=True gives those instead.
    """
    out = {}
    for vm in vms:
        uuid = vm["attributes"].get(ATTR_PRIMARY)
        in_refresh = vm["attributes"].get(ATTR_ROLE) in (ROLE_REFRESHING, ROLE_RETIRED)
        if uuid and in_refresh == refreshing:
            out.setdefault(uuid, []).append(vm)
    return out


def keep_order(mirror):
    """Which of several mirrors of one primary to keep: the one serving, then powered on, then the oldest (lowest moid)."""
    role = mirror["attributes"].get(ATTR_ROLE)
    number = mirror["moid"].rsplit("-", 1)[-1]
    return (role not in ("active", "standby"), mirror["power_state"] != "poweredOn",
            int(number) if number.isdigit() else 0, mirror["moid"])


class Mirrorer:
    """Plans and applies the levels of a batch of primaries, on one session."""

    def __init__(self, vs, opts, now=None):
        self.vs = vs
        self.opts = opts
        self.now = now or vsphere.now()
        self.placement = Placement(vs, opts)
        self.all_vms = vs.virtual_machines()
        self.mirrors = mirrors_by_primary(self.all_vms)
        self._named = collections.Counter(vm["name"] for vm in self.all_vms if not vm["attributes"].get(ATTR_PRIMARY))
        self.refreshing = mirrors_by_primary(self.all_vms, refreshing=True)
        # every VM's snapshot tree in one PropertyCollector call (an unset tree is simply absent)
        self._trees = {row["moid"]: row.get("snapshot") for row in vs.retrieve("VirtualMachine", ["snapshot"])}
        self._snapshots = {}
        self._taken = {}
        # re-IP: each VM's NICs as VMware Tools reports them, its host name and guest OS, in one call (only when asked)
        self._guests = {row["moid"]: row for row in vs.retrieve("VirtualMachine", GUEST_PROPERTIES)} if opts.reip else {}
        self._nics = {}

    def primary(self, uuid=None, name=None):
        """The primary by its instance UUID (a unique name only when no UUID is given); never one in the secondary DC."""
        vm = vsphere.resolve_vm(self.all_vms, uuid=uuid, name=name, where="vCenter %s" % self.vs.name)
        if vm["attributes"].get(ATTR_PRIMARY) or vm["attributes"].get(ATTR_DRILL_OF):
            raise NotAPrimary("VM '%s' (%s) is a mirror or a drill copy, not a primary" % (vm["name"], vm["instance_uuid"]))
        if vm["datacenter_moid"] == self.placement.datacenter._moId:  # pylint: disable=protected-access
            raise VSphereError("VM '%s' (%s) is in datacenter '%s', the secondary datacenter: a primary is never mirrored "
                               "into its own datacenter (check the inventory's datacenters option)"
                               % (vm["name"], vm["instance_uuid"], vm["datacenter"]))
        return vm

    # -- observation --------------------------------------------------------------
    def snapshots(self, vm):
        """Our snapshots of a VM, oldest first: [(created, name, ref)]."""
        if vm["moid"] not in self._snapshots:
            out = []
            info = self._trees.get(vm["moid"])
            stack = list(info.rootSnapshotList) if info else []
            while stack:
                node = stack.pop()
                if node.name.startswith(SNAPSHOT_PREFIX):
                    out.append((node.createTime, node.name, node.snapshot))
                stack.extend(node.childSnapshotList or [])
            self._snapshots[vm["moid"]] = sorted(out, key=lambda s: s[0])
        return self._snapshots[vm["moid"]]

    def mirror_nics(self, primary):
        """The mirror's NIC settings under the re-IP rules (reip.mirror_nics), None without rules. Refused for a VM
        whose addresses the rules do not cover, for a Windows guest (its customization needs a Sysprep identity, with
        credentials this collection does not take), and for a VM without a mirror whose addresses vCenter does not
        know. A primary that is down reports no address: its existing mirror keeps the addresses it has (None when it
        was never re-IP'd), so a failover is never stopped for it."""
        if not self.opts.reip:
            return None
        if primary["moid"] not in self._nics:
            guest = self._guests.get(primary["moid"]) or {}
            if str(guest.get("config.guestId") or "").lower().startswith("win"):
                raise VSphereError("%s is a Windows guest: its mirror cannot be re-IP'd by this collection (Sysprep "
                                   "customization needs the guest's administrator credentials, which it does not "
                                   "take); re-IP it in a failover hook" % primary["name"])
            nets = sorted((n for n in guest.get("guest.net") or [] if (n.deviceConfigId or -1) >= 0),
                          key=lambda n: n.deviceConfigId)
            try:
                nics = reip.mirror_nics(self.opts.reip, [list(n.ipAddress or []) for n in nets], primary["name"])
            except reip.AddressUnknown:
                mirror = self.mirror_of(primary)[0]
                if mirror is None:
                    raise
                kept = mirror["attributes"].get(ATTR_ADDRESSES)
                nics = reip.kept_nics(self.opts.reip, kept, primary["name"]) if kept else None
            self._nics[primary["moid"]] = nics
        return self._nics[primary["moid"]]

    def _customize(self, ref, primary, nics, name):
        """Give a powered-off mirror its re-IP'd addresses (applied by the guest at its next power-on) and record them."""
        hostname = guest_hostname((self._guests.get(primary["moid"]) or {}).get("guest.hostName"), primary["name"])
        self._wait(ref.CustomizeVM_Task(spec=customization_spec(nics, hostname)),
                   "re-IP %s (%s)" % (name, reip.addresses_text(nics)))
        self.vs.set_attribute(ref, ATTR_ADDRESSES, reip.addresses_text(nics))

    def mirror_name(self, primary):
        """The name a new mirror of `primary` gets: its name and the suffix; a namesake's (one name in two
        datacenters) carries its datacenter too, so the two mirrors never clash. A mirror is found by its marker,
        never by this name."""
        if self._named[primary["name"]] > 1:
            return "%s-%s%s" % (primary["name"], primary["datacenter"], self.opts.mirror_suffix)
        return primary["name"] + self.opts.mirror_suffix

    def mirror_of(self, primary):
        """(mirror row, "adopt" or None, [duplicates to remove], [duplicates left alone]).

        A mirror carries the primary's UUID in mirroring.primary. A clone whose
        session dropped before that attribute was written is recognised by the
        marker in its extraConfig and adopted. Of several mirrors of one
        primary (two runs at once, before the lease) one is kept; the others
        are removed only when they carry our marker.
        """
        found = sorted(self.mirrors.get(primary["instance_uuid"]) or [], key=keep_order)
        if found:
            extra, foreign = [], []
            for m in found[1:]:
                (extra if marker_of(m["_ref"]) == primary["instance_uuid"] else foreign).append(m)
            return found[0], None, extra, foreign
        name = self.mirror_name(primary)
        candidates = [vm for vm in self.all_vms if vm["name"] == name
                      and vm["datacenter_moid"] == self.placement.datacenter._moId]  # pylint: disable=protected-access
        ours = [vm for vm in candidates if marker_of(vm["_ref"]) == primary["instance_uuid"]]
        if ours:
            return ours[0], "adopt", ours[1:], []
        if candidates:
            raise VSphereError("A VM named '%s' exists in datacenter '%s' and is not a mirror of %s (%s): rename it or "
                               "set mirror_suffix" % (name, self.opts.secondary_datacenter, primary["name"],
                                                      primary["instance_uuid"]))
        return None, None, [], []

    def refresh_of(self, primary):
        """(the new image of a refresh stopped half-way or None, [old images retired and not removed yet]).

        A refresh's new clone is named <mirror name>.refresh and carries the
        primary's marker from its first moment, then role refreshing; the old
        mirror is role retired between the swap of roles and its removal.
        """
        uuid = primary["instance_uuid"]
        rows = self.refreshing.get(uuid) or []
        pending = [m for m in rows if m["attributes"].get(ATTR_ROLE) == ROLE_REFRESHING and marker_of(m["_ref"]) == uuid]
        retired = [m for m in rows if m["attributes"].get(ATTR_ROLE) == ROLE_RETIRED]
        name = self.mirror_name(primary) + REFRESH_SUFFIX
        seen = {m["moid"] for m in rows}
        pending += [vm for vm in self.all_vms if vm["name"] == name and vm["moid"] not in seen
                    and not vm["attributes"].get(ATTR_PRIMARY)
                    and vm["datacenter_moid"] == self.placement.datacenter._moId  # pylint: disable=protected-access
                    and marker_of(vm["_ref"]) == uuid]
        # of two half-made new images (two runs stopped at once) the youngest image serves; the other goes
        ages = {m["moid"]: image_age(m, self.now) for m in pending}
        pending.sort(key=lambda m: float("inf") if ages[m["moid"]] is None else ages[m["moid"]])
        return (pending[0] if pending else None), retired + pending[1:]

    def state(self, primary):
        mirror, adopt, extra, foreign = self.mirror_of(primary)
        pending, retired = self.refresh_of(primary)
        snaps = self.snapshots(primary)
        return {
            "level": primary["attributes"].get(ATTR_LEVEL) or None,
            "below_since": primary["attributes"].get(ATTR_BELOW_SINCE) or None,
            "snapshots": len(snaps),
            "newest_snapshot": snaps[-1][0].isoformat() if snaps else None,
            "mirror": None if mirror is None else {
                "name": mirror["name"], "power_state": mirror["power_state"], "num_cpu": mirror["num_cpu"],
                "memory_mb": mirror["memory_mb"], "role": mirror["attributes"].get(ATTR_ROLE),
                "datacenter": mirror["datacenter"], "adopted": adopt == "adopt",
                "synced_at": mirror["attributes"].get(ATTR_SYNCED_AT) or None,
                "age_seconds": image_age(mirror, self.now),
                **({"addresses": mirror["attributes"].get(ATTR_ADDRESSES) or None} if self.opts.reip else {})},
            "refresh": None if pending is None and not retired else {
                "new_image": None if pending is None else pending["name"] + " (" + pending["moid"] + ")",
                "retired": [m["name"] + " (" + m["moid"] + ")" for m in retired]},
            "duplicates": [m["name"] + " (" + m["moid"] + ")" for m in extra],
            "foreign_duplicates": [m["name"] + " (" + m["moid"] + ")" for m in foreign],
        }

    # -- planning -----------------------------------------------------------------
    def plan(self, primary, level, fps=None, below_since=None, scope=SCOPES, image_rpo=None, floor=False):
        """(actions, before, after) to bring one primary to `level`, for the parts in `scope`.

        image_rpo (seconds) overrides the level's image RPO for this VM. floor: the plan holds the VM above the level
        its own FPS and hysteresis give (an application or a dependency): its hysteresis record (below_since) is left
        as it is, or the floor and the hysteresis would rewrite it every other run.
        """
        if level not in LEVELS:
            raise VSphereError("level must be one of %s, got %r" % (", ".join(LEVELS), level))
        if image_rpo is not None and (not isinstance(image_rpo, int) or isinstance(image_rpo, bool) or image_rpo < 60):
            raise VSphereError("image_rpo_seconds of %s must be a whole number of seconds >= 60, got %r"
                               % (primary["name"], image_rpo))
        if level != MINIMAL:
            self.mirror_nics(primary)  # re-IP refused before anything of this VM changes
        before = self.state(primary)
        rpo = image_rpo or self.opts.image_rpo.get(level)
        if floor:
            below_since = before["below_since"]
        actions = self._plan(primary, level, fps, below_since, before, rpo)
        parts = {"snapshot": "snapshots", "remove_snapshot": "snapshots", "attributes": "attributes"}
        actions = [a for a in actions if parts.get(a[0], "mirror") in scope]
        after = self._predict(before, level, actions, primary)
        if "mirror" not in scope:
            after["mirror"] = before["mirror"]
        if "attributes" not in scope:
            after["level"] = before["level"]
        return actions, before, after

    def _target(self, primary, level):
        """(vCPUs, memory MB, role) of a partial or full mirror."""
        if level == FULL:
            return primary["num_cpu"], primary["memory_mb"], "active"
        return standby_size(primary["num_cpu"], primary["memory_mb"], self.opts.standby_size_ratio) + ("standby",)

    def _image_plan(self, primary, level, rpo, mirror):
        """What the mirror's image needs: (actions, needs a fresh snapshot)."""
        pending, retired = self.refresh_of(primary)
        if level == MINIMAL:  # a refresh stopped half-way is undone with the mirror
            return [("destroy", m) for m in ([pending] if pending else []) + retired], False
        cpu, mem, role = self._target(primary, level)
        actions = []
        if pending is not None:
            age = image_age(pending, self.now)
            if age is not None and age <= rpo and pending["_ref"].runtime.powerState == "poweredOn":
                # a refresh stopped between "new image built" and the swap: the next run completes the swap
                actions.append(("swap", (mirror, pending, cpu, mem, role)))
                return actions + [("destroy", m) for m in retired], False
            if mirror is not None:  # too old or never finished: built again below, the old mirror still serving
                retired = retired + [pending]
                pending = None
            else:  # the old image is already retired: this one serves, and is refreshed on the next run if stale
                actions.append(("swap", (None, pending, cpu, mem, role)))
                return actions + [("destroy", m) for m in retired], False
        actions += [("destroy", m) for m in retired]
        if mirror is None:
            return actions + [("clone", (cpu, mem, role))], True
        age = image_age(mirror, self.now)
        if age is None or age > rpo:
            return actions + [("refresh", (mirror, cpu, mem, role))], True
        if (mirror["num_cpu"], mirror["memory_mb"]) != (cpu, mem):
            actions.append(("resize", (mirror, cpu, mem)))
        nics = self.mirror_nics(primary)
        readdress = nics is not None and mirror["attributes"].get(ATTR_ADDRESSES) != reip.addresses_text(nics)
        if readdress:  # a mirror built before the rules, or under other ones: powered off, customized, powered on
            actions.append(("reip", (mirror, nics)))
        if mirror["power_state"] != "poweredOn" or (mirror["num_cpu"], mirror["memory_mb"]) != (cpu, mem) or readdress:
            actions.append(("power_on", mirror))
        if mirror["attributes"].get(ATTR_ROLE) != role:
            actions.append(("role", (mirror, role)))
        expected = self.mirror_name(primary)
        doomed = {a[1]["moid"] for a in actions if a[0] == "destroy"}  # removed before the rename, in this run
        if mirror["name"] == expected + REFRESH_SUFFIX and not any(
                vm["name"] == expected and vm["datacenter_moid"] == mirror["datacenter_moid"] and vm["moid"] not in doomed
                for vm in self.all_vms):
            actions.append(("rename", (mirror, expected)))  # a refresh stopped before or while the old image went
        return actions, False

    def _plan(self, primary, level, fps, below_since, before, rpo):
        actions = []
        snaps = self.snapshots(primary)
        fresh = (self.now, None, None)  # the snapshot this run takes, if due
        mirror, adopt, extra, _foreign = self.mirror_of(primary)
        image_actions, needs_snapshot = self._image_plan(primary, level, rpo, mirror)
        due = not snaps or self.now - snaps[-1][0] >= self.opts.snapshot_interval
        # a new image is cloned from a snapshot young enough that the mirror is not stale soon after
        due = due or (needs_snapshot and (self.now - snaps[-1][0]).total_seconds() > min(rpo / 4.0, 3600))
        if due:
            actions.append(("snapshot", None))
        # retention: the newest `snapshot_retention`, less those past the max age; the newest always stays
        keep = (snaps + [fresh] if due else snaps)[-self.opts.snapshot_retention:]
        keep = [s for s in keep[:-1] if self.now - s[0] <= self.opts.snapshot_max_age] + keep[-1:]
        actions += [("remove_snapshot", s) for s in snaps if s not in keep]
        actions += [("remove_duplicate", m) for m in extra]
        if adopt:
            actions.append(("adopt", mirror))
        if level == MINIMAL and mirror is not None:
            if self.opts.minimal_mirror == "absent":
                actions.append(("destroy", mirror))
            else:
                if mirror["power_state"] != "poweredOff":
                    actions.append(("power_off", mirror))
                if mirror["attributes"].get(ATTR_ROLE) != "deallocated":
                    actions.append(("role", (mirror, "deallocated")))
        actions += image_actions
        attrs = {}
        if before["level"] != level:
            attrs[ATTR_LEVEL] = level
            attrs[ATTR_SINCE] = self.now.replace(microsecond=0).isoformat()
            if fps is not None:
                attrs[ATTR_FPS] = "%.1f" % fps
        if (below_since or None) != before["below_since"]:
            attrs[ATTR_BELOW_SINCE] = below_since or ""
        if attrs:
            actions.append(("attributes", attrs))
        return actions

    def _predict(self, before, level, actions, primary):
        after = dict(before, level=level, duplicates=[])
        kinds = [a[0] for a in actions]
        removed = kinds.count("remove_snapshot")
        after["snapshots"] = before["snapshots"] + kinds.count("snapshot") - removed
        if "snapshot" in kinds:
            after["newest_snapshot"] = self.now.replace(microsecond=0).isoformat()
        if level == MINIMAL:
            if before["mirror"] is not None:
                after["mirror"] = None if self.opts.minimal_mirror == "absent" else dict(
                    before["mirror"], power_state="poweredOff", role="deallocated", adopted=False)
        else:
            cpu, mem, role = self._target(primary, level)
            m = before["mirror"] or {}
            image = next((a for a in actions if a[0] in ("clone", "refresh", "swap")), None)
            synced, age = m.get("synced_at"), m.get("age_seconds")
            if image is not None and image[0] == "swap":
                synced = image[1][1]["attributes"].get(ATTR_SYNCED_AT)
                age = image_age(image[1][1], self.now)
            elif image is not None:
                synced, age = "(this run)", 0.0
            renamed = image is not None or any(a[0] == "rename" for a in actions) or not m
            after["mirror"] = {"name": self.mirror_name(primary) if renamed else m["name"],
                               "power_state": "poweredOn", "num_cpu": cpu, "memory_mb": mem,
                               "role": role,
                               "datacenter": self.opts.secondary_datacenter, "adopted": False,
                               "synced_at": synced, "age_seconds": age}
            if self.opts.reip:
                nics = self.mirror_nics(primary)
                after["mirror"]["addresses"] = reip.addresses_text(nics) if nics else m.get("addresses")
        after["refresh"] = None
        attrs = next((a[1] for a in actions if a[0] == "attributes"), {})
        if ATTR_BELOW_SINCE in attrs:
            after["below_since"] = attrs[ATTR_BELOW_SINCE] or None
        return after

    # -- applying -------------------------------------------------------------------
    def apply(self, primary, actions):
        """Carry out a plan's actions in order; a failed clone leaves no half-made mirror behind."""
        for kind, arg in actions:
            # a fault of the call itself, not of its task
            with translated("%s %s in vCenter %s" % (kind.replace("_", " "), primary["name"], self.vs.name)):
                self._apply_one(primary, kind, arg)

    def _apply_one(self, primary, kind, arg):
        if kind == "snapshot":
            name = SNAPSHOT_PREFIX + self.now.strftime("%Y%m%dT%H%M%SZ")
            self._taken[primary["moid"]] = self._wait(
                primary["_ref"].CreateSnapshot_Task(name=name, description="predictive.mirroring", memory=False,
                                                    quiesce=False), "snapshot %s" % primary["name"])
        elif kind == "remove_snapshot":
            self._wait(arg[2].RemoveSnapshot_Task(removeChildren=False), "remove snapshot %s of %s" % (arg[1], primary["name"]))
        elif kind == "adopt":
            self.vs.set_attribute(arg["_ref"], ATTR_PRIMARY, primary["instance_uuid"])
        elif kind in ("destroy", "remove_duplicate"):
            self.destroy(arg["_ref"], "%s (%s)" % (arg["name"], arg["moid"]))
        elif kind == "power_off":
            self._wait(arg["_ref"].PowerOffVM_Task(), "power off %s" % arg["name"])
        elif kind == "clone":
            self._clone(primary, *arg)
        elif kind == "refresh":
            old, cpu, mem, role = arg
            new = self._clone(primary, cpu, mem, role, refresh=True)
            self._swap(primary, old, new, cpu, mem, role)
        elif kind == "swap":
            old, pending, cpu, mem, role = arg
            self._swap(primary, old, pending["_ref"], cpu, mem, role)
        elif kind == "rename":
            self._wait(arg[0]["_ref"].Rename_Task(newName=arg[1]), "rename %s to %s" % (arg[0]["name"], arg[1]))
        elif kind == "resize":
            mirror, cpu, mem = arg
            if mirror["_ref"].runtime.powerState == "poweredOn":
                self._wait(mirror["_ref"].PowerOffVM_Task(), "power off %s" % mirror["name"])
            self._wait(mirror["_ref"].ReconfigVM_Task(spec=size_spec(cpu, mem)),
                       "resize %s" % mirror["name"])
        elif kind == "reip":
            mirror, nics = arg
            if mirror["_ref"].runtime.powerState == "poweredOn":
                self._wait(mirror["_ref"].PowerOffVM_Task(), "power off %s" % mirror["name"])
            self._customize(mirror["_ref"], primary, nics, mirror["name"])
        elif kind == "power_on":
            if arg["_ref"].runtime.powerState != "poweredOn":
                self._wait(arg["_ref"].PowerOnVM_Task(), "power on %s" % arg["name"])
        elif kind == "role":
            self.vs.set_attribute(arg[0]["_ref"], ATTR_ROLE, arg[1])
        elif kind == "attributes":
            for name, value in arg.items():
                self.vs.set_attribute(primary["_ref"], name, value)

    def destroy(self, ref, what):
        """Power off (if on) and destroy one VM, by its reference: never one found by name."""
        if ref.runtime.powerState == "poweredOn":
            self._wait(ref.PowerOffVM_Task(), "power off %s" % what)
        self._wait(ref.Destroy_Task(), "remove %s" % what)

    def _clone(self, primary, cpu, mem, role, refresh=False):
        """Clone a mirror from the primary's newest snapshot; returns the clone.

        A refresh's clone is named <mirror name>.refresh, its NICs
        disconnected, role refreshing and without mirroring.primary until the
        swap: never a second serving mirror, never a second VM on the
        mirror's addresses.
        """
        name = self.mirror_name(primary) + (REFRESH_SUFFIX if refresh else "")
        p = self.placement
        snaps = self.snapshots(primary)
        latest = self._taken.get(primary["moid"]) or (snaps[-1][2] if snaps else None)
        # the moment the image stands for: the snapshot's, or now for a clone of the running VM
        synced = self.now if primary["moid"] in self._taken or not snaps else snaps[-1][0]
        stamp = synced.astimezone(datetime.timezone.utc).replace(microsecond=0).isoformat()
        spec = clone_spec(p, primary["_ref"], p.pick_host(), nic_connected=False if refresh else None,
                          marker=primary["instance_uuid"], snapshot=latest, synced=stamp)
        what = "clone %s into datacenter '%s'" % (primary["name"], self.opts.secondary_datacenter)
        try:
            with translated(what):
                task = primary["_ref"].CloneVM_Task(folder=p.folder, name=name, spec=spec)
            # a failed clone task leaves nothing of ours behind: vCenter removes what it made. Only the VM this task
            # created (or one adopted below) is ever cleaned up, by its reference - never a VM found by name alone.
            clone = self._wait(task, what)
        except DuplicateName:
            # the clone task of a run that died went on in vCenter and finished after this run read it: that VM is
            # ours (it carries the primary's marker from its first moment), so it is finished here, not cloned twice
            clone = self._orphaned_clone(primary, name)
            if clone is None:
                raise VSphereError("Failed to %s: a VM named '%s' already exists in that folder (another run, or a "
                                   "stranger): nothing was removed; the next run adopts it if it carries the marker "
                                   "of %s" % (what, name, primary["instance_uuid"])) from None
            # its image is as old as the dead run's clone, not this run's: the time it carries, else unknown (the
            # epoch: past every image RPO, so the preflight refuses to fail over to it and a refresh replaces it)
            stamp = extra_config(clone, MARKER_SYNCED_KEY) or EPOCH
        try:
            if refresh:
                self.vs.set_attribute(clone, ATTR_ROLE, ROLE_REFRESHING)
            else:
                self.vs.set_attribute(clone, ATTR_PRIMARY, primary["instance_uuid"])
            self.vs.set_attribute(clone, ATTR_SYNCED_AT, stamp)
            if clone.runtime.host not in p.hosts:  # observed placement, not assumed
                self._wait(clone.RelocateVM_Task(spec=relocate_spec(p.pick_host(), p.pool)),
                           "place %s in cluster '%s'" % (name, p.cluster.name))
            self._wait(clone.ReconfigVM_Task(spec=size_spec(cpu, mem)), "size %s" % name)
            nics = self.mirror_nics(primary)
            if nics is not None:  # before its first power-on: the mirror never answers on the primary's addresses
                self._customize(clone, primary, nics, name)
            self._wait(clone.PowerOnVM_Task(), "power on %s" % name)
            if not refresh:
                self.vs.set_attribute(clone, ATTR_ROLE, role)
        except VSphereError as e:
            try:
                self.destroy(clone, "half-made %s" % name)
            except VSphereError as cleanup:
                raise VSphereError("%s; the half-made mirror %s (%s) could NOT be removed (%s): it carries the marker "
                                   "%s and the next run adopts it" % (e, name, clone._moId, cleanup,  # pylint: disable=protected-access
                                                                      MARKER_KEY)) from None
            raise VSphereError("%s; the half-made mirror %s (%s) was removed" % (e, name, clone._moId)) from None  # pylint: disable=protected-access
        return clone

    def _orphaned_clone(self, primary, name):
        """The VM called `name` in the mirrors' folder that carries `primary`'s marker and nothing else of ours yet
        (no mirroring attributes: a clone whose run died before it got them), powered off for the steps that follow;
        None when there is no such VM. vCenter holds a name from the moment a clone task for it starts: while no VM
        of that name is to be seen yet (the dead run's clone is still being made), it waits up to ORPHAN_WAIT seconds
        for it to appear."""
        fields = self.vs.field_names()
        until = time.monotonic() + ORPHAN_WAIT
        while True:
            rows = [row for row in self.vs.retrieve("VirtualMachine", ["name", "customValue"], root=self.placement.folder)
                    if row.get("name") == name]
            if rows or time.monotonic() > until:
                break
            time.sleep(1.0)
        for row in rows:
            if marker_of(row["_ref"]) != primary["instance_uuid"]:
                continue
            if any(fields.get(cv.key) in (ATTR_PRIMARY, ATTR_ROLE) and getattr(cv, "value", "")
                   for cv in row.get("customValue") or []):
                return None  # another run's finished mirror: never taken over here
            ref = row["_ref"]
            if ref.runtime.powerState == "poweredOn":
                self._wait(ref.PowerOffVM_Task(), "power off %s" % name)
            return ref
        return None

    def _swap(self, primary, old, new, cpu, mem, role):
        """Put a verified new image in the old mirror's place; each step is skipped when it is already done.

        Order: the new image is verified (ours, powered on, sized) and linked
        to the primary; the old mirror's NICs are disconnected and the new
        one's connected; the old mirror is marked retired and then the new one
        serving (never two serving); the old one is removed; the new one takes
        the mirror's name. A fault before the NICs move leaves the old mirror
        serving and the new image waiting for the next run's swap.
        """
        uuid = primary["instance_uuid"]
        name = self.mirror_name(primary)
        what = "refresh of %s's mirror" % primary["name"]
        if marker_of(new) != uuid:
            raise VSphereError("%s: the new image %s does not carry the marker of %s: not swapped in, the old mirror "
                               "stays" % (what, new.name, uuid))
        hw = new.config.hardware
        if (hw.numCPU, hw.memoryMB) != (cpu, mem):
            if new.runtime.powerState == "poweredOn":
                self._wait(new.PowerOffVM_Task(), "power off %s" % new.name)
            self._wait(new.ReconfigVM_Task(spec=size_spec(cpu, mem)), "size %s" % new.name)
        if new.runtime.powerState != "poweredOn":
            self._wait(new.PowerOnVM_Task(), "power on %s" % new.name)
        if (new.config.hardware.numCPU, new.config.hardware.memoryMB) != (cpu, mem) or \
                new.runtime.powerState != "poweredOn":
            raise VSphereError("%s: the new image %s is not powered on at %d vCPU / %d MB: not swapped in, the old "
                               "mirror stays" % (what, new.name, cpu, mem))
        self.vs.set_attribute(new, ATTR_PRIMARY, uuid)
        if old is not None:
            set_nics_connected(self.vs, old["_ref"], False, "%s: disconnect the old mirror %s" % (what, old["name"]))
        set_nics_connected(self.vs, new, True, "%s: connect the new image %s" % (what, new.name))
        if old is not None:
            self.vs.set_attribute(old["_ref"], ATTR_ROLE, ROLE_RETIRED)
        self.vs.set_attribute(new, ATTR_ROLE, role)
        if old is not None:
            self.destroy(old["_ref"], "the old image %s (%s) of %s" % (old["name"], old["moid"], primary["name"]))
        if new.name != name:
            self._wait(new.Rename_Task(newName=name), "rename %s to %s" % (new.name, name))

    def _wait(self, task, what):
        return self.vs.wait_task(task, what)


# vCenter runs many provisioning tasks at once, within per-host and per-datastore limits: so does the window
DEFAULT_WINDOW = 4
DEFAULT_PER_HOST = 2
DEFAULT_PER_DATASTORE = 8
# how long a clone waits for a dead run's clone task that holds its mirror's name to finish (a real clone takes minutes)
ORPHAN_WAIT = 1800


def apply_window(mirrorer, jobs, window=DEFAULT_WINDOW, per_host=DEFAULT_PER_HOST, per_datastore=DEFAULT_PER_DATASTORE,
                 before_each=None):
    """Apply many VMs' plans with at most `window` VMs being worked on at once.

    jobs: [(primary row, actions)]. Each VM's steps stay in order (one worker
    carries them out); a VM waits for a slot on its primary's ESXi host (the
    clone reads from it) and, when it clones, on the mirrors' datastore. One
    VM's failure never stops the others. before_each() runs (serialised) as
    each VM starts: the lease's renewal. Returns [(error message or None,
    seconds)] in the order of jobs.
    """
    for name, value in (("window", window), ("per_host", per_host), ("per_datastore", per_datastore)):
        if not isinstance(value, int) or value < 1:
            raise MirroringError("%s must be a whole number >= 1, got %r" % (name, value))
    guard = threading.Lock()
    host_slots, store_slots = {}, {}

    def slot(table, key, size):
        with guard:
            if key not in table:
                table[key] = threading.BoundedSemaphore(size)
            return table[key]

    store = mirrorer.placement.datastore._moId  # pylint: disable=protected-access

    def work(job):
        primary, actions = job
        started = time.monotonic()
        host = slot(host_slots, primary.get("host_moid") or primary["moid"], per_host)
        clones = any(a[0] == "clone" for a in actions)
        datastore = slot(store_slots, store, per_datastore) if clones else None
        with host:
            if datastore is not None:
                datastore.acquire()
            try:
                if before_each is not None:
                    with guard:
                        before_each()
                mirrorer.apply(primary, actions)
            except MirroringError as e:
                return str(e), round(time.monotonic() - started, 3)
            finally:
                if datastore is not None:
                    datastore.release()
        return None, round(time.monotonic() - started, 3)

    if not jobs:
        return []
    with ThreadPoolExecutor(max_workers=min(window, len(jobs))) as pool:
        return list(pool.map(work, jobs))


OPTION_NAMES = ("secondary_datacenter", "secondary_cluster", "secondary_resource_pool", "secondary_datastore",
                "secondary_folder", "secondary_network", "mirror_suffix", "minimal_mirror", "standby_size_ratio",
                "snapshot_interval_hours", "snapshot_retention", "snapshot_max_age_hours", "image_rpo_seconds",
                "network_map", "reip_rules")
# vcenter: the plan's identity (vCenter, uuid); this module acts on the vCenter it is connected to, by uuid, and
# refuses (for that VM alone) one that names another vCenter.
# level_current rides along from the plan's input; the level held now is read from vCenter itself.
TARGET_KEYS = ("uuid", "vcenter", "name", "level", "level_current", "fps", "below_since", "depends_on", "num_cpu",
               "memory_mb", "image_rpo_seconds", "app", "floor")


def targets(p):
    """The VMs a vm_mirror call is about: one (name/uuid and level) or a list; refused whole on a bad or repeated
    entry, before anything is read."""
    if p.get("name") or p.get("uuid"):
        return [{"uuid": p.get("uuid"), "name": p.get("name"), "level": p["level"], "fps": p.get("fps"),
                 "below_since": p.get("below_since")}]
    out = []
    for i, vm in enumerate(p.get("vms") or []):
        if not isinstance(vm, dict) or not (vm.get("uuid") or vm.get("name")) or vm.get("level") not in LEVELS:
            raise MirroringError("vms[%d] needs a uuid (or a name) and a level (minimal, partial or full): got %r"
                                 % (i, vm))
        unknown = set(vm) - set(TARGET_KEYS)
        if unknown:
            raise MirroringError("vms[%d] has unknown keys %s (known: %s)"
                                 % (i, ", ".join(sorted(unknown)), ", ".join(TARGET_KEYS)))
        out.append(vm)
    # a VM is named by its uuid, or by its name where no uuid is given (namesakes have different uuids)
    seen = [t.get("uuid") or "name:" + t["name"] for t in out]
    twice = sorted({v for v in seen if seen.count(v) > 1})
    if twice:
        raise MirroringError("vms names a VM twice: %s" % ", ".join(twice))
    return out


def outcome(t, primary, actions, before, after, seconds, opts):
    """One VM's row in vm_mirror's result."""
    return {"name": primary["name"], "uuid": primary["instance_uuid"], "level": t["level"], "changed": bool(actions),
            "actions": [a[0] for a in actions], "mirror": after["mirror"],
            "mirror_age_seconds": (after["mirror"] or {}).get("age_seconds"),
            "image_rpo_seconds": None if t["level"] == MINIMAL else
            t.get("image_rpo_seconds") or opts.image_rpo[t["level"]],
            "duplicates_removed": before.get("duplicates") or [], "seconds": seconds}


def mirror_task(p, task):
    """The vm_mirror module: plan every VM first (reads only), then apply the plans in a bounded window; one VM's
    failure is reported by name and never stops the others."""
    wanted = targets(p)
    opts = Options(**{k: p[k] for k in OPTION_NAMES})
    results, failures, diffs = [], [], {"before": {}, "after": {}}
    history = open_store(p) if (p["history_path"] or p["history_dsn"]) and not task.check_mode else None
    try:
        with (history or contextlib.nullcontext()), vsphere.VSphere(**vsphere.connection_params(p)) as vs, \
                Writer(vs, p["lease_owner"], p["lease_ttl"], p["lease_wait"], task.check_mode) as writer:
            mirrorer = Mirrorer(vs, opts)
            planned = []
            for t in wanted:
                label = t.get("name") or t.get("uuid")
                try:
                    if t.get("vcenter") and str(t["vcenter"]).lower() != vs.name.lower():
                        raise VSphereError("%s is on vCenter %s, and this call is connected to %s: hold it with a "
                                           "vm_mirror call connected to its vCenter" % (label, t["vcenter"], vs.name))
                    primary = mirrorer.primary(uuid=t.get("uuid"), name=t.get("name"))
                    label = primary["name"]
                    actions, before, after = mirrorer.plan(primary, t["level"], t.get("fps"), t.get("below_since"),
                                                           scope=p["scope"], image_rpo=t.get("image_rpo_seconds"),
                                                           floor=bool(t.get("floor")))
                except NotAPrimary as e:
                    # the caller's list was read before a clone of a run that died got its attribute (this run adopts
                    # it): nothing to do to a mirror, and nothing wrong with the others
                    task.warn("%s: skipped" % e)
                    continue
                except MirroringError as e:
                    failures.append({"name": label, "uuid": t.get("uuid"), "msg": str(e)})
                    continue
                planned.append((t, primary, actions, before, after))
            outcomes = [(None, 0.0)] * len(planned)
            if not task.check_mode:
                jobs = [(primary, actions) for _t, primary, actions, _b, _a in planned if actions]
                done = iter(apply_window(mirrorer, jobs, p["window"], p["per_host"], p["per_datastore"],
                                         before_each=writer.renew))
                outcomes = [next(done) if item[2] else (None, 0.0) for item in planned]
            shown = [primary["name"] for _t, primary, _a, _b, _af in planned]
            for (t, primary, actions, before, after), (error, seconds) in zip(planned, outcomes):
                if error is not None:
                    failures.append({"name": primary["name"], "uuid": primary["instance_uuid"], "msg": error})
                    continue
                if history is not None and before["level"] != after["level"]:
                    history.add_decision(primary["name"], t.get("fps"), before["level"], after["level"],
                                         vcenter=vs.name, note="vm_mirror", vm_uuid=primary["instance_uuid"])
                if before.get("foreign_duplicates"):
                    task.warn("%s has more mirrors without our marker, left alone: %s"
                              % (primary["name"], ", ".join(before["foreign_duplicates"])))
                results.append(outcome(t, primary, actions, before, after, seconds, opts))
                if actions:  # namesakes side by side, each with its datacenter
                    key = primary["name"] if shown.count(primary["name"]) == 1 else "%s (%s, %s)" % (
                        primary["name"], primary["datacenter"], primary["instance_uuid"])
                    diffs["before"][key] = before
                    diffs["after"][key] = after
    except MirroringError as e:
        task.changed = any(r["changed"] for r in results)
        e.result.setdefault("vms", results)
        raise
    task.changed = any(r["changed"] for r in results)
    if failures:
        raise MirroringError("%d of %d VMs could not be brought to their level: %s" % (
            len(failures), len(results) + len(failures), "; ".join("%s: %s" % (f["name"], f["msg"]) for f in failures)),
            vms=results, failed_vms=failures, diff=diffs)
    return dict(vms=results, failed_vms=[], diff=diffs)
