from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import history, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import HistoryError
from common.utils import release_together

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


def test_a_fresh_store_opened_by_eight_processes_at_once_loses_no_record(tmp_path):
    # issue 33: switching a new database to WAL was not covered by the busy timeout ("database is locked")
    for round_ in range(20):
        path = str(tmp_path / ("h%d.sqlite" % round_))
        failure = release_together({"path": path})
        assert failure is None, (round_, failure)
        with history.History(path) as h:
            assert h.count_windows()["windows"] == 64, round_


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


V3_FAILOVER = ("INSERT INTO failovers (at, vm, kind, fps, reasons, outcome, vm_uuid) "
               "VALUES ('2026-11-01T00:00:00+00:00', 'db01', 'predictive', 91.0, '[]', 'confirmed', 'u-1')")


def test_a_version_3_store_gains_uids_and_the_registry_keeping_its_records(tmp_path):
    path = str(tmp_path / "old.sqlite")
    db = sqlite3.connect(path)
    for version in (1, 2, 3):
        db.executescript(history.MIGRATIONS[version].format(**history.TYPES["sqlite"]))
    db.executescript("CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (3);"
                     + V3_FAILOVER + "; " + V3_FAILOVER.replace("db01", "web01") + ";")
    db.close()
    with history.History(path) as h:
        assert h.schema_version() == history.SCHEMA_VERSION
        assert [f["vm"] for f in h.failovers()] == ["db01", "web01"]
        uids = [r[0] for r in h.db.execute("SELECT uid FROM failovers")]
    assert len(set(uids)) == 2 and all(len(u) == 32 for u in uids)
    with history.History(path) as h:  # uids are kept, not drawn again
        assert [r[0] for r in h.db.execute("SELECT uid FROM failovers")] == uids


def test_the_registry_registers_once_promotes_explicitly_and_rolls_back(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        with pytest.raises(HistoryError, match="No model is promoted"):
            h.find_model("latest")
        a, b = "a" * 64, "b" * 64
        assert h.add_model(b"A", b'{"sha256": "%s"}' % a.encode(), fingerprint="fa")
        assert not h.add_model(b"A", b'{"sha256": "%s"}' % a.encode())
        assert h.add_model(b"B", b'{"sha256": "%s"}' % b.encode(), signature=b"sig")
        assert h.current_model_sha() is None and h.find_model("newest") in (a, b)
        assert h.promote_model(a) and not h.promote_model(a)
        assert h.find_model("latest") == a and h.find_model("aaaaaaaa") == a
        assert h.promote_model(b) and h.find_model("latest") == b
        assert h.promote_model(a, why="roll back") and h.find_model("latest") == a  # the previous one, again
        assert h.model_files(b) == (b"B", b'{"sha256": "%s"}' % b.encode(), b"sig")
        assert h.model_trees(b) is None
        assert not h.add_model(b"B", b'{"sha256": "%s"}' % b.encode(), trees=b"T")  # registered before it had trees
        assert h.model_trees(b) == b"T" and h.model_trees(a) is None
        assert h.model_with_fingerprint("fa") == a
        assert [m["current"] for m in h.models() if m["sha256"] == a] == [True]
        for bad in ("latest; DROP TABLE models", "abc", "zzzzzzzz"):
            with pytest.raises(HistoryError):
                h.find_model(bad)


def test_a_copy_between_stores_is_whole_idempotent_and_keeps_the_failover_an_action_names(tmp_path):
    with history.History(str(tmp_path / "src.sqlite")) as src, history.History(str(tmp_path / "dst.sqlite")) as dst:
        dst.add_failover("other", "reactive")  # the target has a record of its own: ids differ
        src.add_windows([row(1), row(2, 1)], NAMES)
        fid = src.add_failover("db01", "predictive", fps=90.0, features={n: 1.0 for n in NAMES})
        src.update_failover(fid, outcome="confirmed", label_evidence={"event": "VmGuestOSCrashedEvent"})
        aid = src.begin_action("db01", "failover", detail={"step": 1})
        src.end_action(aid, "done", detail={"failover_id": fid})
        src.add_decision("db01", 90.0, "partial", "full")
        src.set_tuning("failover_threshold", 90.0, "precision")
        src.add_run("failover", "2026-11-28T00:00:00+00:00", "2026-11-28T00:01:00+00:00", "success")
        src.add_refusals([{"vm": "db02", "reason": "preflight", "why": "no mirror"}])
        assert history.copy_history(src, dst, check=True) == {"windows": 2, "decisions": 1, "failovers": 1,
                                                              "actions": 1, "tuning": 1, "models": 0,
                                                              "runs": 1, "refusals": 1}
        assert dst.count_windows()["windows"] == 0  # check mode wrote nothing
        assert history.copy_history(src, dst)["failovers"] == 1
        assert set(history.copy_history(src, dst).values()) == {0}
        [copied] = dst.failovers(vm="db01")
        [original] = src.failovers()
        assert {k: v for k, v in copied.items() if k != "id"} == {k: v for k, v in original.items() if k != "id"}
        assert copied["id"] != original["id"] and dst.actions()[0]["detail"] == {"failover_id": copied["id"]}
        assert dst.windows(NAMES) == src.windows(NAMES) and dst.tuning("failover_threshold") == 90.0
        with pytest.raises(HistoryError, match="same store"):
            history.copy_history(src, src)


def test_the_intent_recorder_writes_intent_before_and_the_outcome_after(tmp_path):
    with history.History(str(tmp_path / "h.sqlite")) as h:
        with h.recorded("db01", "quarantine", vm_uuid="u1", vcenter="vc:443", detail={"mirror": "db01-mirror"}) as rec:
            [row] = h.actions(vm_uuid="u1")
            assert row["status"] == "intent" and row["detail"] == {"mirror": "db01-mirror"}  # before the act
            rec["detail"] = {"failover_id": 7}
        with pytest.raises(HistoryError, match="the act broke"):
            with h.recorded("db01", "power_on", vm_uuid="u1"):
                raise HistoryError("the act broke")
        done, failed = h.actions(vm_uuid="u1")
    assert (done["status"], done["detail"], done["error"]) == ("done", {"failover_id": 7}, None)
    assert done["finished_at"] and (failed["action"], failed["status"], failed["error"]) == ("power_on", "failed",
                                                                                             "the act broke")
