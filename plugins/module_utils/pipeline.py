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
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import parse_time


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
        if vm["attributes"].get(vsphere.ATTR_DRILL_OF):
            continue  # a drill's short-lived copy
        if vm["attributes"].get(vsphere.ATTR_PRIMARY):
            mirrors.append(vm)
        elif (match(vm["datacenter"], datacenters) and match(vm["cluster"], clusters) and match(vm["folder"], folders)
              and match(vm["power_state"], power_states) and match(vm["name"], names)):
            out.append(vm)
    if include_mirrors:
        selected = {vm["instance_uuid"] for vm in out}  # by identity, never by name
        out += [m for m in mirrors if m["attributes"][vsphere.ATTR_PRIMARY] in selected]
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
        if now - start > datetime.timedelta(seconds=samples * vsphere.REALTIME_INTERVAL):
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
    results = []
    for i, vm in enumerate(vms):
        attrs = vm["attributes"]
        current = attrs.get(vsphere.ATTR_LEVEL) or None
        level, below_since, why = policy.decide(float(fps[i]), current, parse_time(attrs.get(vsphere.ATTR_BELOW_SINCE)), now)
        results.append({
            "vm": vm,
            "fps": float(fps[i]),
            "fps_reasons": reasons[i],
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
            "since": attrs.get(vsphere.ATTR_SINCE) or None,
            "depends_on": [d.strip() for d in (attrs.get(vsphere.ATTR_DEPENDS_ON) or "").split(",") if d.strip()],
        })
    return results


# Failure events that label a window: one of these on the VM (or, for the
# host-level ones, on its host) within the horizon after the window's end.
FAILURE_EVENTS = ("VmGuestOSCrashedEvent", "VmDasBeingResetEvent", "VmDasBeingResetWithScreenshotEvent",
                  "VmFailoverFailed", "VmOrphanedEvent", "HostConnectionLostEvent", "DasHostFailedEvent")
HOST_FAILURE_EVENTS = ("HostConnectionLostEvent", "DasHostFailedEvent")
HISTORICAL_INTERVAL = 300


def harvest_windows(vs, vms, hours=24 * 7, window_samples=6, horizon_hours=12.0, interval=HISTORICAL_INTERVAL,
                    failure_events=FAILURE_EVENTS, event_window_hours=24, now=None, perf_workers=2):
    """Labelled feature windows from a vCenter's historical stats and events.

    Windows of `window_samples` samples at `interval` seconds are cut from
    the last `hours`; a window is kept only when its whole horizon has
    passed (its label is known). Returns rows for History.add_windows.
    """
    now = now or vsphere.now()
    start = now - datetime.timedelta(hours=hours)
    refs = [vm["_ref"] for vm in vms]
    perf = vs.query_perf(refs, telemetry.COUNTERS, max_sample=int(hours * 3600 // interval), start_time=start,
                         interval_id=interval, workers=perf_workers) if refs else {}
    wanted = sorted(set(telemetry.SIGNAL_EVENTS) | set(failure_events))
    events = vs.events(begin_time=start - datetime.timedelta(hours=event_window_hours), event_types=wanted)
    host_failures = set(HOST_FAILURE_EVENTS) & set(failure_events)
    window = datetime.timedelta(seconds=window_samples * interval)
    horizon = datetime.timedelta(hours=horizon_hours)

    pairs = []  # (vm index, window end, {counter: values})
    for i, vm in enumerate(vms):
        row = perf.get(vm["moid"]) or {}
        stamps = row.get("timestamps") or []
        if not stamps:
            continue
        series = {}
        for counter in telemetry.COUNTERS:
            values = row.get(counter) or []
            # a series shorter than its timestamps lacks its oldest samples
            series[counter] = dict(zip(stamps[len(stamps) - len(values):], values))
        end = stamps[-1]
        while end - window >= stamps[0] - datetime.timedelta(seconds=interval):
            if end + horizon <= now:
                lo = end - window
                pairs.append((i, end, {c: [v for t, v in sorted(series[c].items()) if lo < t <= end]
                                       for c in telemetry.COUNTERS}))
            end -= window
    if not pairs:
        return []
    raw = {
        "interval": interval,
        "samples": {c: telemetry.pad_series([p[2][c] for p in pairs], window_samples) for c in telemetry.COUNTERS},
        "num_cpu": [vms[pair[0]].get("num_cpu") or 1 for pair in pairs],
        "uptime_seconds": [float("nan")] * len(pairs),
        "host_connected": [1.0] * len(pairs),
        "host_health": [0.0] * len(pairs),
        "events": {k: [] for k in telemetry.EVENT_KEYS},
    }
    # event counts in the trailing window before each window's end
    by_end = {}
    for idx, pair in enumerate(pairs):
        by_end.setdefault(pair[1], []).append((idx, pair[0]))
    counts = {k: [0.0] * len(pairs) for k in telemetry.EVENT_KEYS}
    for end, members in by_end.items():
        since = end - datetime.timedelta(hours=event_window_hours)
        past = [e for e in events if e["created"] <= end]
        got = telemetry.count_events(past, [vms[m[1]] for m in members], since)
        for k in telemetry.EVENT_KEYS:
            for member, v in zip(members, got[k]):
                counts[k][member[0]] = float(v)
    raw["events"] = counts
    X = telemetry.features(raw)[0]

    failures = [e for e in events if e["type"] in failure_events]
    rows = []
    for idx, (i, end, _samples) in enumerate(pairs):
        vm = vms[i]
        hit = None
        for e in failures:
            if end < e["created"] <= end + horizon and (
                    e["vm"] == vm["moid"] or (e["type"] in host_failures and e["host"] and e["host"] == vm["host_moid"])):
                if hit is None or e["created"] < hit["created"]:
                    hit = e
        rows.append({
            "vcenter": vs.name, "vm": vm["moid"], "vm_name": vm["name"], "window_end": end.isoformat(),
            "features": X[idx], "label": int(hit is not None),
            "time_to_failure_h": (hit["created"] - end).total_seconds() / 3600.0 if hit else None,
            "failure_event": hit["type"] if hit else None, "source": "vcenter",
        })
    return rows
