"""HAProxy and PostgreSQL start for real, answer, and are gone after stop."""
from __future__ import annotations

import os

from rig.haproxy import HAProxy
from rig.postgres import PostgresCluster


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie is not alive
    with open("/proc/%d/stat" % pid, encoding="ascii") as f:
        return f.read().split()[2] != "Z"


def test_haproxy_runtime_api_reports_its_servers(tmp_path):
    ha = HAProxy({"app": [("primary", "127.0.0.1:1", ""), ("mirror", "127.0.0.1:2", "backup")]}, workdir=str(tmp_path))
    ha.start()
    pid = ha.proc.pid
    try:
        state = ha.command("show servers state app")
        names = [line.split()[3] for line in state.splitlines()[2:] if line.strip()]
        assert names == ["primary", "mirror"]
        assert "Name: HAProxy" in ha.command("show info")
    finally:
        ha.stop()
    assert not alive(pid)


def test_postgres_pair_accepts_writes_on_both(postgres_pair):
    primary, secondary = postgres_pair
    assert primary.port != secondary.port
    for c in postgres_pair:
        c.psql("CREATE TABLE t (v int); INSERT INTO t VALUES (1), (2)")
        assert c.psql("SELECT sum(v) FROM t") == "3"
    assert primary.psql("SHOW wal_level") == "replica"


def test_postgres_stops_by_its_pid():
    c = PostgresCluster("solo")
    try:
        c.start()
        pid = c.proc.pid
        c.stop()
        assert not alive(pid)
        assert not os.path.exists(os.path.join(c.datadir, "postmaster.pid"))
    finally:
        c.remove()
    assert not os.path.exists(c.workdir)
