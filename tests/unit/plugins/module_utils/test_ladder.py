"""Issue 32, the first slice: the FPS rises with the symptom. Up a ladder of severities of one failing part - from
none to far past the vendor's critical line - the bundled model's FPS never falls, with a week of the VM's history
and with none (a new VM), and past the critical line the VM is at least full; with the warning events a failing
part raises, it passes the failover threshold. Before the alarm lines' floor, a disk at 137 ms scored 13.8 with a
baseline and 2.2 without, and a memory leak swapping 2 MB/s in a new VM 19.5."""
from __future__ import annotations

import os

import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ALARM_LINES, DEFAULT_FAILOVER_THRESHOLD
from ansible_collections.predictive.mirroring.plugins.module_utils.model import load_ref

from common.utils import scenario_raw

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
# scenario, the symptom's feature, severities whose last three rungs are past the critical line
LADDERS = [("degrading_disk", "disk_latency_ms_mean", [0.0, 0.3, 0.5, 0.9, 0.95, 1.0]),
           ("memory_leak", "mem_swapin_kbps_mean", [0.0, 0.3, 0.5, 0.8, 0.9, 1.0])]


@pytest.fixture(scope="module")
def bundled():
    return load_ref(os.path.join(ROOT, "models", "default", "model.joblib"), allow_unsigned=True)


@pytest.mark.parametrize("with_baseline", [True, False], ids=["a-week-of-history", "a-new-vm"])
@pytest.mark.parametrize("scenario,feature,severities", LADDERS, ids=[s for s, _f, _v in LADDERS])
def test_the_fps_never_falls_up_a_symptom_ladder_and_is_full_past_the_critical_line(
        bundled, scenario, feature, severities, with_baseline):
    raw = scenario_raw([(scenario, s, None, 3) for s in severities], with_baseline=with_baseline, events=False)
    X, _missing = telemetry.features(raw)
    values = X[:, telemetry.FEATURE_NAMES.index(feature)]
    fps = bundled.score(X)
    print(scenario, with_baseline, list(np.round(values, 1)), list(fps))
    assert list(values) == sorted(values), "the ladder's symptom itself must rise"
    assert values[-3] >= ALARM_LINES[feature][1], "the last three rungs are past the critical line"
    assert all(b >= a for a, b in zip(fps, fps[1:])), fps
    assert all(f > 70 for f in fps[-3:]), fps  # full
    assert all(f < DEFAULT_FAILOVER_THRESHOLD for f in fps[-3:] if not with_baseline)  # a floor alone never fails over
    # the top reason is the symptom, and the reasons say which line it is past (with a week of history the model's
    # own reasons come first: 46x its normal disk latency, ballooning 57σ above it)
    reasons = bundled.reasons(X[-1:])[0]
    assert reasons[0]["feature"].startswith(feature.split("_")[0] + "_"), reasons
    assert any(r["feature"] == feature and "past the critical line" in r["text"] for r in reasons), reasons


@pytest.mark.parametrize("scenario,feature,severities", LADDERS, ids=[s for s, _f, _v in LADDERS])
def test_with_the_warning_events_of_a_failing_part_it_reaches_the_failover_threshold(bundled, scenario, feature, severities):
    raw = scenario_raw([(scenario, s, None, 3) for s in severities], with_baseline=False, events=True)
    X, _missing = telemetry.features(raw)
    fps = bundled.score(X)
    assert all(b >= a for a, b in zip(fps, fps[1:])), fps
    assert all(f >= DEFAULT_FAILOVER_THRESHOLD for f in fps[-3:]), fps


def test_a_rise_every_vm_of_a_host_shares_gets_no_floor():
    X = np.zeros((2, len(telemetry.FEATURE_NAMES)))
    X[:, telemetry.FEATURE_NAMES.index("cpu_ready_pct_mean")] = 30.0
    X[1, telemetry.FEATURE_NAMES.index("host_peers_cpu_ready_dev")] = 6.0
    assert list(telemetry.alarm_floor(X)) == [pytest.approx(71 + 13 * (1 - 10 / 30.0), abs=0.1), 0.0]


def test_the_floor_rises_past_the_critical_line_and_never_falls():
    X = np.zeros((200, len(telemetry.FEATURE_NAMES)))
    X[:, telemetry.FEATURE_NAMES.index("disk_latency_ms_mean")] = np.linspace(0, 3000, 200)
    floor = telemetry.alarm_floor(X)
    assert np.all(np.diff(floor) >= 0) and floor[0] == 0 and floor[-1] > floor[-20] > 71
