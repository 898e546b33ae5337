"""Start or stop the primary PostgreSQL for the replication scenario; the standby's directory is made ready too.

    pg.py start STATE_FILE   writes {"pid", "port", "workdir", "standby_dir", "standby_port", "bindir"}
    pg.py stop STATE_FILE    stops the standby (if running) and the primary by PID, removes their directories
"""
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

from rig.postgres import PostgresCluster, pg_bindir  # noqa: E402  pylint: disable=wrong-import-position
from rig.procs import free_port  # noqa: E402  pylint: disable=wrong-import-position


def main():
    action, state_file = sys.argv[1], sys.argv[2]
    owner = pwd.getpwnam("postgres")
    if action == "start":
        primary = PostgresCluster("primary").start()
        standby_dir = tempfile.mkdtemp(prefix="pg-standby-")
        os.chown(standby_dir, owner.pw_uid, owner.pw_gid)
        with open(state_file, "w", encoding="utf-8") as f:
            json.dump({"pid": primary.proc.pid, "port": primary.port, "workdir": primary.workdir, "bindir": pg_bindir(),
                       "standby_dir": standby_dir, "standby_port": free_port()}, f)
        return
    with open(state_file, encoding="utf-8") as f:
        state = json.load(f)
    # each cluster stopped by its data directory (pg_ctl reads the postmaster's PID from it), never by a PID kept
    # from the start, which another process may have by now
    for datadir, mode in ((os.path.join(state["standby_dir"], "data"), "immediate"),
                          (os.path.join(state["workdir"], "data"), "fast")):
        if os.path.exists(os.path.join(datadir, "postmaster.pid")):
            subprocess.run([os.path.join(state["bindir"], "pg_ctl"), "--pgdata=" + datadir, "--wait", "--mode=" + mode,
                            "stop"], check=False, capture_output=True, user=owner.pw_uid, group=owner.pw_gid, cwd="/tmp")
    shutil.rmtree(state["standby_dir"], ignore_errors=True)
    shutil.rmtree(state["workdir"], ignore_errors=True)
    os.unlink(state_file)


if __name__ == "__main__":
    main()
