# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus metrics of the mirroring state, made from the history store and nothing else.

One function, ``families(store)``, reads the store and builds every metric family; the run_metrics module writes
them to a node_exporter textfile-collector file at the end of each run, and the exporter
(extensions/prometheus/exporter.py) serves the same families on a scrape. So both say the same thing, and a
run that wrote nothing (a dry run, a job that died) changes nothing.

Counters are counts of records in the store (failovers, refusals, runs): monotonic as long as the store is kept.
Times are exposed as Unix timestamps (``*_timestamp_seconds``), the Prometheus convention; alert rules compare
them with ``time()``.

Cardinality: two series per VM (``fps`` and ``level``), one more per VM with replicated data (``data_lag_seconds``
and ``data_rpo_seconds``) and per VM waiting at failover_now; everything else is per job, kind or reason, or per
VM that failed over, was refused or drilled in the last ``RECENT_DAYS`` days (drills: every VM ever drilled). 50,000
VMs make about 100,000 series: routine for one Prometheus (docs/observability.md).
"""

from __future__ import annotations

import collections
import datetime
import os
import sys

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.fileio import read_bytes, write_atomic
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, outcome_metrics, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import FAILOVER_KINDS, LEVELS, RANK

try:
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    HAS_PROMETHEUS_CLIENT, PROMETHEUS_CLIENT_IMPORT_ERROR = True, None
except ImportError as _e:  # pragma: no cover - prometheus_client is in requirements.txt
    HAS_PROMETHEUS_CLIENT, PROMETHEUS_CLIENT_IMPORT_ERROR = False, _e

PREFIX = "predictive_mirroring_"
JOBS = ("reconcile", "failover", "failback", "drill", "analyse", "evacuate")
REFUSAL_REASONS = ("blast_radius", "telemetry_gap", "preflight")
RECENT_DAYS = 7
VM_LABELS = ["vcenter", "datacenter", "cluster", "vm", "uuid"]
# the families whose values change between two otherwise identical runs: times, the replication lag measured at that
# time, and the FPS scored from a window that moved with the clock (a VM's level is in `level`, which counts); a run
# whose metrics differ only in these changed nothing. Everything else is a pure function of the store's records.
MEASURED_FAMILIES = ("run_duration_seconds", "run_last_success_timestamp_seconds", "data_lag_seconds", "fps")


def _ts(iso):
    return datetime.datetime.fromisoformat(iso).timestamp() if iso else None


def _require():
    if not HAS_PROMETHEUS_CLIENT:
        raise MirroringError("The metrics need the Python library prometheus_client (pip install -r requirements.txt "
                             "of predictive.mirroring): %s" % PROMETHEUS_CLIENT_IMPORT_ERROR)


def families(store, now=None):
    """Every metric family, from the store's records, in a fixed order with sorted samples."""
    _require()
    now = now or datetime.datetime.now(datetime.timezone.utc)
    recent = (now - datetime.timedelta(days=RECENT_DAYS)).replace(microsecond=0).isoformat()
    out = []

    def gauge(name, doc, labels=None):
        f = GaugeMetricFamily(PREFIX + name, doc, labels=labels)
        out.append(f)
        return f

    def counter(name, doc, labels=None):
        f = CounterMetricFamily(PREFIX + name, doc, labels=labels)
        out.append(f)
        return f

    vms = store.vm_status()
    # every failover, read once (a rare event: hundreds of rows, not millions), oldest first
    failovers = store.failovers()
    counts = collections.Counter((f["kind"], f["outcome"]) for f in failovers)
    newest = {(f["vcenter"] or "", f["vm"], f["vm_uuid"] or "", f["kind"]): f["at"] for f in failovers}
    # a failover recorded since the VM's last scoring is news the VM's row has not caught up with (by instance UUID)
    open_failovers = {f["vm_uuid"] for f in failovers if f["kind"] != "drill" and f["vm_uuid"] and not f["failback_at"]}
    last_failover = {f["vm_uuid"]: f["at"] for f in failovers if f["kind"] != "drill" and f["vm_uuid"]}
    fps = gauge("fps", "Failure Probability Score (0-100) of the VM when it was last scored", VM_LABELS + ["level"])
    level = gauge("level", "Mirroring level of the VM: 0 minimal, 1 partial, 2 full", VM_LABELS)
    quarantined = gauge("failed_over", "1 while the VM is failed over to its mirror (a failover not failed back)",
                        VM_LABELS)
    waiting = gauge("failover_now_since_timestamp_seconds",
                    "Since when the VM has been at failover_now (FPS above the failover threshold) without a failover",
                    VM_LABELS)
    lag = gauge("data_lag_seconds", "How far the VM's replicated data is behind, by provider", VM_LABELS + ["provider"])
    rpo = gauge("data_rpo_seconds", "The recovery point objective of the VM's replicated data, by provider",
                VM_LABELS + ["provider"])
    for v in vms:
        ids = [v["vcenter"], v["datacenter"] or "", v["cluster"] or "", v["vm"], v["vm_uuid"]]
        if v["fps"] is not None:
            fps.add_metric(ids + [v["level"] or ""], v["fps"])
        if v["level"] in RANK:
            level.add_metric(ids, RANK[v["level"]])
        if v["quarantined"] or v["vm_uuid"] in open_failovers:
            quarantined.add_metric(ids, 1)
        if v["failover_now_since"] and last_failover.get(v["vm_uuid"], "") < v["failover_now_since"]:
            waiting.add_metric(ids, _ts(v["failover_now_since"]))
        for provider, figures in sorted(v["data"].items()):
            if figures.get("lag_seconds") is not None:
                lag.add_metric(ids + [provider], figures["lag_seconds"])
            if figures.get("rpo_seconds") is not None:
                rpo.add_metric(ids + [provider], figures["rpo_seconds"])
    by_level = gauge("vms", "VMs at each mirroring level", ["level"])
    for name in LEVELS:
        by_level.add_metric([name], sum(1 for v in vms if v["level"] == name))

    runs = store.runs_summary()
    plan = (runs.get("reconcile") or {}).get("detail", {}).get("plan") or {}
    for name, key, doc in (("plan_cost_month", "cost_month", "Monthly cost of the planned levels (the last reconcile)"),
                           ("plan_expected_loss_month", "risk_month",
                            "Expected monthly loss from failures at the planned levels (the last reconcile)"),
                           ("plan_budget_month", "budget", "The monthly budget the last reconcile planned under")):
        family = gauge(name, doc)  # no sample until a reconcile has planned (or without a budget)
        if plan.get(key) is not None:
            family.add_metric([], plan[key])

    total = counter("failovers", "Failovers recorded, by kind", ["kind"])
    for kind in FAILOVER_KINDS:
        total.add_metric([kind], sum(n for (k, _o), n in counts.items() if k == kind))
    labelled = gauge("failovers_by_outcome", "Failovers by kind and the analysis's label (pending: not labelled yet)",
                     ["kind", "outcome"])
    for kind in FAILOVER_KINDS:
        for outcome in ("confirmed", "unconfirmed", "missed", "pending"):
            labelled.add_metric([kind, outcome], counts.get((kind, None if outcome == "pending" else outcome), 0))
    last = gauge("failover_timestamp_seconds", "When the VM last failed over, by kind (failovers of the last %d days)"
                 % RECENT_DAYS, ["vcenter", "vm", "uuid", "kind"])
    drill = gauge("last_drill_timestamp_seconds", "When the VM's last successful drill ended", ["vcenter", "vm", "uuid"])
    for (vcenter, vm, uuid, kind), at in sorted(newest.items()):
        if kind == "drill":
            drill.add_metric([vcenter, vm, uuid], _ts(at))
        elif at >= recent:
            last.add_metric([vcenter, vm, uuid, kind], _ts(at))

    refusals = store.refusal_counts()
    refused = counter("failover_refusals", "Failovers refused, by reason", ["reason"])
    for reason in sorted(set(REFUSAL_REASONS) | set(refusals)):
        refused.add_metric([reason], refusals.get(reason, 0))
    last_refusal = gauge("refusal_timestamp_seconds", "When a failover of the VM was last refused, by reason (the last "
                         "%d days)" % RECENT_DAYS, ["vcenter", "vm", "uuid", "reason"])
    for r in store.last_refusals(since=recent):
        last_refusal.add_metric([r["vcenter"] or "", r["vm"], r["vm_uuid"] or "", r["reason"]], _ts(r["at"]))

    overall, _months = outcome_metrics([f for f in failovers if f["kind"] != "drill"])
    decided = gauge("model_labelled_failovers", "Failovers the analysis has labelled (confirmed, unconfirmed, missed)")
    decided.add_metric([], overall["confirmed"] + overall["unconfirmed"] + overall["missed"])
    for name in ("precision", "recall"):
        family = gauge("model_" + name, "The %s of predictive failovers, from the analysis's labels (no sample before "
                       "the first label)" % name)
        if overall[name] is not None:
            family.add_metric([], overall[name])

    duration = gauge("run_duration_seconds", "How long the job's last run took", ["job"])
    success = gauge("run_last_success_timestamp_seconds", "When the job last ended with success", ["job"])
    failures = counter("run_failures", "Runs of the job that failed", ["job"])
    for job in sorted(runs):
        r = runs[job]
        duration.add_metric([job], r["duration_s"] or 0.0)
        if r["last_success"]:
            success.add_metric([job], _ts(r["last_success"]))
        failures.add_metric([job], r["runs"]["failed"])
    return out


class StoreCollector:
    """A prometheus_client collector reading the store at each collection (the exporter's)."""

    def __init__(self, open_store):
        self.open_store = open_store
        self.last_error = None

    def collect(self):
        up = GaugeMetricFamily(PREFIX + "store_up", "1 when the history store answered this scrape")
        try:
            with self.open_store() as store:
                found = families(store)
        except MirroringError as e:  # the store's own messages name it without a password
            self.last_error = str(e)
            sys.stderr.write("predictive.mirroring exporter: %s\n" % e)
            up.add_metric([], 0)
            yield up
            return
        self.last_error = None
        up.add_metric([], 1)
        yield up
        yield from found


def render(found):
    """The text exposition format of metric families."""
    _require()

    class _Fixed:
        def collect(self):
            return found

    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Fixed())
    return generate_latest(registry)


def comparable(text):
    """The exposition without the lines that change between identical runs (times, measured lags, scores), to tell
    whether it changed."""
    drop = {PREFIX + f for f in MEASURED_FAMILIES}

    def family(line):
        return line.split()[2] if line.startswith("#") else line.split("{")[0].split(" ")[0]
    lines = text.decode("utf-8").splitlines() if isinstance(text, bytes) else text.splitlines()
    return [line for line in lines if family(line) not in drop]


def check_textfile(path):
    """The directory of a metrics file that can be written; MirroringError naming what is wrong otherwise."""
    directory = os.path.dirname(os.path.abspath(path))
    if not path.endswith(".prom"):
        raise MirroringError("The metrics file %s must end in .prom (node_exporter's textfile collector reads only those)"
                             % path)
    if not os.path.isdir(directory):
        raise MirroringError("The metrics file's directory %s does not exist (the textfile collector's directory, "
                             "node_exporter --collector.textfile.directory)" % directory)
    return directory


def write_textfile(path, data):
    """Write the exposition atomically: node_exporter never reads a half-written file. The file is 0644: metrics hold
    VM names, no secret."""
    check_textfile(path)
    write_atomic(path, data, 0o644)


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
        if reason not in REFUSAL_REASONS:
            raise MirroringError("a refusal's reason is one of %s, not %r (VM %s)"
                                 % (", ".join(REFUSAL_REASONS), reason, vm))
        rows.append({"vm": vm, "vm_uuid": r.get("vm_instance_uuid") or r.get("vm_uuid"), "vcenter": r.get("vcenter"),
                     "reason": reason, "why": r.get("why") or r.get("failover_refused_why"),
                     "given": dict(r, reason=reason, why=r.get("why") or r.get("failover_refused_why"))})
    return rows


def record_task(p, task):
    """The run_metrics module: record the run, the VMs' states and refusals in the store, write the textfile."""
    out = dict(changed=False, textfile=p["textfile"], refusals_new=[], rpo_violations=[], rpo_violations_new=[], vms=0,
               series=0)
    try:
        started = parse_started(p["started"])
        finished = datetime.datetime.now(datetime.timezone.utc)
        states = vm_states(p["vms"], p["plan"], p["failover_now"], p["rpo_seconds"])
        refusals = refusal_rows(p["refusals"])
        if p["textfile"]:
            check_textfile(p["textfile"])  # before the store is written: a bad path changes nothing
        if task.check_mode and not store_configured(p):
            return out
        with open_store(p) as h:
            before = {(v["vcenter"], v["vm_uuid"]): v["data"] for v in h.vm_status()} if states else {}
            out["rpo_violations"], out["rpo_violations_new"] = rpo_violations(states, before)
            if not task.check_mode:
                if states:
                    h.put_vm_status(states)
                out["refusals_new"] = [n["given"] for n in h.add_refusals(refusals, p["refusal_repeat_hours"] * 3600)]
                detail = {"plan": (p["plan"] or {}).get("totals")} if p["plan"] else {}
                h.add_run(p["job"], started.replace(microsecond=0).isoformat(),
                          finished.replace(microsecond=0).isoformat(), p["status"], detail)
            found = families(h)
        out["vms"] = len(states)
        out["series"] = sum(len(f.samples) for f in found)
        if p["textfile"]:
            data = render(found)
            before = comparable(read_bytes(p["textfile"]) or b"")
            out["changed"] = before != comparable(data)
            if task.diff and out["changed"]:
                out["diff"] = {"before_header": p["textfile"], "after_header": p["textfile"],
                               "before": "\n".join(before) + "\n", "after": "\n".join(comparable(data)) + "\n"}
            if not task.check_mode:
                write_textfile(p["textfile"], data)
    except MirroringError as e:
        e.result.update(out)
        raise
    except OSError as e:
        raise MirroringError("Cannot write the metrics file %s: %s" % (p["textfile"], e.strerror or e), **out) from e
    return out
