# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each VM's normal: a robust centre and spread per counter, learned from its own history.

The model judges a window against the VM's own normal as well as against
absolute values: 12 ms of disk latency is a symptom on a VM that usually
shows 2 ms and nothing at all on one that has shown 12 ms for a week. This
is the idea of Aria Operations' dynamic thresholds (a learned normal band
per metric and object); here the deviation from the band is a model feature,
so it ends in a calibrated probability with reasons rather than an alert.

Per VM and counter, in feature units (UNITS):

* centre: the median of the history; with 3 days or more, a centre per hour
  of the day too (a nightly backup window is that hour's normal);
* spread: 1.4826 x the median absolute deviation from the (hourly) centre,
  never below a floor (FLOOR, and 10 % of the centre): a VM flat at 15 ms
  has a spread of 1.5 ms, not 0;
* days: how much history the baseline rests on (0: none - the VM is new, or
  vCenter keeps no rollups for it).

The history is vCenter's historical rollups (300 s for the last day, 1800 s
for the last week), read in bulk and cached (BaselineCache) so that a scored
run does not re-read them; the cache is refreshed when older than its
refresh period.
"""

from __future__ import annotations

import datetime
import json
import os

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import REALTIME_INTERVAL
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.fileio import write_atomic
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import parse_time

from ansible_collections.predictive.mirroring.plugins.module_utils.numeric import np, require_numpy

# counter -> the feature unit a baseline holds it in
UNITS = {
    "cpu.usage.average": "%",
    "cpu.ready.summation": "% per vCPU",
    "mem.usage.average": "%",
    "mem.vmmemctl.average": "MB",
    "mem.swapinRate.average": "KB/s",
    "disk.maxTotalLatency.latest": "ms",
    "net.droppedRx.summation": "per 20 s",
}
COUNTERS = tuple(UNITS)
# The smallest spread worth a deviation, in feature units: below these a change is noise to an operator too.
FLOOR = {
    "cpu.usage.average": 3.0,
    "cpu.ready.summation": 0.5,
    "mem.usage.average": 2.0,
    "mem.vmmemctl.average": 64.0,
    "mem.swapinRate.average": 8.0,
    "disk.maxTotalLatency.latest": 1.0,
    "net.droppedRx.summation": 1.0,
}
RELATIVE_FLOOR = 0.10
MIN_SAMPLES = 12           # fewer than this (an hour at 300 s): no baseline
HOURLY_MIN_DAYS = 3.0      # a daily shape is learned from 3 days of history or more
HOURLY_MIN_SAMPLES = 3     # per hour of the day
DEVIATION_CLIP = 100.0
CACHE_FORMAT = 1


def to_units(counter, values, interval, num_cpu=1.0):
    """vSphere values of `counter` sampled every `interval` s -> feature units (float array, NaN kept)."""
    require_numpy()
    v = np.asarray(values, dtype=float)
    if counter in ("cpu.usage.average", "mem.usage.average"):
        return v / 100.0
    if counter == "cpu.ready.summation":
        # ms of ready time per interval, summed over vCPUs -> % of one vCPU's time
        return v / (float(interval) * 1000.0) * 100.0 / np.maximum(np.asarray(num_cpu, dtype=float), 1.0)
    if counter == "mem.vmmemctl.average":
        return v / 1024.0
    if counter == "net.droppedRx.summation":
        return v * (REALTIME_INTERVAL / float(interval))
    return v


def learn_one(values, hours=None, days=None):
    """One VM's baseline of one counter from its history (feature units, NaN ignored).

    hours: the hour of day (0-23) of each value, for the daily shape; days:
    the span of the history in days. Returns {centre, spread, hourly, n} or
    None when there are fewer than MIN_SAMPLES values.
    """
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if ok.sum() < MIN_SAMPLES:
        return None
    v = v[ok]
    centre = float(np.median(v))
    hourly = None
    resid = v - centre
    if hours is not None and days is not None and days >= HOURLY_MIN_DAYS:
        h = np.asarray(hours)[ok]
        prof = [None] * 24
        resid = np.empty_like(v)
        for hour in range(24):
            sel = h == hour
            if sel.sum() >= HOURLY_MIN_SAMPLES:
                prof[hour] = round(float(np.median(v[sel])), 4)
                resid[sel] = v[sel] - prof[hour]
            else:
                resid[sel] = v[sel] - centre
        hourly = prof if any(p is not None for p in prof) else None
    mad = float(np.median(np.abs(resid - np.median(resid))))
    return {"centre": round(centre, 4), "spread": round(mad * 1.4826, 4), "hourly": hourly, "n": int(ok.sum())}


def learn(series, num_cpu=1.0):
    """A VM's baseline from its historical rollups.

    series: {interval: {"timestamps": [datetime...], counter: [values...]}}
    as VSphere.query_perf answers (vSphere units). Values are aligned to the
    newest timestamps (a shorter series lacks its oldest samples). The 300 s
    rollup covers the last day; the 1800 s rollup adds what is older.
    Returns {"days": float, "counters": {counter: learn_one(...)}}.
    """
    require_numpy()
    per_counter = {c: ([], []) for c in COUNTERS}  # counter -> (timestamps, values in feature units)
    first = last = None
    fine_start = None
    for interval in sorted(series, key=int):
        row = series[interval] or {}
        stamps = list(row.get("timestamps") or [])
        if not stamps:
            continue
        for counter in COUNTERS:
            values = list(row.get(counter) or [])
            if not values:
                continue
            ts = stamps[len(stamps) - len(values):]
            vals = to_units(counter, [x if x is not None and x >= 0 else np.nan for x in values], int(interval), num_cpu)
            keep = [i for i, t in enumerate(ts) if fine_start is None or t < fine_start]
            per_counter[counter][0].extend(ts[i] for i in keep)
            per_counter[counter][1].extend(float(vals[i]) for i in keep)
        lo, hi = min(stamps), max(stamps)
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
        fine_start = lo if fine_start is None else min(fine_start, lo)
    days = (last - first).total_seconds() / 86400.0 if first is not None else 0.0
    counters = {}
    for counter, (ts, vals) in per_counter.items():
        hours = [t.hour for t in ts]
        got = learn_one(vals, hours, days)
        if got is not None:
            counters[counter] = got
    return {"days": round(days, 3) if counters else 0.0, "counters": counters}


def centre_spread(baselines, counters, hour):
    """Arrays (n,) of centre and spread per counter for a fleet's baselines at `hour` of the day.

    baselines: a list with one entry per VM (learn()'s answer, or None); NaN
    where a VM has no baseline for a counter. Returns ({counter: centre},
    {counter: spread}, days (n,)).
    """
    require_numpy()
    n = len(baselines)
    centre = {c: np.full(n, np.nan) for c in counters}
    spread = {c: np.full(n, np.nan) for c in counters}
    days = np.zeros(n)
    for i, b in enumerate(baselines):
        if not b:
            continue
        days[i] = float(b.get("days") or 0.0)
        for c in counters:
            one = (b.get("counters") or {}).get(c)
            if not one:
                continue
            hourly = one.get("hourly")
            mid = hourly[hour] if hourly and hour is not None and hourly[hour] is not None else one["centre"]
            centre[c][i] = mid
            spread[c][i] = floored_spread(c, one["spread"], mid)
    return centre, spread, days


def floored_spread(counter, spread, centre):
    """The spread a deviation is measured in: never below the counter's floor nor 10 % of the centre."""
    return np.maximum(np.maximum(spread, FLOOR[counter]), RELATIVE_FLOOR * np.abs(centre))


def deviation(value, centre, spread):
    """(value - centre) / spread, clipped; NaN where either side is unknown."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.clip((np.asarray(value, dtype=float) - centre) / spread, -DEVIATION_CLIP, DEVIATION_CLIP)


def confidence_factor(days, without=0.7):
    """How much of a score's confidence survives the baseline it rests on: `without` for none, 1 from a day up."""
    return without + (1.0 - without) * np.clip(np.asarray(days, dtype=float), 0.0, 1.0)


class BaselineCache:
    """Baselines by VM instance UUID in one JSON file, with the time each was learned.

    The file is written atomically (a killed run leaves the previous one) and
    private (0600): it names VMs. A baseline older than `refresh` is stale:
    the next run re-reads that VM's rollups.
    """

    def __init__(self, path, refresh=datetime.timedelta(hours=1)):
        self.path = os.path.expanduser(path) if path else None
        self.refresh = refresh
        self.entries = {}
        if self.path and os.path.exists(self.path):
            try:
                with open(self.path, encoding="utf-8") as f:
                    data = json.load(f)
            except (OSError, ValueError) as e:
                raise MirroringError("Baseline cache %s is unreadable (%s): delete it and it is rebuilt from vCenter's "
                                     "rollups" % (self.path, e)) from None
            if isinstance(data, dict) and data.get("format") == CACHE_FORMAT and isinstance(data.get("vms"), dict):
                self.entries = data["vms"]

    def stale(self, uuids, now):
        """The UUIDs whose baseline is missing or older than the refresh period."""
        out = []
        for u in uuids:
            e = self.entries.get(u)
            learned = parse_time(e.get("learned")) if isinstance(e, dict) else None
            if learned is None or now - learned >= self.refresh:
                out.append(u)
        return out

    def get(self, uuid):
        e = self.entries.get(uuid)
        return e.get("baseline") if isinstance(e, dict) else None

    def put(self, uuid, baseline, now):
        self.entries[uuid] = {"learned": now.isoformat(), "baseline": baseline}

    def save(self, now=None, forget=datetime.timedelta(days=7)):
        """Write the cache; entries not refreshed for `forget` (VMs that are gone) are dropped."""
        if not self.path:
            return
        if now is not None:
            self.entries = {u: e for u, e in self.entries.items()
                            if isinstance(e, dict) and parse_time(e.get("learned")) and now - parse_time(e["learned"]) < forget}
        data = json.dumps({"format": CACHE_FORMAT, "vms": self.entries}, separators=(",", ":"), sort_keys=True)
        try:
            os.makedirs(os.path.dirname(self.path) or ".", mode=0o700, exist_ok=True)
            write_atomic(self.path, data.encode(), mode=0o600)
        except OSError as e:
            raise MirroringError("Baseline cache %s cannot be written (%s): point baseline_cache (PM_BASELINE_CACHE) at "
                                 "a writable path, or set it empty to keep nothing" % (self.path, e)) from None
