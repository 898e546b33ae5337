# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator's report: one self-contained HTML file (plots embedded) and the plots as PNG files.

Everything drawn comes from the data passed in, and the same data gives the
same bytes (no timestamps of the run, PNG metadata stripped), so writing the
report is idempotent.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.util
import io
import json
import math
import os
import re

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_IMAGE_RPO, FULL, LEVELS, MINIMAL, PARTIAL
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, require
from ansible_collections.predictive.mirroring.plugins.module_utils.fileio import read_bytes, write_atomic
from ansible_collections.predictive.mirroring.plugins.module_utils.history import follows, open_store, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.model import manifest_of

HAS_MATPLOTLIB = importlib.util.find_spec("matplotlib") is not None
MATPLOTLIB_IMPORT_ERROR = None if HAS_MATPLOTLIB else "No module named 'matplotlib'"


class _Pyplot:  # pylint: disable=too-few-public-methods
    """matplotlib.pyplot, imported on first use: a run whose plots are all as they were draws none (and a third of a
    second of import is not paid)."""

    def __getattr__(self, name):
        import matplotlib  # pylint: disable=import-outside-toplevel
        matplotlib.use("Agg")
        import matplotlib.pyplot as real  # pylint: disable=import-outside-toplevel
        return getattr(real, name)


plt = _Pyplot()

# what the report writes: the page and one PNG per plot
FILES = ("index.html", "fps_distribution.png", "levels.png", "levels_over_time.png", "cost_risk.png", "reliability.png",
         "rpo.png")
COLOURS = {MINIMAL: "#9bb7d4", PARTIAL: "#f2b134", FULL: "#d1495b"}


def _png(fig):
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def plot_fps(scores, bands):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.hist(scores, bins=range(0, 105, 5), color="#4c72b0", edgecolor="white")
    for x, label in ((bands["partial_above"], PARTIAL), (bands["full_above"], FULL), (bands["failover_threshold"], "failover")):
        ax.axvline(x, color="#555555", linestyle="--", linewidth=1)
        ax.text(x + 0.5, ax.get_ylim()[1] * 0.92, label, fontsize=8, color="#555555")
    ax.set_xlabel("Failure Probability Score")
    ax.set_ylabel("VMs")
    ax.set_xlim(0, 100)
    ax.set_title("FPS distribution (%d VMs)" % len(scores))
    fig.tight_layout()
    return _png(fig)


def plot_levels(counts):
    fig, ax = plt.subplots(figsize=(5, 3.2))
    bars = ax.bar(LEVELS, [counts.get(lvl, 0) for lvl in LEVELS], color=[COLOURS[lvl] for lvl in LEVELS])
    ax.bar_label(bars)
    ax.set_ylabel("VMs")
    ax.set_title("VMs per level")
    fig.tight_layout()
    return _png(fig)


def levels_over_time(decisions):
    """[(time, {level: count})] replaying the recorded level changes in order."""
    state, out = {}, []
    for d in decisions:
        if d["level_to"] in LEVELS:
            state[d["vm"]] = d["level_to"]
        out.append((d["at"], {lvl: sum(1 for v in state.values() if v == lvl) for lvl in LEVELS}))
    return out


def plot_levels_over_time(series):
    fig, ax = plt.subplots(figsize=(7, 3.2))
    if series:
        xs = list(range(len(series)))
        for lvl in LEVELS:
            ax.step(xs, [c[lvl] for _t, c in series], where="post", label=lvl, color=COLOURS[lvl])
        ticks = sorted({0, len(series) - 1})
        ax.set_xticks(ticks)
        ax.set_xticklabels([series[i][0][:16].replace("T", " ") for i in ticks], fontsize=8)
        ax.legend(fontsize=8)
    else:
        ax.text(0.5, 0.5, "no level changes recorded yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_ylabel("VMs")
    ax.set_title("Levels over time (%d recorded changes)" % len(series))
    fig.tight_layout()
    return _png(fig)


def plot_cost_risk(totals):
    fig, ax = plt.subplots(figsize=(6, 3.2))
    names = ["mirroring cost", "risk covered", "risk left"]
    values = [totals.get("cost_month", 0.0), totals.get("risk_covered", 0.0), totals.get("risk_month", 0.0)]
    bars = ax.bar(names, values, color=["#4c72b0", "#55a868", "#c44e52"])
    ax.bar_label(bars, labels=["%.0f" % v for v in values])
    ax.set_ylabel("per month")
    ax.set_title("Planned cost against the risk it covers")
    fig.tight_layout()
    return _png(fig)


def rpo_points(vms):
    """What each mirrored VM holds against its recovery point objectives: [(label, held share of the RPO or None when
    unknown)], the image of each mirror at partial and full, and each data provider's lag."""
    def share(value, rpo):
        # in twentieths of the RPO, rounded up, the first from 0 (held stays exactly "at most the RPO"): the same
        # fleet writes the same report a few seconds later, a mirror synced this second included
        return None if value is None else max(1, math.ceil(float(value) / rpo * 20)) / 20.0
    out = []
    for v in vms:
        if v.get("image_rpo_seconds"):
            out.append(("%s image" % v["name"], share(v.get("mirror_age_seconds"), v["image_rpo_seconds"])))
        for provider, (lag, rpo) in sorted((v.get("data") or {}).items()):
            if rpo:
                out.append(("%s %s" % (v["name"], provider), share(lag, rpo)))
    return out


def rpo_summary(points):
    held = [r for _l, r in points if r is not None and r <= 1.0]
    return "%d of %d recovery points held (%d unknown)" % (len(held), len(points),
                                                           sum(1 for _l, r in points if r is None))


def plot_rpo(points, worst=30):
    """The recovery points against their targets: each bar is the share of its RPO used (1.0 is the RPO), the worst
    `worst` of the fleet; an unknown age is drawn past the line."""
    # the worst first, ties by name: the inventory's host order is not the same from one run to the next
    shown = sorted(points, key=lambda p: (-(p[1] if p[1] is not None else float("inf")), p[0]))[:worst]
    fig, ax = plt.subplots(figsize=(7, max(2.4, 0.28 * len(shown) + 1.2)))
    if shown:
        top = max([1.5] + [r for _l, r in shown if r is not None])
        values = [top * 1.1 if r is None else r for _l, r in shown]
        colours = ["#c44e52" if r is None or r > 1.0 else "#55a868" for _l, r in shown]
        ax.barh([label + (" (unknown)" if r is None else "") for label, r in shown][::-1], values[::-1],
                color=colours[::-1])
        ax.axvline(1.0, color="#333333", linestyle="--", linewidth=1, label="RPO")
        ax.legend(fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
    else:
        ax.text(0.5, 0.5, "no mirror at partial or full yet", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("share of the RPO used (age or lag / RPO)")
    ax.set_title("Recovery points held against their targets")
    fig.tight_layout()
    return _png(fig)


def plot_reliability(reliability):
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], color="#999999", linestyle="--", linewidth=1, label="perfect calibration")
    # bins of [mean predicted probability, observed failure rate, windows]
    pts = [(b[0], b[1]) for b in reliability if b[2]]
    if pts:
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", color="#4c72b0", label="model")
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("observed failure rate")
    ax.set_title("Reliability (hold-out)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return _png(fig)


def label_text(failover):
    """A failover's label for the table: its outcome, "pending" until known, or the VM its application followed."""
    if follows(failover):
        return "with %s" % follows(failover)
    return failover["outcome"] or "pending"


def _table(headers, rows, table_id):
    head = "".join("<th>%s</th>" % html.escape(str(h)) for h in headers)
    body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % html.escape("" if c is None else str(c)) for c in r) for r in rows)
    return '<table id="%s"><thead><tr>%s</tr></thead><tbody>%s</tbody></table>' % (table_id, head, body)


def _drawn(name, draw, args, previous):
    """(png, digest of its inputs): the PNG already written when the index there says it was drawn from the same
    inputs (matplotlib renders the same inputs to the same bytes), else drawn now. Each plot is given only what it
    draws, so a figure that moves every run (a mirror's age) does not make the others look changed."""
    # canonical: a dict's order may differ from one run to the next (one built from a set)
    key = hashlib.sha256(json.dumps([name, draw.__name__, args], sort_keys=True, default=repr).encode()).hexdigest()[:32]
    old, index = previous.get(name), previous.get("index.html") or b""
    written = re.search(('<img id="%s" data-inputs="([0-9a-f]+)"' % name[:-4]).encode(), index)
    if not old or base64.b64encode(old) not in index:
        written = None  # the page does not hold the PNG that is there: draw it
    if written and written.group(1).decode() == key:
        return old, key
    png = draw(*args)
    if written and png == old:  # other inputs, the same picture: the page stays as it was
        return old, written.group(1).decode()
    return png, key


def build(vms, plan_totals, decisions, failovers, manifest, bands, previous=None):
    """{file name: bytes} - index.html and the PNG plots. previous: the files already written ({name: bytes}), whose
    plots are kept where their inputs did not change."""
    require("matplotlib", HAS_MATPLOTLIB, MATPLOTLIB_IMPORT_ERROR)
    previous = previous or {}
    counts = {lvl: sum(1 for v in vms if v["level"] == lvl) for lvl in LEVELS}
    metrics = manifest.get("metrics", {})
    series = levels_over_time(decisions)
    points = rpo_points(vms)
    plots = {
        "fps_distribution.png": ((plot_fps, (sorted(v["fps"] for v in vms), bands)), "FPS distribution of %d VMs" % len(vms)),
        "levels.png": ((plot_levels, (counts,)), "VMs per level: " + ", ".join("%s %d" % (k, counts[k]) for k in LEVELS)),
        "levels_over_time.png": ((plot_levels_over_time, (series,)), "Levels over time: %d recorded changes" % len(series)),
        "cost_risk.png": ((plot_cost_risk, ({k: plan_totals.get(k, 0.0) for k in ("cost_month", "risk_covered", "risk_month")},)),
                          "Cost %.2f, risk covered %.2f, risk left %.2f per month" % (
            plan_totals.get("cost_month", 0.0), plan_totals.get("risk_covered", 0.0), plan_totals.get("risk_month", 0.0))),
        "reliability.png": ((plot_reliability, (metrics.get("reliability", []),)), "Reliability curve of the model (hold-out)"),
        "rpo.png": ((plot_rpo, (sorted(points, key=lambda p: (p[0], p[1] is None, p[1] or 0.0)),)), "Recovery points: %s" % rpo_summary(points)),
    }
    sections = []
    for name, ((draw, args), alt) in plots.items():
        png, key = _drawn(name, draw, args, previous)
        plots[name] = (png, alt)
        sections.append('<figure><img id="%s" data-inputs="%s" alt="%s" src="data:image/png;base64,%s">'
                        '<figcaption>%s</figcaption></figure>'
                        % (name[:-4], key, html.escape(alt), base64.b64encode(png).decode(), html.escape(alt)))
    # ties by name: the hosts come in the order of a set (Ansible's difference), which changes from run to run
    risky = sorted(vms, key=lambda v: (-v["fps"], v["name"], v.get("datacenter") or ""))[:10]
    tables = [
        "<h2>Levels</h2>" + _table(["level", "VMs"], [(lvl, counts[lvl]) for lvl in LEVELS], "levels-table"),
        "<h2>Cost and risk (per month)</h2>" + _table(
            ["planned mirroring cost", "cost at the FPS levels", "expected loss left", "expected loss covered",
             "expected loss with nothing mirrored", "VMs lowered for the budget", "budget"],
            [(plan_totals.get("cost_month"), plan_totals.get("cost_at_fps_levels"), plan_totals.get("risk_month"),
              plan_totals.get("risk_covered"), plan_totals.get("risk_at_minimal"), plan_totals.get("lowered"),
              plan_totals.get("budget") if plan_totals.get("budget") is not None else "none")], "cost-table"),
        "<h2>Riskiest VMs</h2>" + _table(["VM", "datacenter", "FPS", "level", "top reason"],
                                         [(v["name"], v.get("datacenter") or "", "%.1f" % v["fps"], v["level"],
                                           v.get("reason") or "") for v in risky],
                                         "risky-table"),
        "<h2>The model</h2>" + _table(
            ["ROC-AUC", "PR-AUC", "Brier", "ECE", "precision at the failover threshold", "recall there", "horizon (h)",
             "scikit-learn", "sha256"],
            [(metrics.get("roc_auc"), metrics.get("pr_auc"), metrics.get("brier"), metrics.get("ece"),
              metrics.get("precision_at_failover"), metrics.get("recall_at_failover"), manifest.get("horizon_hours"),
              manifest.get("sklearn_version"), (manifest.get("sha256") or "")[:12])], "model-table"),
        "<h2>Recent failovers</h2>" + _table(
            ["when", "VM", "kind", "FPS", "label", "downtime (s)", "data lag (s)", "failed back"],
            [(f["at"], f["vm"], f["kind"], "" if f["fps"] is None else "%.1f" % f["fps"], label_text(f),
              f["downtime_s"], f["data_lag_s"], f["failback_at"] or "") for f in list(reversed(failovers))[:20]],
            "failovers-table"),
    ]
    page = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>predictive.mirroring report</title>
<style>body{font-family:sans-serif;margin:2em;max-width:1100px}figure{display:inline-block;margin:0 1em 1em 0}
figcaption{font-size:80%%;color:#555}table{border-collapse:collapse;margin-bottom:1.5em}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}th{background:#f3f3f3}</style></head>
<body><h1>predictive.mirroring</h1>
<p id="summary">%d VMs scored; %d minimal, %d partial, %d full; %d failovers recorded.</p>
%s
%s
</body></html>
""" % (len(vms), counts[MINIMAL], counts[PARTIAL], counts[FULL], len(failovers), "\n".join(sections), "\n".join(tables))
    files = {"index.html": page.encode()}
    files.update({name: png for name, (png, _alt) in plots.items()})
    return files


def report_rows(vms):
    """The report's rows from inventory hostvars (vm_name/name, fps, mirroring_level/level, fps_reasons/reason)."""
    rows = []
    for i, vm in enumerate(vms):
        name = vm.get("vm_name") or vm.get("name")
        level = vm.get("mirroring_level") or vm.get("level")
        if name is None or vm.get("fps") is None or level is None:
            raise MirroringError("vms[%d] needs a name, an fps and a level" % i)
        reasons = vm.get("fps_reasons") or []
        reason = vm.get("reason") or (reasons[0].get("feature") if reasons and isinstance(reasons[0], dict) else None)
        # the image RPO of the level held now (the VM's own when it has one); the data providers' lag and RPO
        held = vm.get("mirroring_level_current") or level
        image_rpo = (vm.get("mirroring_vm_image_rpo_seconds") or DEFAULT_IMAGE_RPO.get(held)) \
            if held in DEFAULT_IMAGE_RPO else None
        lags, rpos = vm.get("data_lag_seconds") or {}, vm.get("data_rpo_seconds") or {}
        # namesakes (one name in two datacenters) stand side by side, told apart by their datacenter
        rows.append({"name": name, "datacenter": vm.get("datacenter"), "fps": float(vm["fps"]), "level": level,
                     "reason": reason, "mirror_age_seconds": vm.get("mirror_age_seconds"),
                     "image_rpo_seconds": int(image_rpo) if image_rpo else None,
                     "data": {p: (lags.get(p), rpos.get(p)) for p in set(lags) | set(rpos)}})
    return rows


def write_task(p, task):
    """The fps_report module: build the report's files and write those that differ, each atomically."""
    vms = report_rows(p["vms"])
    manifest = manifest_of(p["model_path"], p)
    decisions, failovers = [], []
    if store_configured(p):
        with open_store(p) as h:
            decisions, failovers = h.decisions(), h.failovers()
    previous = {name: read_bytes(os.path.join(p["dest"], name)) for name in FILES}
    files = build(vms, p["plan_totals"], decisions, failovers, manifest,
                  {k: p[k] for k in ("partial_above", "full_above", "failover_threshold")}, previous=previous)
    changed_files = [name for name, data in files.items() if previous.get(name) != data]
    if changed_files and not task.check_mode:
        try:
            os.makedirs(p["dest"], exist_ok=True)
            for name in changed_files:
                write_atomic(os.path.join(p["dest"], name), files[name])
        except OSError as e:
            raise MirroringError("Cannot write the report in %s: %s" % (p["dest"], e.strerror or e)) from e
        task.changed = True
    return dict(changed=bool(changed_files), path=os.path.join(p["dest"], "index.html"), files=sorted(files),
                diff={"before": {"changed_files": []}, "after": {"changed_files": changed_files}})
