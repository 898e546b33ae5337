# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""FPS -> mirroring level, with hysteresis, dwell, dependency floors and the failover decision.

Bands (defaults; FPS is a real number in 0..100):
    minimal   FPS <= 30
    partial   30 < FPS <= 70
    full      70 < FPS
A fractional FPS belongs to the band whose upper bound it does not exceed:
30.0 is minimal, 30.1 is partial, 70.0 partial, 70.1 full. This matches
the seed's integer bands (0-30, 31-70, 71-100) for integer FPS.

Raising a level is immediate. Lowering it waits: the FPS must sit at least
`margin` points below the current band's lower bound, continuously, for
`dwell` (the time it first did so is kept in the VM's mirroring.below_since
attribute). A wobble around a boundary therefore never flaps the level.
"""

from __future__ import annotations

import datetime
import math

from ansible_collections.predictive.mirroring.plugins.module_utils import constants as c
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_IMAGE_RPO, FULL, LEVELS, MINIMAL, PARTIAL, RANK
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import PolicyError


class Policy:
    def __init__(self, partial_above=c.DEFAULT_PARTIAL_ABOVE, full_above=c.DEFAULT_FULL_ABOVE,
                 failover_threshold=c.DEFAULT_FAILOVER_THRESHOLD, margin=c.DEFAULT_HYSTERESIS_MARGIN,
                 dwell=datetime.timedelta(minutes=c.DEFAULT_MIN_DWELL_MINUTES), max_failovers=c.DEFAULT_MAX_FAILOVERS,
                 max_failover_cluster_pct=c.DEFAULT_MAX_FAILOVER_CLUSTER_PCT):
        for name, v in (("partial_above", partial_above), ("full_above", full_above),
                        ("failover_threshold", failover_threshold)):
            if not 0.0 <= float(v) <= 100.0:
                raise PolicyError("%s must be within 0..100, got %s" % (name, v))
        if partial_above >= full_above:
            raise PolicyError("partial_above (%s) must be below full_above (%s)" % (partial_above, full_above))
        if failover_threshold <= full_above:
            raise PolicyError("failover_threshold (%s) must be above full_above (%s): a VM is fully mirrored "
                              "before it can fail over" % (failover_threshold, full_above))
        if margin < 0:
            raise PolicyError("hysteresis margin must be >= 0, got %s" % margin)
        if max_failovers < 0 or not 0 <= max_failover_cluster_pct <= 100:
            raise PolicyError("blast-radius limits must be >= 0 (and a percentage <= 100)")
        self.partial_above = float(partial_above)
        self.full_above = float(full_above)
        self.failover_threshold = float(failover_threshold)
        self.margin = float(margin)
        self.dwell = dwell
        self.max_failovers = int(max_failovers)
        self.max_failover_cluster_pct = float(max_failover_cluster_pct)

    @staticmethod
    def check_fps(fps):
        try:
            value = float(fps)
        except (TypeError, ValueError):
            raise PolicyError("FPS must be a number within 0..100, got %r" % (fps,)) from None
        if math.isnan(value) or not 0.0 <= value <= 100.0:
            raise PolicyError("FPS must be within 0..100, got %s" % fps)
        return value

    def band(self, fps):
        """The level an FPS maps to, without hysteresis."""
        fps = self.check_fps(fps)
        if fps > self.full_above:
            return FULL
        if fps > self.partial_above:
            return PARTIAL
        return MINIMAL

    def lower_bound(self, level):
        return {MINIMAL: 0.0, PARTIAL: self.partial_above, FULL: self.full_above}[level]

    def decide(self, fps, current=None, below_since=None, now=None):
        """Target level with hysteresis: (level, below_since, why).

        current: the VM's level now (None or unknown: no hysteresis).
        below_since: when FPS first sat margin below the current band (datetime or None).
        """
        now = now or datetime.datetime.now(datetime.timezone.utc)
        target = self.band(fps)
        if current not in RANK or RANK[target] >= RANK[current]:
            why = "FPS %.1f is in the %s band" % (fps, target)
            if current in RANK and RANK[target] > RANK[current]:
                why = "FPS %.1f rose into the %s band (from %s)" % (fps, target, current)
            return target, None, why
        # Stepping down: FPS must be margin below the current band, for the dwell.
        if fps > self.lower_bound(current) - self.margin:
            return current, None, ("FPS %.1f is below the %s band but within the %.0f-point hysteresis margin: "
                                   "held at %s" % (fps, current, self.margin, current))
        since = below_since or now
        held = now - since
        if held < self.dwell:
            return current, since, ("FPS %.1f has been below the %s band for %s of the %s dwell: held at %s"
                                    % (fps, current, _fmt(held), _fmt(self.dwell), current))
        return target, None, "FPS %.1f stayed below the %s band for %s: stepped down to %s" % (fps, current, _fmt(held), target)

    def failover_candidates(self, vms):
        """Split VMs (dicts with name, fps, cluster) into (fail over now, refused, why).

        The blast-radius limit: more than max_failovers VMs, or more than
        max_failover_cluster_pct of any cluster's VMs, above the threshold in
        one run is more likely bad telemetry than a real fleet-wide failure:
        then none fails over and the run says why.
        """
        above = [vm for vm in vms if vm["fps"] >= self.failover_threshold]
        why = self.blast_radius(above, vms)
        if why:
            return [], above, why
        return above, [], None

    def blast_radius(self, targets, fleet):
        """Why failing over `targets` (dicts with name, cluster) at once breaks the blast-radius limit, or None.

        fleet: every primary (dicts with name, cluster), for the per-cluster share.
        """
        if not targets:
            return None
        if len(targets) > self.max_failovers:
            return ("%d VMs to fail over at once (%s), more than the blast-radius limit of %d per run: refusing every "
                    "failover (check telemetry before forcing one)"
                    % (len(targets), ", ".join(sorted(t["name"] for t in targets)), self.max_failovers))
        per_cluster = {}
        for vm in fleet:
            per_cluster.setdefault(vm.get("cluster"), [0, 0])[0] += 1
        for vm in targets:
            per_cluster.setdefault(vm.get("cluster"), [0, 0])[1] += 1
        for cluster, (total, hot) in per_cluster.items():
            if total and hot > 1 and 100.0 * hot / total > self.max_failover_cluster_pct:
                return ("%d of %d VMs in cluster %s to fail over at once (more than %.0f%%): refusing every failover"
                        % (hot, total, cluster, self.max_failover_cluster_pct))
        return None


# a host with this many error events of its own in the event window is at risk (with a red health, at once)
HOST_ERROR_EVENTS_AT_RISK = 2


# every VM of a host drifting together: this many σ above their own normals, shared by this share of its VMs
HOST_DRIFT_SIGMA = 3.0
HOST_DRIFT_SHARE = 0.66
HOST_DRIFT_MIN_VMS = 3


def hosts_at_risk(vms, error_events=HOST_ERROR_EVENTS_AT_RISK):
    """{host_key: why} for the ESXi hosts whose own signals put the cause on the host, not on its VMs.

    vms: dicts with host, host_overall_status, host_connection_state, host_alarms, host_sensors (its hardware
    sensors that are not green, vsphere.sensor_records) and host_error_events (the host's own error
    events in the window), and optionally host_peers_disk_latency_dev / host_peers_cpu_ready_dev (the median
    deviation of the other VMs on its host, telemetry.PEER_FEATURES). A host is at risk when its hardware health is
    red, a vCenter alarm or a hardware sensor (fan, power supply, temperature, memory: what vSphere Proactive HA acts
    on) is red on it, it raised `error_events` or more errors itself, or every VM on it drifts from its own normal together
    (HOST_DRIFT_*) - and it still answers: its VMs can then be moved to the other hosts of the cluster (vMotion),
    which is cheaper than a cross-site failover. A host that no longer answers cannot be evacuated; its VMs follow
    the failover path.
    """
    out = {}
    drift = {}
    by_host = {}
    for vm in vms:
        if vm.get("host"):
            by_host.setdefault(host_key(vm), []).append(vm)
    for host, members in by_host.items():
        if len(members) < HOST_DRIFT_MIN_VMS:
            continue
        for key, what in (("host_peers_cpu_ready_dev", "CPU ready"), ("host_peers_disk_latency_dev", "disk latency")):
            values = sorted(float(vm.get(key) or 0.0) for vm in members)
            shared = sum(v >= HOST_DRIFT_SIGMA for v in values)
            if shared >= HOST_DRIFT_SHARE * len(members):
                drift.setdefault(host, []).append("its VMs' %s drifts together (median %.1fσ above their normal)"
                                                  % (what, values[len(values) // 2]))
    for vm in vms:
        host = host_key(vm)
        if not vm.get("host") or host in out or vm.get("host_connection_state") not in ("connected", ""):
            continue
        why = []
        if vm.get("host_overall_status") == "red":
            why.append("its health is red")
        if (vm.get("host_error_events") or 0) >= error_events:
            why.append("it raised %d error events" % vm["host_error_events"])
        red = red_alarms(vm.get("host_alarms"))
        if red:
            why.append("vCenter alarm %s is red on it" % ", ".join("'%s'" % a["name"] for a in red))
        sensors = [x["name"] for x in vm.get("host_sensors") or [] if x.get("health") == "red"]
        if sensors:
            why.append("its hardware sensor %s is red" % ", ".join("'%s'" % name for name in sensors))
        why += drift.get(host, [])
        if why:
            out[host] = "host %s: %s" % (vm["host"], " and ".join(why))
    return out


def host_key(vm):
    """An ESXi host's identity: its vCenter and moid (two vCenters may each have a host of one name)."""
    return (vm.get("vcenter") or "", vm.get("host_moid") or vm.get("host"))


def datastore_key(vm, ds):
    """A datastore's identity: its vCenter and moid (names repeat - each datacenter may have a LocalDS_0)."""
    return (vm.get("vcenter") or "", ds.get("moid") or ds["name"])


def datastores_at_risk(vms):
    """{datastore_key: why} for the datastores whose own signals put the cause on the storage, not on its VMs.

    vms: dicts with vcenter, datastores ([{name, moid, alarms}], vsphere.virtual_machines) and disk_latency_dev (the
    VM's disk latency above its own normal, in σ). A datastore is at risk when vCenter raised a red alarm on it, or
    when the disk latency of its VMs drifts from their own normals together (HOST_DRIFT_SHARE of at least
    HOST_DRIFT_MIN_VMS VMs, HOST_DRIFT_SIGMA or more): a rise on every VM of one datastore is the datastore's, as one
    on every VM of a host is the host's. Its VMs' disks can be moved to another datastore of the cluster (Storage
    vMotion), which is cheaper than a cross-site failover.
    """
    members, alarms, names = {}, {}, {}
    for vm in vms:
        for ds in vm.get("datastores") or []:
            key = datastore_key(vm, ds)
            names[key] = ds["name"]
            members.setdefault(key, []).append(float(vm.get("disk_latency_dev") or 0.0))
            alarms.setdefault(key, {}).update((a["name"], True) for a in red_alarms(ds.get("alarms")))
    out = {}
    for key, devs in members.items():
        why = []
        if alarms.get(key):
            why.append("vCenter alarm %s is red on it" % ", ".join("'%s'" % a for a in alarms[key]))
        if len(devs) >= HOST_DRIFT_MIN_VMS and sum(d >= HOST_DRIFT_SIGMA for d in devs) >= HOST_DRIFT_SHARE * len(devs):
            why.append("its VMs' disk latency drifts together (median %.1fσ above their normal)"
                       % sorted(devs)[len(devs) // 2])
        if why:
            out[key] = "datastore %s: %s" % (names[key], " and ".join(why))
    return out


def dependency_floor(levels, depends_on, names=None):
    """Raise each VM's dependencies to at least its own level (transitively).

    levels: {vm: level}; depends_on: {vm: [vm it depends on, ...]}; names: {vm: display name} for the reasons.
    Returns ({vm: level}, {vm: reason}) for the VMs raised.
    """
    names = names or {}
    out = dict(levels)
    raised = {}
    changed = True
    rounds = 0
    while changed and rounds <= len(out):
        changed = False
        rounds += 1
        for vm, deps in depends_on.items():
            for dep in deps or []:
                if dep in out and vm in out and RANK[out[dep]] < RANK[out[vm]]:
                    out[dep] = out[vm]
                    raised[dep] = "held at %s: %s depends on it" % (out[vm], names.get(vm, vm))
                    changed = True
    return out, raised


def app_floor(levels, apps, fps=None, names=None):
    """Hold every member of an application at its riskiest member's level: (levels, {vm: reason}) for the VMs raised.

    levels: {vm: level}; apps: {vm: application or None} (its name, or (vCenter, name): an application is one per
    vCenter); fps: {vm: FPS}, to name the member that sets it (the
    highest level, then the highest FPS, then the name); names: {vm: display name}. A service is only as recoverable as
    its weakest tier: a mirrored database behind an unmirrored web tier is not a recovery.
    """
    fps, names = fps or {}, names or {}
    members = {}
    for vm, app in apps.items():
        if app and vm in levels:
            members.setdefault(app, []).append(vm)
    out, raised = dict(levels), {}
    for app, vms in members.items():
        top = max(vms, key=lambda v: (RANK[levels[v]], fps.get(v, 0.0), str(names.get(v, v))))
        for vm in vms:
            if RANK[levels[vm]] < RANK[levels[top]]:
                out[vm] = levels[top]
                raised[vm] = "held at %s with application %s: its member %s asks for %s" % (
                    levels[top], app[-1] if isinstance(app, tuple) else app, names.get(top, top), levels[top])
    return out, raised


def alarm_floor(level, band, alarms):
    """A VM's level with vCenter's own verdict on it: (level, why or None).

    alarms: the VM's triggered alarms ({name, status, since}, vsphere.alarm_records). A red alarm on the VM - a line
    its operators drew, crossed - holds it at least one level above the band its FPS maps to (minimal -> partial ->
    full). It raises the level, never the FPS: the FPS stays the calibrated probability of the model, which has never
    seen these alarms. A yellow alarm is a reason, not a raise.
    """
    red = red_alarms(alarms)
    if not red:
        return level, None
    floor = LEVELS[min(RANK[band] + 1, len(LEVELS) - 1)]
    if RANK[floor] <= RANK[level]:
        return level, None
    return floor, "raised to %s: vCenter alarm %s is red on this VM" % (floor, ", ".join("'%s'" % a["name"] for a in red))


def red_alarms(alarms):
    """The red ones of triggered alarm records (vsphere.alarm_records): a line the operators drew, crossed."""
    return [a for a in alarms or [] if a.get("status") == "red"]


def alarm_reasons(alarms):
    """The VM's triggered alarms as reasons, in the shape of the model's (contribution 0: they move the level, not
    the FPS)."""
    out = []
    for a in alarms or []:
        since = parse_time(a.get("since"))
        out.append({"feature": "vcenter_alarm", "value": a["status"], "contribution": 0.0,
                    "text": "vCenter alarm '%s' %s on this VM%s" % (
                        a["name"], a["status"], since.strftime(" since %Y-%m-%d %H:%M UTC") if since else "")})
    return out


def _fmt(delta):
    s = int(delta.total_seconds())
    return "%dh%02dm" % (s // 3600, (s % 3600) // 60)


def parse_time(value):
    """ISO-8601 attribute value -> aware datetime, or None."""
    if not value:
        return None
    try:
        t = datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return t if t.tzinfo else t.replace(tzinfo=datetime.timezone.utc)


def policy_from_params(p):
    return Policy(partial_above=p["partial_above"], full_above=p["full_above"], failover_threshold=p["failover_threshold"],
                  margin=p["hysteresis_margin"], dwell=datetime.timedelta(minutes=p["min_dwell_minutes"]),
                  max_failovers=p["max_failovers"], max_failover_cluster_pct=p["max_failover_cluster_pct"])


def image_rpos(value):
    """The image RPO per level, defaults filled in; refuses unknown levels and values under a minute."""
    out = dict(DEFAULT_IMAGE_RPO)
    for level, seconds in (value or {}).items():
        if level not in DEFAULT_IMAGE_RPO:
            raise PolicyError("image_rpo_seconds has no level %r (it takes %s: a minimal mirror has no image)"
                              % (level, ", ".join(DEFAULT_IMAGE_RPO)))
        try:
            seconds = int(seconds)
        except (TypeError, ValueError):
            raise PolicyError("image_rpo_seconds.%s must be a whole number of seconds, got %r" % (level, seconds)) from None
        if seconds < 60:
            raise PolicyError("image_rpo_seconds.%s must be at least 60 s, got %s" % (level, seconds))
        out[level] = seconds
    return out
