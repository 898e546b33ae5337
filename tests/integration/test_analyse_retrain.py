"""analyse.yml closes the loop: enough new confirmed failovers retrain the model on the history store, once."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
from ansible_collections.predictive.mirroring.plugins.module_utils.model import FPSModel

from common.utils import keypair
from rig.play import recap_changed

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
T0 = datetime.datetime(2026, 10, 1, tzinfo=datetime.timezone.utc)


def analyse(tmp_path, *extra):
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/analyse.yml", "-i", str(inventory),
                           "-e", "mirroring_history_path=%s" % (tmp_path / "history.sqlite"),
                           "-e", "mirroring_model_path=%s" % (tmp_path / "model.joblib")] + list(extra),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return proc.stdout


def test_new_confirmed_labels_retrain_the_model_once(tmp_path):
    data = fleet.bootstrap_set(seed=7, n_vms=300, days=12, windows=8000)
    rows = [{"vcenter": "vc", "vm": "vm-%d" % vm, "window_end": (T0 + datetime.timedelta(hours=float(t), seconds=i)).isoformat(),
             "features": list(x), "label": int(y)}
            for i, (x, y, t, vm) in enumerate(zip(data["X"], data["y"], data["time_h"], data["vm"]))]
    with History(str(tmp_path / "history.sqlite")) as h:
        h.add_windows(rows, telemetry.FEATURE_NAMES)
        for vm in ("web01", "db01"):  # two failovers the analysis has confirmed
            fid = h.add_failover(vm, "predictive", fps=90.0)
            h.update_failover(fid, outcome="confirmed", labelled_at=datetime.datetime.now(datetime.timezone.utc).isoformat())
    private, public = keypair(str(tmp_path), "model-signing")
    out = analyse(tmp_path, "-e", "mirroring_retrain_min_labels=2", "-e", "mirroring_model_signing_key=" + private)
    assert '"retrain": true' in out
    # signed by the operator's key, hash-checked against its manifest
    model = FPSModel.load(str(tmp_path / "model.joblib"), trusted_keys=[public])
    assert model.origin.startswith("signed by trusted key")
    with open(tmp_path / "model.json", encoding="utf-8") as f:
        manifest = json.load(f)
    assert manifest["training"]["windows"] == len(rows) and model.manifest["sha256"] == manifest["sha256"]
    with History(str(tmp_path / "history.sqlite")) as h:
        assert h.tuning("trained_at")
    first = os.stat(tmp_path / "model.joblib").st_mtime_ns
    # the labels are used now: the next analysis does not retrain, and changes nothing
    out = analyse(tmp_path, "-e", "mirroring_retrain_min_labels=2", "-e", "mirroring_model_signing_key=" + private)
    assert '"retrain": false' in out
    counts = recap_changed(out)
    assert "localhost" in counts and set(counts.values()) == {0}, counts
    assert os.stat(tmp_path / "model.joblib").st_mtime_ns == first
