"""playbooks/report.yml: the report rendered in headless Chromium, its plots and tables holding the run's figures."""
from __future__ import annotations

import difflib
import io
import json
import os
import re
import shutil

import matplotlib.image
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History

from rig.play import ROOT, run_playbook

playwright = pytest.importorskip("playwright.sync_api")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def test_report_renders_the_runs_figures(simulator, tmp_path):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    simulator.set_scenario("DC0_C0_RP0_VM1", "degrading_disk", 0.5, seed=7)
    simulator.set_perf("DC0_C0_RP0_VM2", fleet.scenario_series("memory_leak", 0.9, seed=7))
    history = str(tmp_path / "history.sqlite")
    report_dir = str(tmp_path / "report")
    inventory = os.path.join(ROOT, "inventories", "demo", "demo.vsphere_fps.yml")
    run_playbook(simulator, "reconcile", inventory, "-e", "mirroring_history_path=" + history)
    with History(history) as h:  # a failover as the failover role records one, labelled as the analysis does
        fid = h.add_failover("DC0_C0_RP0_VM2", "predictive", fps=91.2, downtime_s=0.0, data_lag_s=0.0)
        h.update_failover(fid, outcome="confirmed", labelled_at="2026-11-26T00:00:00+00:00")
    stats, tasks = run_playbook(simulator, "report", inventory, "-e", "mirroring_history_path=" + history,
                                "-e", "mirroring_report_dir=" + report_dir)
    assert stats["changed"] == 1
    totals = tasks["The plan (cost optimizer), as reconcile makes it"]["totals"]
    with open(os.path.join(ROOT, "models", "default", "model.json"), encoding="utf-8") as f:
        manifest = json.load(f)

    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto("file://" + os.path.join(report_dir, "index.html"))
        # every plot decoded and drawn by the browser, and not blank
        for plot in ("fps_distribution", "levels", "levels_over_time", "cost_risk", "reliability", "rpo"):
            img = page.locator("img#" + plot)
            assert page.evaluate("id => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 300 }", plot)
            pixels = matplotlib.image.imread(io.BytesIO(img.screenshot()), format="png")
            assert pixels.std() > 0.05, plot
        cells = page.eval_on_selector_all("#levels-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
        assert {lvl: int(n) for lvl, n in cells} == totals["levels"]
        cost = page.eval_on_selector_all("#cost-table tbody td", "cells => cells.map(c => c.innerText)")
        assert float(cost[0]) == totals["cost_month"] and float(cost[2]) == totals["risk_month"]
        assert float(cost[3]) == totals["risk_covered"] > 0
        model = page.eval_on_selector_all("#model-table tbody td", "cells => cells.map(c => c.innerText)")
        assert float(model[0]) == manifest["metrics"]["roc_auc"]
        failovers = page.eval_on_selector_all("#failovers-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText))")
        assert failovers[0][1:5] == ["DC0_C0_RP0_VM2", "predictive", "91.2", "confirmed"]
        assert "levels: minimal %d, partial %d, full %d" % tuple(totals["levels"][k] for k in ("minimal", "partial", "full")) \
            in page.get_attribute("img#levels", "alt").replace("VMs per level: ", "levels: ")
        with History(history) as h:
            changes = len(h.decisions())
        assert changes > 0 and "Levels over time: %d recorded changes" % changes in page.inner_text("body")
        # the recovery points: the mirrors of the VMs held at partial or full, each image within its day
        mirrored = totals["levels"]["partial"] + totals["levels"]["full"]
        assert mirrored > 0 and "Recovery points: %d of %d recovery points held (0 unknown)" % (mirrored, mirrored) \
            == page.get_attribute("img#rpo", "alt")
        page.screenshot(path=os.path.join(str(tmp_path), "report.png"), full_page=True)
        browser.close()
    for name in ("fps_distribution.png", "levels.png", "levels_over_time.png", "cost_risk.png", "reliability.png",
                 "rpo.png"):
        assert os.path.getsize(os.path.join(report_dir, name)) > 5000
    with open(os.path.join(report_dir, "index.html"), encoding="utf-8") as f:
        page_before = f.read()
    stats, _tasks = run_playbook(simulator, "report", inventory, "-e", "mirroring_history_path=" + history,
                                 "-e", "mirroring_report_dir=" + report_dir)
    with open(os.path.join(report_dir, "index.html"), encoding="utf-8") as f:
        page_after = f.read()
    # the same data writes the same bytes; when not, say which lines of the page moved (the images' bytes left out)
    moved = list(difflib.unified_diff(*(re.sub(r"base64,[^\"]*", "...", page).splitlines()
                                        for page in (page_before, page_after)), n=0))
    assert stats["changed"] == 0, moved[:20]
