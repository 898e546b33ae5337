"""The history store on PostgreSQL (a real server started by the test): two controllers writing at once, schema
migrations raced, the SQLite -> PostgreSQL migration through its module, and the inputs that must stop a run."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import psycopg
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import analysis, history, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import HistoryError

from common.utils import release_together
from rig.inventory import BIN, ROOT
from rig.postgres import PostgresCluster

NAMES = telemetry.FEATURE_NAMES
PASSWORD = "store-Secret-42"
WRITER = r"""
import sys, time
sys.path[:0] = [%(root)r]
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
dsn, me, n, start = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
while time.time() < start:
    time.sleep(0.005)
with History(dsn=dsn) as h:   # both processes migrate a fresh store at the same moment
    for i in range(n):        # a reconcile's decisions, then a failover with its intent and outcome
        h.add_decision("%%s-vm-%%d" %% (me, i), 50.0, "minimal", "partial", run_id=me)
    aid = h.begin_action(me + "-db", "failover")
    fid = h.add_failover(me + "-db", "predictive", fps=91.0)
    h.end_action(aid, "done", detail={"failover_id": fid})
"""


@pytest.fixture(scope="module")
def server():
    pg = PostgresCluster("history").start()
    pg.add_login("pm", PASSWORD)
    try:
        yield pg
    finally:
        pg.remove()


@pytest.fixture
def dsn(server, request):
    name = "h_" + request.node.name[5:40].lower()
    server.psql("CREATE DATABASE %s OWNER pm" % name)
    return "host=127.0.0.1 port=%d dbname=%s user=pm password=%s" % (server.port, name, PASSWORD)


def module(name, args, env=None, check=False):
    """Run one module of the collection with ansible (localhost), its JSON result."""
    run_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"],
                   **(env or {}))
    proc = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=" + sys.executable, "-m", "predictive.mirroring." + name,
                           ] + (["-a", json.dumps(args)] if args else []) + (["--check", "--diff"] if check else []),
                          cwd=ROOT, env=run_env, capture_output=True, text=True, timeout=300, check=False)
    assert "localhost | " in proc.stdout, proc.stdout + proc.stderr
    result = json.loads(proc.stdout.split("=> ", 1)[1])  # localhost | CHANGED => {...}
    result["failed"] = "localhost | FAILED!" in proc.stdout and proc.returncode != 0
    return result, proc.stdout + proc.stderr


def test_two_controllers_at_once_leave_every_record_exactly_once(dsn):
    start = __import__("time").time() + 1.5
    procs = [subprocess.Popen([sys.executable, "-c", WRITER % {"root": ROOT}, dsn, me, "200", str(start)])
             for me in ("cron", "awx")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with history.History(dsn=dsn) as h:
        assert h.schema_version() == history.SCHEMA_VERSION
        assert h.db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1  # migrated once
        decisions = h.decisions()
        assert len(decisions) == 400 and len({(d["vm"], d["run_id"]) for d in decisions}) == 400
        failovers = {f["vm"]: f for f in h.failovers()}
        assert sorted(failovers) == ["awx-db", "cron-db"]
        actions = h.actions()
        assert len(actions) == 2 and all(a["status"] == "done" for a in actions)
        assert {a["vm"]: a["detail"]["failover_id"] for a in actions} == {vm: f["id"] for vm, f in failovers.items()}


def sqlite_history(path):
    """A SQLite history with windows, a labelled failover and its actions, decisions, tuning."""
    with history.History(path) as h:
        h.add_windows([{"vcenter": "vc", "vm": "vm-%d" % i, "window_end": "2026-11-%02dT00:00:00+00:00" % (i % 28 + 1),
                        "features": [float(i)] * len(NAMES), "label": i % 7 == 0, "time_to_failure_h": 2.0}
                       for i in range(60)], NAMES)
        fid = h.add_failover("db01", "predictive", fps=92.5, features={n: 0.5 for n in NAMES}, downtime_s=0.0)
        h.update_failover(fid, outcome="confirmed", labelled_at="2026-11-20T00:00:00+00:00",
                          label_evidence={"event": "VmGuestOSCrashedEvent", "lead_hours": 3.0})
        aid = h.begin_action("db01", "failover", detail={"step": "intent"})
        h.end_action(aid, "done", detail={"failover_id": fid})
        h.add_failover("web01", "reactive", fps=40.0)
        h.add_decision("db01", 92.5, "partial", "full", reasons=[{"feature": "mem_balloon_pct"}])
        h.set_tuning("failover_threshold", 87.5, "precision 0.40 below the target 0.50: threshold raised")
        return h.failovers(), h.windows(NAMES), h.decisions(), h.actions()


def test_sqlite_history_migrates_once_even_when_two_runs_race_and_reads_back_identically(dsn, tmp_path):
    source = str(tmp_path / "history.sqlite")
    failovers, windows, decisions, actions = sqlite_history(source)
    env = {"PM_HISTORY_DSN": dsn}
    result, _output = module("history_migrate", {"source_path": source}, env, check=True)
    assert result["changed"] and result["copied"]["windows"] == 60
    with history.History(dsn=dsn) as h:
        assert h.counts()["windows"] == 0  # check mode copied nothing
    # two migrations at once: one copies, the other waits on the same rows and adds nothing
    args = ["-m", "predictive.mirroring.history_migrate", "-a", json.dumps({"source_path": source})]
    base = [os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=" + sys.executable]
    run_env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"],
                   **env)
    procs = [subprocess.Popen(base + args, cwd=ROOT, env=run_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _run in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert sum("CHANGED" in o for o in outs) == 1, outs
    result, _output = module("history_migrate", {"source_path": source}, env)
    assert result["changed"] is False and set(result["copied"].values()) == {0}
    with history.History(dsn=dsn) as h:
        got = h.failovers()
        assert [{k: v for k, v in f.items() if k != "id"} for f in got] == \
            [{k: v for k, v in f.items() if k != "id"} for f in failovers]
        assert h.windows(NAMES) == windows and h.decisions() == decisions
        assert h.tuning("failover_threshold") == 87.5
        [action] = h.actions()
        assert action["detail"] == {"failover_id": got[0]["id"]} and action["status"] == actions[0]["status"]
        assert h.counts() == {"windows": 60, "decisions": 1, "failovers": 2, "actions": 1, "models": 0}
    # the analysis reads the copy as it read the original
    assert analysis.metrics(got) == analysis.metrics(failovers)


def test_bad_stores_are_one_clear_line_without_the_password(server, dsn, tmp_path):
    unreachable = "host=127.0.0.1 port=1 dbname=x user=pm password=%s connect_timeout=2" % PASSWORD
    wrong = dsn.replace(PASSWORD, "wrong-" + PASSWORD)
    for bad, says in ((unreachable, "Connection refused"), (wrong, "password authentication failed"),
                      ("host=127.0.0.1 port=%d dbname=postgres user=pm password=%s sslmode=bogus" % (server.port, PASSWORD),
                       'invalid sslmode value: "bogus"'),
                      ("host=127.0.0.1 password=%s dbname='unterminated" % PASSWORD, "not a valid PostgreSQL connection")):
        with pytest.raises(HistoryError, match=says) as e:
            history.History(dsn=bad)
        assert PASSWORD not in str(e.value) and "\n" not in str(e.value)
        result, output = module("history_info", {}, {"PM_HISTORY_DSN": bad})
        assert result.get("failed") and says in result["msg"] and PASSWORD not in output
    # a schema newer than this code: refused, and left as it is
    with history.History(dsn=dsn) as h:
        h.db.execute("UPDATE schema_version SET version = 99")
    result, _output = module("history_info", {}, {"PM_HISTORY_DSN": dsn})
    assert result.get("failed") and "schema version 99, newer than this collection's" in result["msg"]
    with psycopg.connect(dsn) as c:
        assert c.execute("SELECT version FROM schema_version").fetchone()[0] == 99


def test_eight_processes_opening_a_fresh_store_together_lose_no_record(server):
    # issue 33: the same release-together test as the SQLite store's (tests/unit .../test_history.py), on PostgreSQL
    for round_ in range(20):
        name = "fresh_%d" % round_
        server.psql("CREATE DATABASE %s OWNER pm" % name)
        dsn = "host=127.0.0.1 port=%d dbname=%s user=pm password=%s" % (server.port, name, PASSWORD)
        failure = release_together({"dsn": dsn})
        assert failure is None, (round_, failure)
        with history.History(dsn=dsn) as h:
            assert h.count_windows()["windows"] == 64, round_
            assert h.db.execute("SELECT COUNT(*) FROM schema_version").fetchone()[0] == 1  # migrated once


def test_a_statement_that_waits_past_the_timeout_is_one_clear_error(dsn):
    # issue 33: a deadline on every PostgreSQL call: here the schema migration waits for a lock another session holds
    history.History(dsn=dsn).close()
    with psycopg.connect(dsn, autocommit=True) as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE schema_version IN ACCESS EXCLUSIVE MODE")
        started = __import__("time").monotonic()
        with pytest.raises(HistoryError, match="statement timeout") as e:
            history.History(dsn=dsn, timeout=2)
        assert __import__("time").monotonic() - started < 10 and PASSWORD not in str(e.value)
        holder.execute("ROLLBACK")
