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


def test_a_run_is_kept_alive_by_its_own_processes_not_by_one_that_left_its_session():
    """A lease keeper (or a daemon a task started) forked from the run, seen while it was still the run's descendant,
    left the run's session: it must not keep the run - and the run's lease - alive after the run has ended."""
    run = subprocess.Popen([sys.executable, "-c", (  # pylint: disable=consider-using-with
        "import subprocess, sys, time\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "time.sleep(60)\n")], start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        while len(lease.descendants([run.pid])) < 3:  # the run, its own child, the one in a session of its own
            assert time.monotonic() < deadline
            time.sleep(0.05)
        children = lease.descendants([run.pid]) - {run.pid}
        own = {pid for pid in children if os.getsid(pid) == run.pid}
        assert len(own) == 1 and len(children - own) == 1
        follow = lease._Run(run.pid)  # pylint: disable=protected-access
        assert follow()
        run.kill()
        run.wait()
        assert follow()  # its own child (a module still cloning) keeps it alive
        for pid in own:
            os.kill(pid, 9)
        deadline = time.monotonic() + 20
        while follow():  # only the process in another session is left: the run is over
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        run.kill()
        run.wait()
        for pid in lease.descendants([run.pid]) | set(locals().get("children", ())):
            try:
                os.kill(pid, 9)
            except OSError:
                pass
