"""Fixtures that start the real parts: the vCenter simulator, HAProxy and PostgreSQL.

Each part runs in a temp dir and is stopped through its process handle when the test
ends, whether it passed or not.
"""
from __future__ import annotations

import os
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# one OpenMP thread in every process the tests start (training, scoring): the test workers already keep every core
# busy, and a second thread fighting them made a HistGradientBoosting fit 6 times slower here (results are the same
# bytes either way). Set before scikit-learn is imported, so this process's own training obeys it too.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# the collection in place: ansible_collections/predictive/mirroring links to the root
for path in (ROOT, os.path.join(ROOT, "tests"), os.path.join(ROOT, "tests", "unit")):
    if path not in sys.path:
        sys.path.insert(0, path)

from rig.haproxy import HAProxy  # noqa: E402  pylint: disable=wrong-import-position
from rig.postgres import PostgresCluster  # noqa: E402  pylint: disable=wrong-import-position
from rig.simulator import Simulator  # noqa: E402  pylint: disable=wrong-import-position
from rig.web import Web  # noqa: E402  pylint: disable=wrong-import-position


@pytest.fixture(autouse=True)
def own_history_store(tmp_path_factory, monkeypatch):
    """Every test's own default history store (PM_HISTORY_PATH), for the modules it runs in-process and the playbooks it
    starts: never the user's ~/.local/share one, which every test and a second test command on this machine would
    share. A test that names a store (mirroring_history_path, history_path, a simulator's env) uses that one."""
    monkeypatch.setenv("PM_HISTORY_PATH", str(tmp_path_factory.mktemp("store") / "history.sqlite"))


@pytest.fixture
def simulator(tmp_path):
    """A two-datacenter vCenter: DC0 (primary) and DC1 (secondary), 4 VMs in each."""
    sim = Simulator(workdir=str(tmp_path / "sim"))
    os.makedirs(sim.workdir)
    sim.start()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def haproxy(tmp_path):
    ha = HAProxy(workdir=str(tmp_path / "haproxy"))
    os.makedirs(ha.workdir)
    ha.start()
    try:
        yield ha
    finally:
        ha.stop()


@pytest.fixture
def postgres_pair():
    """Two independent PostgreSQL clusters on loopback: primary and secondary site."""
    # each cluster makes its own temp dir: pytest's tmp_path is closed to the postgres user
    clusters = []
    try:
        for name in ("primary", "secondary"):
            clusters.append(PostgresCluster(name))
            clusters[-1].start()
        yield tuple(clusters)
    finally:
        for c in clusters:
            c.remove()


@pytest.fixture
def default_model():
    return os.path.join(ROOT, "models", "default", "model.joblib")


@pytest.fixture
def pool(tmp_path):
    """HAProxy with backend "app" served by a real web server "primary", and a second one ("mirror") not in it yet."""
    # imported here: the collection's own runtime-API client reads the pool's state
    from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as Provider  # pylint: disable=import-outside-toplevel
    primary, mirror = Web("primary").start(), Web("mirror").start()
    ha = HAProxy({"app": [("primary", primary.address, "")]}, workdir=str(tmp_path))
    ha.start()
    try:
        deadline = time.monotonic() + 10
        while not Provider(ha.socket).servers("app")["primary"]["up"] and time.monotonic() < deadline:
            time.sleep(0.1)
        yield ha, primary, mirror
    finally:
        ha.stop()
        primary.stop()
        mirror.stop()


# The slowest tests first (pytest --durations on this 2-core machine, 2026-12-06): with --dist loadgroup
# (scripts/test.sh) each test goes to the next free worker in this order (xdist puts the groups below first, then the
# single tests in collection order), so the long ones do not end up queued behind each other at the end of the run. A
# test not listed keeps its place after these; a list out of date costs time, never a test.
SLOWEST_FIRST = (
    "test_failover.py::test_predictive_failover_on_the_postgresql_store",
    "test_three_tier.py::",
    "test_failover.py::test_a_dripping_webhook_receiver",
    "test_demo.py::test_demo_tells",
    "test_lease.py::test_refused_runs",
    "test_files.py::",
    "test_applications.py::",
    "test_secrets.py::test_no_playbook_prints",
    "test_failover.py::test_reactive_failover",
    "test_failover.py::test_preflight_refuses",
    "test_analyse_retrain.py::",
    "test_reconcile.py::test_a_limit",
    "test_security.py::test_4_a_run_killed",
    "test_failover.py::test_drill",
    "test_evacuate.py::",
    "test_lease.py::",
    "test_security.py::",
    "test_fps_train.py::",
    "test_namesakes.py::",
    "test_report.py::",
)

# Files whose tests run on one worker, one after the other (an xdist_group each), and why. Every other test goes to
# whichever worker is free.
ONE_WORKER = {
    # the postgres user's crontab: the WAL-shipping test's entries and the tests' own edits share that one file
    "test_replication.py": "postgres-crontab",
    # a module-scoped part (BIND, a PostgreSQL store, a trained model) is started once for the file, not per worker
    "test_dns.py": "bind",
    "test_history_store.py": "history-store",
    "test_model.py": "trained-model",
    "test_ladder.py": "ladder-model",
}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks
def pytest_collection_modifyitems(items):
    def rank(item):
        return next((i for i, part in enumerate(SLOWEST_FIRST) if part in item.nodeid), len(SLOWEST_FIRST))
    items.sort(key=rank)
    for item in items:
        group = ONE_WORKER.get(os.path.basename(str(item.fspath)))
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
