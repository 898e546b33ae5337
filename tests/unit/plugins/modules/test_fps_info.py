from __future__ import annotations

import json
import shutil

from ansible_collections.predictive.mirroring.plugins.modules import fps_info
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet

from common.utils import run_module


def test_given_telemetry_is_scored_without_vcenter(default_model):
    telemetry = [{"name": "healthy", "num_cpu": 2, "samples": fleet.scenario_series("healthy", 0.0, seed=1)},
                 {"name": "leaking", "num_cpu": 2, "samples": fleet.scenario_series("memory_leak", 0.9, seed=1),
                  "events": {"vm_warning": 12, "vm_error": 3}}]
    result, failed = run_module(fps_info, {"model_path": default_model, "telemetry": telemetry})
    assert not failed and not result["changed"]
    by = {v["name"]: v for v in result["vms"]}
    assert by["healthy"]["level"] == "minimal" and by["healthy"]["fps"] < 10
    assert by["leaking"]["fps"] > 70 and by["leaking"]["level"] == "full"
    assert by["leaking"]["reasons"][0]["feature"].startswith("mem_")
    assert result["model"]["sha256"]


def test_tampered_model_fails_with_a_clear_message(default_model, tmp_path):
    shutil.copy(default_model, tmp_path / "model.joblib")
    with open(default_model.replace(".joblib", ".json"), encoding="utf-8") as f:
        manifest = json.load(f)
    manifest["sha256"] = "0" * 64
    (tmp_path / "model.json").write_text(json.dumps(manifest))
    result, failed = run_module(fps_info, {"model_path": str(tmp_path / "model.joblib"), "telemetry": [{"name": "x"}]})
    assert failed and "refused before it is unpickled: its origin is not proven" in result["msg"]


def test_unknown_counter_and_bad_policy_are_refused(default_model):
    result, failed = run_module(fps_info, {"model_path": default_model, "telemetry": [{"name": "x", "samples": {"cpu.nope": [1]}}]})
    assert failed and "cpu.nope" in result["msg"]
    result, failed = run_module(fps_info, {"model_path": default_model, "telemetry": [{"name": "x"}], "failover_threshold": 50})
    assert failed and "failover_threshold" in result["msg"]


def test_no_vcenter_and_no_telemetry_says_what_to_set(default_model, monkeypatch):
    monkeypatch.delenv("VMWARE_HOST", raising=False)
    result, failed = run_module(fps_info, {"model_path": default_model})
    assert failed and "VMWARE_HOST" in result["msg"]
