"""Process helpers shared by the rig's parts."""
from __future__ import annotations

import os
import socket
import subprocess
import time

from ansible_collections.predictive.mirroring.plugins.module_utils.lease import descendants


class RigError(RuntimeError):
    """A part of the rig could not be started or stopped."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen | None = None, log: str | None = None):
    """Poll predicate until it returns a true value; fail with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise RigError(f"{what}: process exited with {proc.returncode}{tail(log)}")
        time.sleep(0.05)
    raise RigError(f"{what}: not ready after {timeout:.0f}s{tail(log)}")


def tail(path: str | None, lines: int = 15) -> str:
    if not path or not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read().splitlines()[-lines:]
    return "\n" + "\n".join(text)


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after timeout, through the Popen object: a process that has ended and was reaped is
    never signalled by its old PID (this machine's pid_max is 32768, and a full test run starts tens of thousands of
    processes: a reused PID would be another test's process, a lease keeper for one)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kill_tree(proc: subprocess.Popen) -> list[int]:
    """SIGKILL a process and every process descended from it, as a machine that loses them all at once would: not
    only its process group (ansible-core's task workers call setsid, so a killpg misses them and the module they run,
    which would go on with its batch). Descendants are found through /proc before anything is signalled; a detached
    process (double fork, reparented to init - the lease keeper) is not one of them. Returns the PIDs signalled."""
    tree = descendants({proc.pid})
    proc.kill()  # first, so it starts nothing more; through the Popen object, never a reaped process's PID
    for pid in sorted(tree - {proc.pid}):
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass
    return sorted(tree)
