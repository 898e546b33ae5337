"""The shipped alert rules, checked and unit-tested with Debian's promtool (the rules' own tests in
extensions/prometheus/alerts_test.yml), and the rules' metric names checked against the ones the collection writes."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import yaml

from ansible_collections.predictive.mirroring.plugins.module_utils import metrics

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "extensions", "prometheus")


def promtool(*args):
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed: run scripts/bootstrap.sh"
    return subprocess.run([binary] + list(args), cwd=HERE, capture_output=True, text=True, timeout=120, check=False)


def test_the_rules_are_valid_and_pass_their_unit_tests():
    check = promtool("check", "rules", "alerts.yml")
    assert check.returncode == 0 and "SUCCESS: 7 rules found" in check.stdout, check.stdout + check.stderr
    test = promtool("test", "rules", "alerts_test.yml")
    assert test.returncode == 0 and "SUCCESS" in test.stdout, test.stdout + test.stderr


def test_every_alert_is_unit_tested_and_reads_metrics_the_collection_writes(tmp_path):
    with open(os.path.join(HERE, "alerts.yml"), encoding="utf-8") as f:
        rules = [r for g in yaml.safe_load(f)["groups"] for r in g["rules"]]
    with open(os.path.join(HERE, "alerts_test.yml"), encoding="utf-8") as f:
        tested = {t["alertname"] for case in yaml.safe_load(f)["tests"] for t in case["alert_rule_test"] if t["exp_alerts"]}
    assert {r["alert"] for r in rules} == tested
    from ansible_collections.predictive.mirroring.plugins.module_utils.history import History  # noqa: E402
    with History(str(tmp_path / "h.sqlite")) as h:
        names = {f.name for f in metrics.families(h)} | {f.name + "_total" for f in metrics.families(h) if f.type == "counter"}
    used = {m for r in rules for m in re.findall(r"predictive_mirroring_[a-z_]+", r["expr"])}
    assert used and used <= names, used - names
    # a broken rule is caught: promtool is not a rubber stamp
    (tmp_path / "bad.yml").write_text("groups: [{name: x, rules: [{alert: X, expr: 'time() - '}]}]\n")
    assert promtool("check", "rules", str(tmp_path / "bad.yml")).returncode != 0


def test_every_query_of_the_grafana_dashboard_runs_in_prometheus(tmp_path):
    import json  # pylint: disable=import-outside-toplevel

    import requests  # pylint: disable=import-outside-toplevel

    from rig.prometheus import Prometheus  # pylint: disable=import-outside-toplevel
    with open(os.path.join(ROOT, "docs", "grafana", "predictive-mirroring.json"), encoding="utf-8") as f:
        dash = json.load(f)
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]] + [a["expr"] for a in dash["annotations"]["list"]]
    assert len(exprs) >= 10
    prom = Prometheus(str(tmp_path / "prometheus")).start([])
    try:
        for expr in exprs:
            r = requests.get(prom.url + "/api/v1/query", params={"query": expr}, timeout=5)
            assert r.status_code == 200 and r.json()["status"] == "success", (expr, r.text)
        bad = requests.get(prom.url + "/api/v1/query", params={"query": "sum(" + exprs[0]}, timeout=5)
        assert bad.status_code == 400  # a query that does not parse is caught
    finally:
        prom.stop()
