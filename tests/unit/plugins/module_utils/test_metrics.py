from __future__ import annotations

import datetime
import os
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import constants, history, metrics
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
EXPORTER = os.path.join(ROOT, "ansible_collections", "predictive", "mirroring", "extensions", "prometheus", "exporter.py")
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def vm(name, uuid, fps, level, **kw):
    return dict({"vcenter": "vc", "vm_uuid": uuid, "vm": name, "datacenter": "DC0", "cluster": "C0", "fps": fps,
                 "level": level}, **kw)


def filled(path):
    h = history.History(path)
    h.put_vm_status([vm("db01", "u1", 91.5, "full", failover_now=True,
                        data={"postgresql": {"lag_seconds": 120.0, "rpo_seconds": 60.0}}),
                     vm("web01", "u2", 12.0, "minimal"), vm("web01", "u3", 40.0, "partial")])  # namesakes: two series
    fid = h.add_failover("db02", "predictive", fps=93.0, vcenter="vc", vm_uuid="u4")
    h.update_failover(fid, outcome="confirmed")
    h.add_failover("db03", "drill", vcenter="vc", vm_uuid="u5")
    h.add_refusals([{"vm": "db01", "vm_uuid": "u1", "vcenter": "vc", "reason": "preflight", "why": "lag"}])
    start = (NOW - datetime.timedelta(seconds=42)).isoformat()
    plan = {"cost_month": 310.5, "risk_month": 12.25, "budget": None}
    h.add_run("reconcile", start, NOW.isoformat(), "success", {"plan": plan})
    return h


def samples(found):
    return {(f.name, s.name, tuple(sorted(s.labels.items()))): s.value for f in found for s in f.samples}


def test_the_store_makes_the_metrics(tmp_path):
    with filled(str(tmp_path / "h.sqlite")) as h:
        s = samples(metrics.families(h))
    key = (("cluster", "C0"), ("datacenter", "DC0"), ("level", "full"), ("uuid", "u1"), ("vcenter", "vc"), ("vm", "db01"))
    assert s[("predictive_mirroring_fps", "predictive_mirroring_fps", key)] == 91.5
    assert len([k for k in s if k[1] == "predictive_mirroring_level" and ("vm", "web01") in k[2]]) == 2
    assert s[("predictive_mirroring_vms", "predictive_mirroring_vms", (("level", "partial"),))] == 1
    total = "predictive_mirroring_failovers"
    assert s[(total, total + "_total", (("kind", "predictive"),))] == 1
    assert s[(total, total + "_total", (("kind", "reactive"),))] == 0  # present before the first, so increase() works
    assert s[("predictive_mirroring_failovers_by_outcome", "predictive_mirroring_failovers_by_outcome",
              (("kind", "predictive"), ("outcome", "confirmed")))] == 1
    refusals = "predictive_mirroring_failover_refusals"
    assert s[(refusals, refusals + "_total", (("reason", "preflight"),))] == 1
    assert s[(refusals, refusals + "_total", (("reason", "blast_radius"),))] == 0
    assert s[("predictive_mirroring_model_precision", "predictive_mirroring_model_precision", ())] == 1.0
    assert s[("predictive_mirroring_plan_cost_month", "predictive_mirroring_plan_cost_month", ())] == 310.5
    assert ("predictive_mirroring_plan_budget_month", "predictive_mirroring_plan_budget_month", ()) not in s
    assert s[("predictive_mirroring_run_duration_seconds", "predictive_mirroring_run_duration_seconds",
              (("job", "reconcile"),))] == 42.0
    lag = [v for k, v in s.items() if k[1] == "predictive_mirroring_data_lag_seconds"]
    assert lag == [120.0]
    since = [v for k, v in s.items() if k[1] == "predictive_mirroring_failover_now_since_timestamp_seconds"]
    assert len(since) == 1 and abs(since[0] - time.time()) < 60
    assert [k[2] for k in s if k[1] == "predictive_mirroring_last_drill_timestamp_seconds"] == [
        (("uuid", "u5"), ("vcenter", "vc"), ("vm", "db03"))]


def test_failover_now_since_is_kept_while_the_vm_waits_and_gone_when_it_is_not(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        h.put_vm_status([vm("db01", "u1", 91.0, "full", failover_now=True)])
        h.db.execute("UPDATE vm_status SET failover_now_since = '2026-01-01T00:00:00+00:00'")
        h.put_vm_status([vm("db01", "u1", 92.0, "full", failover_now=True)])
        assert h.vm_status()[0]["failover_now_since"] == "2026-01-01T00:00:00+00:00"
        h.put_vm_status([vm("db01", "u1", 20.0, "minimal")])
        assert h.vm_status()[0]["failover_now_since"] is None and h.vm_status()[0]["fps"] == 20.0
        h.db.execute("UPDATE vm_status SET updated_at = '2026-01-01T00:00:00+00:00'")
        h.put_vm_status([vm("web01", "u2", 1.0, "minimal")])
        assert [v["vm"] for v in h.vm_status()] == ["web01"]  # a VM no run has seen for a week is dropped


def test_a_refusal_is_news_once_per_repeat_window(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        r = {"vm": "db01", "vm_uuid": "u1", "reason": "blast_radius", "why": "3 of 4"}
        assert h.add_refusals([r]) == [r]
        assert h.add_refusals([r]) == []  # recorded, not news
        assert h.add_refusals([dict(r, reason="preflight")]) != []
        assert h.add_refusals([r], repeat_after_s=0) == [r]
        assert h.refusal_counts() == {"blast_radius": 3, "preflight": 1}


def test_identical_runs_differ_only_in_times_and_the_file_is_never_half_written(tmp_path):
    path = str(tmp_path / "h.sqlite")
    with filled(path) as h:
        first = metrics.render(metrics.families(h))
        time.sleep(1.1)
        h.add_run("reconcile", NOW.isoformat(), datetime.datetime.now(datetime.timezone.utc).replace(
            microsecond=0).isoformat(), "success", {"plan": {"cost_month": 310.5, "risk_month": 12.25, "budget": None}})
        second = metrics.render(metrics.families(h))
    assert first != second and metrics.comparable(first) == metrics.comparable(second)
    prom = str(tmp_path / "pm.prom")
    big = [first * 200, second * 200]
    seen, stop = set(), threading.Event()

    def reader():
        while not stop.is_set():
            if os.path.exists(prom):
                with open(prom, "rb") as f:
                    seen.add(f.read())
    t = threading.Thread(target=reader)
    t.start()
    for i in range(60):
        metrics.write_textfile(prom, big[i % 2])
    stop.set()
    t.join()
    assert seen and seen <= set(big)  # every read saw one whole version
    # no temporary file of the textfile writer is left (the store's own files aside)
    assert [n for n in os.listdir(tmp_path) if not n.startswith("h.sqlite")] == ["pm.prom"]
    assert oct(os.stat(prom).st_mode & 0o777) == "0o644"
    with pytest.raises(MirroringError, match="must end in .prom"):
        metrics.write_textfile(str(tmp_path / "pm.txt"), first)
    with pytest.raises(MirroringError, match="does not exist"):
        metrics.write_textfile(str(tmp_path / "nodir" / "pm.prom"), first)


def test_a_rescore_that_moved_only_the_fps_is_no_change_a_level_is(tmp_path):
    # the window a VM is scored from moves with the clock: its FPS alone moved, its level held - no change
    with filled(str(tmp_path / "h.sqlite")) as h:
        base = metrics.render(metrics.families(h))
        h.put_vm_status([vm("web01", "u2", 12.4, "minimal")])
        rescored = metrics.render(metrics.families(h))
        h.put_vm_status([vm("web01", "u2", 35.0, "partial")])
        raised = metrics.render(metrics.families(h))
    assert rescored != base and metrics.comparable(rescored) == metrics.comparable(base)
    assert metrics.comparable(raised) != metrics.comparable(base)


def test_the_exporter_serves_what_the_textfile_says(tmp_path):
    path = str(tmp_path / "h.sqlite")
    with filled(path) as h:
        text = metrics.render(metrics.families(h))
    port = __import__("socket").socket()
    port.bind(("127.0.0.1", 0))
    number = port.getsockname()[1]
    port.close()
    env = {k: v for k, v in os.environ.items() if k != constants.HISTORY_DSN_ENV}
    proc = subprocess.Popen([sys.executable, EXPORTER, "--listen", "127.0.0.1:%d" % number, "--history-path", path],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        body = None
        for _attempt in range(100):
            try:
                body = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % number, timeout=2).read()
                break
            except OSError:
                time.sleep(0.1)
        assert body is not None, proc.stdout.read1() if proc.poll() is not None else "no answer"
        served = [line for line in metrics.comparable(body) if "store_up" not in line]
        assert "predictive_mirroring_store_up 1.0" in body.decode()
        assert served == metrics.comparable(text)
    finally:
        proc.terminate()
        proc.wait(10)
    bad = subprocess.run([sys.executable, EXPORTER, "--listen", "nope", "--history-path", path], capture_output=True,
                         text=True, env=env, check=False)
    assert bad.returncode == 2 and "--listen is address:port" in bad.stderr


def test_a_failover_ends_the_wait_at_failover_now_before_the_next_scoring(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        h.put_vm_status([vm("db01", "u1", 91.0, "full", failover_now=True)])
        waiting = "predictive_mirroring_failover_now_since_timestamp_seconds"
        assert [k for k in samples(metrics.families(h)) if k[1] == waiting]
        time.sleep(1.1)
        fid = h.add_failover("db01", "predictive", fps=91.0, vcenter="vc", vm_uuid="u1")
        s = samples(metrics.families(h))
        assert not [k for k in s if k[1] == waiting]
        assert [v for k, v in s.items() if k[1] == "predictive_mirroring_failed_over"] == [1]
        h.update_failover(fid, failback_at="2026-11-28T00:00:00+00:00")
        s = samples(metrics.families(h))
        assert not [k for k in s if k[1] in ("predictive_mirroring_failed_over", waiting)]
