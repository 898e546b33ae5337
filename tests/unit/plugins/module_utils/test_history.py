from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import history, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import HistoryError

NAMES = telemetry.FEATURE_NAMES


def row(i, label=0, vm="vm-1"):
    return {"vcenter": "vc:443", "vm": vm, "window_end": "2026-11-26T%02d:%02d:00+00:00" % (i // 60, i % 60),
            "features": [float(i)] * len(NAMES), "label": label, "time_to_failure_h": 1.5 if label else None}


def test_schema_is_versioned_and_reopening_keeps_data(tmp_path):
    path = str(tmp_path / "h.sqlite")
    with history.History(path) as h:
        assert h.schema_version() == history.SCHEMA_VERSION
        assert h.add_windows([row(1), row(2, 1)], NAMES) == 2
    with history.History(path) as h:
        assert h.count_windows() == {"windows": 2, "positives": 1}


def test_same_window_twice_is_stored_once(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        assert h.add_windows([row(1), row(2)], NAMES) == 2
        assert h.add_windows([row(1), row(2), row(3)], NAMES) == 1
        assert h.count_new([row(3), row(4)]) == 1


def test_windows_come_back_in_time_order_and_other_feature_sets_are_skipped(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        h.add_windows([row(5), row(1, 1)], NAMES)
        h.add_windows([dict(row(3), vm="vm-9")], ["other"])
        X, y, t, ttf = h.windows(NAMES)
    assert [x[0] for x in X] == [1.0, 5.0]
    assert y == [1, 0] and t == [0.0, 4 / 60] and ttf[0] == 1.5 and ttf[1] == float("inf")


def test_a_newer_schema_is_refused(tmp_path):
    path = str(tmp_path / "h.sqlite")
    history.History(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(HistoryError, match="schema version 99"):
        history.History(path)


def _writer(path, worker, n):
    with history.History(path) as h:
        for i in range(n):
            h.add_windows([row(i, vm="vm-%d" % worker)], NAMES)
            h.add_decision("vm-%d" % worker, 10.0, "minimal", "partial")


def test_concurrent_writers_lose_nothing(tmp_path):
    path = str(tmp_path / "h.sqlite")
    history.History(path).close()
    procs = [multiprocessing.Process(target=_writer, args=(path, w, 60)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with history.History(path) as h:
        assert h.count_windows()["windows"] == 240
        assert len(h.decisions()) == 240


def test_unwritable_path_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="Cannot open the history store"):
        history.History(str(blocker / "h.sqlite"))


def test_failovers_are_recorded_labelled_and_failed_back(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        fid = h.add_failover("web01", "predictive", fps=91.5, reasons=[{"feature": "mem_usage_mean"}],
                             features={"a": 1.0, "b": 2.0}, vcenter="vc", data_lag_bytes=0, data_lag_s=0.0)
        h.update_failover(fid, outcome="confirmed", labelled_at="2026-11-26T00:00:00+00:00", label_evidence={"event": "x"})
        [row] = h.failovers(vm="web01")
        assert row["features"] == {"a": 1.0, "b": 2.0} and row["outcome"] == "confirmed" and row["fps"] == 91.5
        assert row["label_evidence"] == {"event": "x"} and row["reasons"][0]["feature"] == "mem_usage_mean"
        assert h.failovers(open_only=True) == [row]
        h.update_failover(fid, failback_at="2026-11-26T01:00:00+00:00")
        assert h.failovers(open_only=True) == []
        with pytest.raises(history.HistoryError):
            h.update_failover(fid, outcome="maybe")
        with pytest.raises(history.HistoryError):
            h.update_failover(fid, vm="other")
        assert h.tuning("failover_threshold", 85.0) == 85.0
        h.set_tuning("failover_threshold", 87.5, "precision low")
        h.set_tuning("failover_threshold", 90.0, "again")
        assert h.tuning("failover_threshold") == 90.0
