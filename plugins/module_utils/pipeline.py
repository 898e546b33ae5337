# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""collect -> features -> model -> FPS -> policy, for a whole fleet.

Plain function calls on plain data; the inventory plugin and the modules
are thin layers over score_fleet().
"""

from __future__ import annotations

import datetime
import fnmatch

from ansible_collections.predictive.mirroring.plugins.module_utils import baseline as baselines
from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_ADDRESSES, ATTR_APP, ATTR_BELOW_SINCE, ATTR_DEPENDS_ON, ATTR_DRILL_OF, ATTR_LEVEL, ATTR_PRIMARY, ATTR_QUARANTINED,
    ATTR_SINCE, ATTR_SYNCED_AT, LEVELS, REALTIME_INTERVAL)
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.mirror import image_age, keep_order, mirrors_by_primary
from ansible_collections.predictive.mirroring.plugins.module_utils.model import load_ref
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import (
    alarm_floor, alarm_reasons, datastore_key, datastores_at_risk, host_key, hosts_at_risk, parse_time, policy_from_params)


def select_vms(vms, datacenters=None, clusters=None, folders=None, power_states=None, names=None, include_mirrors=False):
    """Filter inventory rows; every filter is a list of shell-style patterns (empty: all).

    Mirrors (VMs with a mirroring.primary attribute) are never scored; with
    include_mirrors they are kept when their primary is selected. A drill's
    copy (mirroring.drill_of) is never selected.
    """
    def match(value, patterns):
        return not patterns or any(fnmatch.fnmatchcase(value or "", p) for p in patterns)
    out = []
    mirrors = []
    for vm in vms:
        if vm["attributes"].get(ATTR_DRILL_OF):
            continue  # a drill's short-lived copy
        if vm["attributes"].get(ATTR_PRIMARY):
            mirrors.append(vm)
        elif (match(vm["datacenter"], datacenters) and match(vm["cluster"], clusters) and match(vm["folder"], folders)
              and match(vm["power_state"], power_states) and match(vm["name"], names)):
            out.append(vm)
    if include_mirrors:
        selected = {vm["instance_uuid"] for vm in out}  # by identity, never by name
        out += [m for m in mirrors if m["attributes"][ATTR_PRIMARY] in selected]
    return out


def merge_perf(cached, fresh, samples):
    """Append fresh samples to cached ones per VM and counter, keeping the newest `samples`."""
    out = {}
    for moid in set(cached) | set(fresh):
        old, new = cached.get(moid) or {}, fresh.get(moid) or {}
        row = {}
        last_old = old.get("last")
        new_ts = list(new.get("timestamps", []))
        for counter in telemetry.COUNTERS:
            a, b = list(old.get(counter) or []), list(new.get(counter) or [])
            if last_old and new_ts and len(b) == len(new_ts):
                # drop fresh samples the cache already holds
                b = [v for v, t in zip(b, new_ts) if t.isoformat() > last_old]
            row[counter] = (a + b)[-samples:]
        stamps = [t.isoformat() for t in new_ts]
        row["last"] = max(stamps) if stamps else last_old
        out[moid] = row
    return out


def collect(vs, vms, samples=30, event_window_hours=24, perf_workers=2, perf_batch=250, cache=None, now=None):
    """Read perf samples and events for `vms` from one vCenter.

    cache: {moid: {counter: [...], "last": iso}} from the previous run; when
    every VM has a cached window, only the samples since the oldest "last"
    are fetched. Returns (perf by moid, events); the perf dict is the next run's cache.
    """
    now = now or vsphere.now()
    refs = [vm["_ref"] for vm in vms if vm["power_state"] == "poweredOn"]
    cache = cache or {}
    start = None
    lasts = [cache.get(vm["moid"], {}).get("last") for vm in vms if vm["power_state"] == "poweredOn"]
    if refs and all(lasts):
        start = min(parse_time(x) for x in lasts)
        # a cache older than the window is of no use
        if now - start > datetime.timedelta(seconds=samples * REALTIME_INTERVAL):
            start = None
    fresh = vs.query_perf(refs, telemetry.COUNTERS, max_sample=samples, start_time=start, workers=perf_workers,
                          batch_size=perf_batch) if refs else {}
    if start is not None:
        wanted = {vm["moid"] for vm in vms}
        perf = merge_perf({m: row for m, row in cache.items() if m in wanted}, fresh, samples)
    else:
        perf = merge_perf({}, fresh, samples)
    since = now - datetime.timedelta(hours=event_window_hours)
    events = vs.events(begin_time=since, event_types=sorted(telemetry.SIGNAL_EVENTS))
    return perf, events


# What vCenter keeps at its default statistics levels: 300 s samples for a day, 1800 s for a week.
ROLLUPS = ((300, 288, datetime.timedelta(days=1)), (1800, 336, datetime.timedelta(days=7)))


def refresh_baselines(vs, vms, cache, now=None, perf_workers=2, perf_batch=250):
    """Each powered-on VM's baseline (baseline.learn) by moid, re-learned from vCenter's rollups where the cache's is
    stale; the others come from the cache. Returns ({moid: baseline or None}, how many were re-learned)."""
    now = now or vsphere.now()
    on = [vm for vm in vms if vm["power_state"] == "poweredOn"]
    # keyed by vCenter and VM: an instance UUID is unique within one vCenter only
    key = {vm["moid"]: "%s/%s" % (vs.instance_uuid, vm["instance_uuid"]) for vm in on}
    stale = set(cache.stale([key[vm["moid"]] for vm in on], now))
    todo = [vm for vm in on if key[vm["moid"]] in stale]
    if todo:
        refs = [vm["_ref"] for vm in todo]
        got = {interval: vs.query_perf(refs, telemetry.COUNTERS, max_sample=keep, start_time=now - span,
                                       interval_id=interval, workers=perf_workers, batch_size=perf_batch)
               for interval, keep, span in ROLLUPS}
        for vm in todo:
            series = {interval: got[interval].get(vm["moid"]) for interval in got}
            cache.put(key[vm["moid"]], baselines.learn(series, vm.get("num_cpu") or 1), now)
    return {vm["moid"]: cache.get(key[vm["moid"]]) for vm in on}, len(todo)


# below this share of the window's samples a VM's FPS is not acted on (telemetry_gap)
DEFAULT_MIN_CONFIDENCE = 0.5
# a VM without a baseline (new, or vCenter keeps no rollups for it) is scored with this much of its confidence:
# the model judges it on absolute values, trend, variance and events only
NO_BASELINE_CONFIDENCE = 0.7


def score(vms, perf, events, model, policy, samples=30, event_window_hours=24, now=None,
          min_confidence=DEFAULT_MIN_CONFIDENCE, baselines_by_moid=None):
    """FPS, reasons, confidence and target level for every VM (rows of VSphere.virtual_machines).

    baselines_by_moid: each VM's normal (refresh_baselines); a VM without
    one is judged without it and its confidence says so. Peers are the other
    VMs on the same ESXi host. A VM whose telemetry is too thin (a counter
    that gave nothing, or less than min_confidence of the window) carries
    telemetry_gap, the reason: its FPS leans on imputed values, and nothing
    irreversible is done on it.
    """
    now = now or vsphere.now()
    raw = telemetry.raw_from_vsphere(vms, perf, events, samples, event_window_hours=event_window_hours, now=now)
    known = [(baselines_by_moid or {}).get(vm["moid"]) for vm in vms]
    centre, spread, days = baselines.centre_spread(known, baselines.COUNTERS, now.hour)
    raw["baseline"] = {"centre": centre, "spread": spread, "days": days}
    raw["peer_group"] = [vm.get("host_moid") or None for vm in vms]
    X, missing = telemetry.features(raw)
    confidence = telemetry.coverage(raw) * baselines.confidence_factor(days, NO_BASELINE_CONFIDENCE)
    fps = model.score(X)
    reasons = model.reasons(X, fps)
    # an application's members are decided on its riskiest member's FPS (hysteresis included): one level for all
    apps = applications([{"name": vm["name"], "fps": float(fps[i]), "app": app_of(vm)} for i, vm in enumerate(vms)])
    results = []
    for i, vm in enumerate(vms):
        attrs = vm["attributes"]
        current = attrs.get(ATTR_LEVEL) or None
        app = apps.get(app_of(vm))
        decide_on = app["fps"] if app else float(fps[i])
        level, below_since, why = policy.decide(decide_on, current, parse_time(attrs.get(ATTR_BELOW_SINCE)), now)
        if app and app["riskiest"] != vm["name"]:
            why = "application %s, by its riskiest member %s: %s" % (app_of(vm), app["riskiest"], why)
        # vCenter's own alarms on the VM: a red one holds it a level above its FPS band
        alarms = vm.get("alarms") or []
        level, raised = alarm_floor(level, policy.band(fps[i]), alarms)
        if raised:
            why, below_since = "%s; %s" % (why, raised), None
        results.append({
            "vm": vm,
            "fps": float(fps[i]),
            "fps_reasons": alarm_reasons(alarms) + reasons[i],
            "fps_missing": missing[i],
            "fps_confidence": round(float(confidence[i]), 2),
            # a powered-off VM has no realtime stats by nature: that is not a gap
            "telemetry_gap": telemetry.gap_reasons(missing[i], float(confidence[i]), min_confidence)
            if vm["power_state"] == "poweredOn" else None,
            "features": dict(zip(telemetry.FEATURE_NAMES, (round(float(v), 4) for v in X[i]))),
            "level": level,
            "level_current": current,
            "level_why": why,
            "below_since": below_since.isoformat() if below_since else None,
            "since": attrs.get(ATTR_SINCE) or None,
            "depends_on": [d.strip() for d in (attrs.get(ATTR_DEPENDS_ON) or "").split(",") if d.strip()],
            "app": app_of(vm),
            # the application's FPS and riskiest member, as the level was decided on them (one vCenter's members)
            "app_fps": apps[app_of(vm)]["fps"] if app else None,
            "app_riskiest": apps[app_of(vm)]["riskiest"] if app else None,
        })
    return results


def score_given(entries, model, policy):
    """Score given telemetry rows (fps_info's telemetry option) without vCenter."""
    raw = telemetry.raw_from_rows(entries)
    X, missing = telemetry.features(raw)
    # no baseline comes with given telemetry: the confidence says so
    confidence = telemetry.coverage(raw) * baselines.confidence_factor([0.0] * len(entries), NO_BASELINE_CONFIDENCE)
    fps = model.score(X)
    reasons = model.reasons(X, fps)
    out = []
    for i, entry in enumerate(entries):
        level, _since, why = policy.decide(float(fps[i]), entry.get("level_current"))
        out.append({"name": entry["name"], "fps": float(fps[i]), "level": level, "level_band": policy.band(fps[i]),
                    "level_why": why, "failover": bool(fps[i] >= policy.failover_threshold), "reasons": reasons[i],
                    "missing": missing[i], "confidence": round(float(confidence[i]), 2)})
    return out


def info_task(p, task):
    """The fps_info module: FPS, level and reasons of VMs read from vCenter now, or of given telemetry; read-only."""
    if p["samples"] < 3 or p["event_window_hours"] < 1:
        raise MirroringError("samples must be >= 3 and event_window_hours >= 1")
    policy = policy_from_params(p)
    model = load_ref(p["model_path"], p, trusted_keys=p["trusted_keys"], allow_unsigned=p["allow_unsigned_model"])
    if p["allow_unsigned_model"] and model.origin.startswith("origin not proven"):
        task.warn("Model %s: %s" % (p["model_path"], model.origin))
    if p["telemetry"] is not None:
        vms = score_given(p["telemetry"], model, policy)
    else:
        with vsphere.VSphere(**vsphere.connection_params(p)) as vs:
            rows = select_vms(vs.virtual_machines(), names=p["names"])
            perf, events = collect(vs, rows, samples=p["samples"], event_window_hours=p["event_window_hours"])
            # read-only: the baselines are learned afresh from the rollups, nothing is cached
            learned = refresh_baselines(vs, rows, baselines.BaselineCache(None))[0]
            results = score(rows, perf, events, model, policy, samples=p["samples"],
                            event_window_hours=p["event_window_hours"], baselines_by_moid=learned)
        vms = [{"name": r["vm"]["name"], "moid": r["vm"]["moid"], "fps": r["fps"], "level": r["level"],
                "level_band": policy.band(r["fps"]), "level_why": r["level_why"],
                "failover": r["fps"] >= policy.failover_threshold, "reasons": r["fps_reasons"],
                "missing": r["fps_missing"], "confidence": r["fps_confidence"],
                "telemetry_gap": r["telemetry_gap"]} for r in results]
    m = model.manifest
    return dict(changed=False, vms=vms, model={"path": model.path, "sha256": m["sha256"], "created": m.get("created"),
                                               "horizon_hours": m.get("horizon_hours")})


# -- the inventory's decisions, as plain data ---------------------------------------------------------------------
LEVEL_GROUP = "fps_"  # fps_minimal, fps_partial, fps_full: the level the FPS alone asks for (before budget and floors)
GROUPS = tuple(LEVEL_GROUP + level for level in LEVELS) + (
    "failover_now", "failover_refused", "mirrors", "quarantined", "telemetry_gap", "host_at_risk", "datastore_at_risk")


def app_of(vm):
    """The application a VM belongs to (its mirroring.app attribute), or None."""
    return (vm["attributes"].get(ATTR_APP) or "").strip() or None


def applications(vms):
    """{application: {fps, riskiest, members, reasons}}: an application's FPS is its riskiest member's, with that
    member's reasons (vms: dicts with name, fps, app and fps_reasons; VMs without an app are left out)."""
    out = {}
    for vm in vms:
        if not vm.get("app"):
            continue
        app = out.setdefault(vm["app"], {"fps": -1.0, "riskiest": None, "members": [], "reasons": []})
        app["members"].append(vm["name"])
        if vm["fps"] > app["fps"] or (vm["fps"] == app["fps"] and vm["name"] < app["riskiest"]):
            app.update(fps=vm["fps"], riskiest=vm["name"], reasons=vm.get("fps_reasons") or [])
    for app in out.values():
        app["members"].sort()
    return out


def host_names(vms):
    """A unique inventory name per VM, in order: a namesake (another vCenter, another folder) gets its moid appended,
    so every decision is about one host, never about a bare VM name."""
    taken, out = set(), []
    for vm in vms:
        name = vm["name"] if vm["name"] not in taken else "%s_%s" % (vm["name"], vm["moid"])
        taken.add(name)
        out.append(name)
    return out


def identity(vm):
    """Where a VM is and what it is: the hostvars every host carries, primary or mirror."""
    return {
        "vm_name": vm["name"], "vm_moid": vm["moid"], "vm_instance_uuid": vm["instance_uuid"],
        "vcenter": vm.get("vcenter"), "vcenter_instance_uuid": vm.get("vcenter_instance_uuid"),
        "power_state": vm["power_state"], "datacenter": vm["datacenter"], "cluster": vm["cluster"],
        "esxi_host": vm["host"], "vm_folder": vm["folder"], "num_cpu": vm["num_cpu"], "memory_mb": vm["memory_mb"],
        "vcenter_alarms": vm.get("alarms") or [],
        "esxi_host_sensors": vm.get("host_sensors") or [],
        "datastores": [ds["name"] for ds in vm.get("datastores") or []],
    }


def inventory_hosts(results, mirrors, policy, now=None, expose_features=False, data_status=None):
    """The inventory from scored primaries (score()'s rows) and the mirrors: ([{name, vars, groups}], warning).

    data_status: {(vCenter, instance UUID): {provider: {lag_seconds, rpo_seconds}}}, each VM's data providers as the
    last run recorded them in the history store.

    Decides, per host: its level group; whether it fails over now, or is refused (blast radius, a telemetry gap,
    the cause on its ESXi host or its datastore, already quarantined); and pairs it with its serving mirror (not the copy of an
    image refresh in progress). Mirrors are hosts of their own in `mirrors`.
    """
    now = now or vsphere.now()
    names = host_names([r["vm"] for r in results] + list(mirrors))
    hosts, mirror_hosts = names[:len(results)], names[len(results):]
    mirror_of = {u: sorted(ms, key=keep_order)[0] for u, ms in mirrors_by_primary(mirrors).items()}
    quarantined = {h for h, r in zip(hosts, results) if r["vm"]["attributes"].get(ATTR_QUARANTINED)}
    gaps = {h: r["telemetry_gap"] for h, r in zip(hosts, results) if r["telemetry_gap"]}
    # the cause on the ESXi host: its VMs are moved within the cluster (evacuate.yml), not failed over
    risky_hosts = hosts_at_risk([dict(r["vm"], **{k: r["features"][k] for k in (
        "host_error_events", "host_peers_cpu_ready_dev", "host_peers_disk_latency_dev")}) for r in results])
    on_risky = {h: risky_hosts[host_key(r["vm"])] for h, r in zip(hosts, results) if host_key(r["vm"]) in risky_hosts}
    # the cause on a datastore (unless its host already explains the VM): its disks are moved, the VM not failed over
    risky_stores = datastores_at_risk([dict(r["vm"], disk_latency_dev=r["features"].get("disk_latency_dev"))
                                       for r in results])
    on_risky_store, risky_store_ids = {}, {}
    for h, r in zip(hosts, results):
        risky = [ds for ds in r["vm"].get("datastores") or [] if datastore_key(r["vm"], ds) in risky_stores]
        if risky and h not in on_risky:
            on_risky_store[h] = "; ".join(risky_stores[datastore_key(r["vm"], ds)] for ds in risky)
            risky_store_ids[h] = [{"name": ds["name"], "moid": ds.get("moid"), "why": risky_stores[datastore_key(r["vm"], ds)]}
                                  for ds in risky]
    # a failed-over primary is not a candidate again, nor is one whose FPS leans on imputed values; both still count
    # in their cluster's share
    failover, refused, why = policy.failover_candidates(
        [{"name": h, "fps": 0.0 if h in quarantined or h in gaps or h in on_risky or h in on_risky_store else r["fps"],
          "cluster": r["vm"]["cluster"]} for h, r in zip(hosts, results)])
    failover_names = {v["name"] for v in failover}
    refused_why = {v["name"]: why for v in refused}
    refused_reason = {v["name"]: "blast_radius" for v in refused}
    for h, r in zip(hosts, results):
        if h in gaps and h not in quarantined and r["fps"] >= policy.failover_threshold:
            refused_why[h] = "telemetry gap, not failed over on imputed data: %s" % gaps[h]
            refused_reason[h] = "telemetry_gap"
    out = []
    for host, r in zip(hosts, results):
        vm = r["vm"]
        mirror = mirror_of.get(vm["instance_uuid"])
        hostvars = {
            "fps": r["fps"],
            "fps_reasons": r["fps_reasons"],
            "fps_missing": r["fps_missing"],
            "mirroring_level": r["level"],
            "mirroring_level_current": r["level_current"],
            "mirroring_level_why": r["level_why"],
            "mirroring_since": r["since"],
            "mirroring_below_since": r["below_since"],
            "failover_refused_why": refused_why.get(host),
            "failover_refused_reason": refused_reason.get(host),
            "fps_confidence": r["fps_confidence"],
            "telemetry_gap_why": r["telemetry_gap"],
            "host_at_risk_why": on_risky.get(host),
            "datastore_at_risk_why": on_risky_store.get(host),
            "datastores_at_risk": risky_store_ids.get(host, []),
            "depends_on": r["depends_on"],
            "mirroring_app": r.get("app"),
            "mirroring_app_fps": r.get("app_fps"),
            "mirroring_app_riskiest": r.get("app_riskiest"),
            "mirror_name": mirror["name"] if mirror else None,
            "mirror_synced_at": (mirror["attributes"].get(ATTR_SYNCED_AT) or None) if mirror else None,
            "mirror_age_seconds": image_age(mirror, now) if mirror else None,
            # the mirror's re-IP'd addresses (vm_mirror's reip_rules), in NIC order; where DNS moves on failover
            "mirror_addresses": [a for a in ((mirror or {}).get("attributes", {}).get(ATTR_ADDRESSES) or "").split(",") if a],
            "mirroring_quarantined": vm["attributes"].get(ATTR_QUARANTINED) or None,
        }
        data = (data_status or {}).get((vm.get("vcenter") or "", vm["instance_uuid"]))
        hostvars["data_lag_seconds"] = {k: f.get("lag_seconds") for k, f in data.items()} if data else None
        hostvars["data_rpo_seconds"] = {k: f.get("rpo_seconds") for k, f in data.items()} if data else None
        if expose_features:
            hostvars["fps_features"] = r["features"]
        hostvars.update(identity(vm))
        groups = [LEVEL_GROUP + r["level"]]
        groups += [g for g, member in (("failover_now", host in failover_names),
                                       ("failover_refused", host in refused_why), ("quarantined", host in quarantined),
                                       ("telemetry_gap", host in gaps), ("host_at_risk", host in on_risky),
                                       ("datastore_at_risk", host in on_risky_store)) if member]
        out.append({"name": host, "vars": hostvars, "groups": groups, "vm": vm})
    for host, vm in zip(mirror_hosts, mirrors):
        out.append({"name": host, "vars": dict(identity(vm), mirror_of=vm["attributes"][ATTR_PRIMARY]),
                    "groups": ["mirrors"], "vm": vm})
    return out, why
