# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The closed loop after the act: the post-failover analysis and the training harvest.

- `label`, `downtime`: what vCenter saw after a failover says whether the prediction was right:
  confirmed - a predictive failover whose primary then failed within the horizon (a failure event on it or its
  host, or it lost power the failover did not take away), a training positive; unconfirmed - it did not fail within
  the horizon: failing over may have prevented the failure, so it is neither positive nor negative and is kept out
  of training (treating mitigated cases as positives degrades the model); missed - a reactive failover, the primary
  failed with no failover before.
- `tune_threshold`: the failover threshold moves a step within its bounds on the labels' precision and recall.
- `labelled`: the pending failovers a run can label now, with the fields to write (pure).
- `analyse(params, task)`: the failover_analysis module's core - label, write, feed confirmed failovers back as
  training windows, tune, and say whether enough new labels call for retraining.
- `harvest_windows`, `harvest(params, task)`: labelled feature windows from vCenter's historical rollups and events,
  into the store fps_train reads (the fps_history module's core).
"""

from __future__ import annotations

import datetime

from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import FAILURE_EVENTS, HOST_FAILURE_EVENTS
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import follows, open_store, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.history import outcome_metrics as metrics
from ansible_collections.predictive.mirroring.plugins.module_utils.pipeline import select_vms
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import parse_time
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_params

# the failover threshold the analysis may move within, and its step
THRESHOLD_BOUNDS = (75.0, 95.0)
THRESHOLD_STEP = 2.5


def label(failover, vm_state, events, horizon_hours, now):
    """(outcome or None while the horizon is still open, evidence) for one recorded failover.

    vm_state: the primary's row from VSphere.virtual_machines() now (None when it is gone);
    events: failure events since the failover, as VSphere.events() rows.
    """
    at = parse_time(failover["at"])
    end = at + datetime.timedelta(hours=horizon_hours)
    if failover["kind"] == "drill":
        return None, {"why": "a drill is not a prediction"}
    if failover["kind"] == "reactive":
        return "missed", {"why": "reactive failover: the primary failed with no failover before it"}
    evidence = dict(failover.get("label_evidence") or {})
    hits = []
    if vm_state is not None:
        hits = [e for e in events if at <= e["created"] <= end and (
            e["vm"] == vm_state["moid"]
            or (e["type"] in HOST_FAILURE_EVENTS and e["host"] and e["host"] == vm_state["host_moid"]))]
    if hits:
        first = hits[0]
        return "confirmed", dict(evidence, event=first["type"], event_at=first["created"].isoformat(),
                                 lead_hours=round((first["created"] - at).total_seconds() / 3600.0, 3))
    if vm_state is None:
        return "confirmed", dict(evidence, why="the primary is gone from vCenter")
    if vm_state["power_state"] != "poweredOn" and not evidence.get("powered_off_by_failover"):
        return "confirmed", dict(evidence, why="the primary lost power after the failover", power_state=vm_state["power_state"])
    if now >= end:
        return "unconfirmed", dict(evidence, why="no failure within %.0f h of the failover: mitigated or a false alarm, "
                                                 "kept out of training" % horizon_hours)
    return None, dict(evidence, pending_until=end.isoformat())


def downtime(failover, outcome, vm_state, events, horizon_hours):
    """Seconds the service was down, from what vCenter saw: 0 for a confirmed predictive failover (the switch was done
    before the failure), the time from the failure to the failover for a reactive one; None when it cannot be told."""
    at = parse_time(failover["at"])
    if outcome == "confirmed" and failover["kind"] == "predictive":
        return 0.0
    if failover["kind"] == "reactive" and vm_state is not None:
        before = [e["created"] for e in events if e["vm"] == vm_state["moid"]
                  and at - datetime.timedelta(hours=horizon_hours) <= e["created"] <= at]
        if before:
            return round((at - max(before)).total_seconds(), 3)
    return None


def tune_threshold(current, overall, target_precision=0.5, min_labels=5, bounds=THRESHOLD_BOUNDS, step=THRESHOLD_STEP):
    """(new threshold, why): up a step when precision is below target, down a step when precision is fine but
    failures are missed more often than caught; always within bounds; unchanged on too few labels."""
    labelled = overall["confirmed"] + overall["unconfirmed"] + overall["missed"]
    low, high = bounds
    if labelled < min_labels:
        return current, "unchanged: %d labelled failovers, fewer than the %d needed to tune" % (labelled, min_labels)
    precision, recall = overall["precision"], overall["recall"]
    if precision is not None and precision < target_precision:
        new = min(high, current + step)
        why = "precision %.2f below the target %.2f: threshold raised" % (precision, target_precision)
    elif recall is not None and recall < 0.5 and (precision is None or precision >= target_precision):
        new = max(low, current - step)
        why = "precision %s on target but recall %.2f: threshold lowered" % (
            "n/a" if precision is None else "%.2f" % precision, recall)
    else:
        return current, "unchanged: precision %s, recall %s" % (precision, recall)
    if new == current:
        return current, why + " - but it is at its bound %.1f" % current
    return new, why


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
    X = telemetry.features(telemetry.raw(
        interval, {c: telemetry.pad_series([p[2][c] for p in pairs], window_samples) for c in telemetry.COUNTERS},
        num_cpu=[vms[pair[0]].get("num_cpu") or 1 for pair in pairs], uptime_seconds=[float("nan")] * len(pairs),
        host_connected=[1.0] * len(pairs), host_health=[0.0] * len(pairs), events=counts))[0]

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


def labelled(pending, vms_by_name, events, horizon_hours, now):
    """[(record, outcome, evidence, fields)] for the pending failovers whose outcome is known now; fields are what the
    store gets (outcome, labelled_at, evidence, and the downtime when the failover did not measure it)."""
    out = []
    stamp = now.replace(microsecond=0).isoformat()
    for f in pending:
        vm = vms_by_name.get(f["vm"])
        outcome, evidence = label(f, vm, events, horizon_hours, now)
        if outcome is None:
            continue
        fields = {"outcome": outcome, "labelled_at": stamp, "label_evidence": evidence}
        if f["downtime_s"] is None:
            fields["downtime_s"] = downtime(f, outcome, vm, events, horizon_hours)
        out.append((f, vm, outcome, evidence, fields))
    return out


def training_window(record, vm, evidence, vcenter):
    """The store's training window for a confirmed failover, or None when its features are not this feature set's."""
    if not record["features"] or list(record["features"]) != list(telemetry.FEATURE_NAMES):
        return None
    return {"vcenter": record["vcenter"] or vcenter, "vm": vm["moid"] if vm else record["vm"], "vm_name": record["vm"],
            "window_end": record["at"], "features": list(record["features"].values()), "label": 1,
            "time_to_failure_h": evidence.get("lead_hours"), "failure_event": evidence.get("event"), "source": "failover"}


def check_bounds(bounds, full_above):
    low, high = (list(bounds) + [None, None])[:2]
    if low is None or high is None or not full_above < low <= high <= 100:
        raise MirroringError("threshold_bounds must be [low, high] with full_above (%s) < low <= high <= 100, got %s"
                             % (full_above, list(bounds)))
    return low, high


def _observe(p, pending):
    """The primaries' rows and the failure events from a horizon before the oldest pending failover, from vCenter."""
    with VSphere(**connection_params(p)) as vs:
        vms = {vm["name"]: vm for vm in vs.virtual_machines()}
        since = min(parse_time(f["at"]) for f in pending) - datetime.timedelta(hours=p["horizon_hours"])
        events = vs.events(begin_time=since, event_types=sorted(FAILURE_EVENTS))
        return vms, events, vs.name


def analyse(p, task):
    """The failover_analysis module: label what can be labelled, feed it back, tune the threshold once per new evidence."""
    bounds = check_bounds(p["threshold_bounds"], p["full_above"])
    labelled_now = []
    with open_store(p) as h:
        records = h.failovers()
        pending = [f for f in records if f["outcome"] is None and f["kind"] != "drill" and not follows(f)]
        if pending:
            vms, events, vcenter = _observe(p, pending)
            for f, vm, outcome, evidence, fields in labelled(pending, vms, events, p["horizon_hours"], vsphere.now()):
                labelled_now.append({"id": f["id"], "vm": f["vm"], "kind": f["kind"], "outcome": outcome,
                                     "evidence": evidence})
                task.changed = True
                if task.check_mode:
                    continue
                h.update_failover(f["id"], **fields)
                window = training_window(f, vm, evidence, vcenter) if outcome == "confirmed" else None
                if window is not None:
                    h.add_windows([window], telemetry.FEATURE_NAMES)
            outcomes = {x["id"]: x["outcome"] for x in labelled_now}
            records = h.failovers() if not task.check_mode else [
                dict(f, outcome=outcomes.get(f["id"], f["outcome"])) for f in records]
        overall, by_month = metrics(records)
        current = h.tuning("failover_threshold", p["failover_threshold"])
        if labelled_now and not p["mark_trained"]:
            threshold, why = tune_threshold(current, overall, p["target_precision"], p["min_labels"], bounds)
        else:  # tuned once per new evidence: a re-run, or the mark_trained call, moves nothing
            threshold, why = current, "unchanged: no failover was labelled in this run"
        if threshold != current:
            task.changed = True
            if not task.check_mode:
                h.set_tuning("failover_threshold", threshold, why)
        trained_at = h.tuning("trained_at")
        new_labels = sum(1 for f in records if f["outcome"] == "confirmed"
                         and (trained_at is None or (f["labelled_at"] or "9999") > trained_at))
        if p["mark_trained"]:
            task.changed = True
            if not task.check_mode:
                h.set_tuning("trained_at", vsphere.now().replace(microsecond=0).isoformat(), "fps_train")
            new_labels = 0
    return dict(failovers=records, labelled_now=labelled_now, metrics=overall, by_month=by_month,
                failover_threshold=threshold, threshold_was=current, threshold_why=why,
                retrain=new_labels >= p["retrain_min_labels"], new_labels=new_labels)


def harvest(p, task):
    """The fps_history module: harvest labelled windows from vCenter into the store (check mode counts the new ones)."""
    if p["hours"] < 1 or p["window_samples"] < 3 or p["interval"] < 20 or p["horizon_hours"] <= 0:
        raise MirroringError("hours must be >= 1, window_samples >= 3, interval >= 20 and horizon_hours > 0")
    with VSphere(**connection_params(p)) as vs:
        vms = select_vms(vs.virtual_machines(), names=p["names"])
        rows = harvest_windows(vs, vms, hours=p["hours"], window_samples=p["window_samples"],
                               horizon_hours=p["horizon_hours"], interval=p["interval"],
                               failure_events=tuple(p["failure_events"]))
    added, new = 0, len(rows)
    if task.check_mode and not store_configured(p):
        totals = {"windows": 0, "positives": 0}  # check mode creates no store
    else:
        with open_store(p) as store:
            if task.check_mode:
                new = store.count_new(rows)
            else:
                added = new = store.add_windows(rows, telemetry.FEATURE_NAMES)
            totals = store.count_windows()
    return dict(changed=new > 0, windows=len(rows), positives=sum(r["label"] for r in rows), added=added, store=totals)
