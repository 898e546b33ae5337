"""The lease keeper's view of a run's processes: a process that has ended counts as gone even before it is reaped."""
from __future__ import annotations

import os
import subprocess
import sys
import time

from ansible_collections.predictive.mirroring.plugins.module_utils import lease


def _state(pid):
    with open("/proc/%d/stat" % pid, encoding="utf-8") as f:
        return f.read().rsplit(")", 1)[1].split()[0]


def test_an_unreaped_process_is_gone_and_a_living_one_is_not():
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])  # pylint: disable=consider-using-with
    ended = subprocess.Popen([sys.executable, "-c", "pass"])  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + 20
        while _state(ended.pid) != "Z":  # ended, not reaped: what an orphan is under an init that does not reap
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert lease.process_start(ended.pid) is None
        assert lease.process_start(living.pid) is not None
        assert not lease._Run(ended.pid)()  # pylint: disable=protected-access
        assert lease._Run(living.pid)()  # pylint: disable=protected-access
        assert lease.orphaned({"host": lease.HOST, "pid": ended.pid, "pid_start": 1})
        # a keeper gone while the run it kept the lease for lives: the lease is still the run's
        run = {"run_pid": living.pid, "run_start": lease.process_start(living.pid)}
        assert not lease.orphaned(dict(run, host=lease.HOST, pid=ended.pid, pid_start=1))
        assert lease.orphaned(dict(run, host=lease.HOST, pid=ended.pid, pid_start=1, run_start=1))  # a reused pid
        assert not lease.orphaned(dict(run, host="elsewhere/0", pid=ended.pid, pid_start=1, run_start=1))
        assert not lease.orphaned({"host": lease.HOST})  # a record naming no process: the expiry decides
    finally:
        living.kill()
        living.wait()
        ended.wait()
    assert lease.process_start(os.getpid()) is not None
