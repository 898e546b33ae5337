"""Process helpers shared by the rig's parts."""
from __future__ import annotations

import atexit
import fcntl
import os
import random
import signal
import socket
import subprocess
import tempfile
import time

from ansible_collections.predictive.mirroring.plugins.module_utils.lease import descendants


class RigError(RuntimeError):
    """A part of the rig could not be started or stopped."""


# Ports the rig hands its daemons: below the kernel's ephemeral range, where the local end of every outgoing
# connection (and a bind to port 0) draws from, so no client takes a port between the rig choosing it and its daemon
# binding it. Each is reserved for the process that chose it by an flock on a file named after it, in one directory
# per machine (two test commands at once draw from the same ports); the kernel drops the lock when the process ends,
# however it ends.
PORT_FLOOR = 10000
PORT_RESERVATIONS = os.path.join(tempfile.gettempdir(), "predictive-mirroring-ports")
_held: dict[str, int] = {}  # reservation file -> its locked descriptor, for this process's life


def _ephemeral_floor() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range", encoding="ascii") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _reserve(port: int) -> bool:
    path = os.path.join(PORT_RESERVATIONS, str(port))
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        # the file may have been released (unlinked) between our open and our lock: then the lock guards nothing
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            raise FileNotFoundError(path)
    except (BlockingIOError, FileNotFoundError):
        os.close(fd)
        return False
    _held[path] = fd
    return True


@atexit.register
def _release() -> None:
    for path, fd in _held.items():
        try:
            os.unlink(path)
        except OSError:
            pass
        os.close(fd)
    _held.clear()


def free_port() -> int:
    """A port free for TCP and UDP on 127.0.0.1, outside the ephemeral range, reserved for this process."""
    os.makedirs(PORT_RESERVATIONS, mode=0o1777, exist_ok=True)
    top = _ephemeral_floor()
    if top - PORT_FLOOR < 1000:
        raise RigError(f"net.ipv4.ip_local_port_range starts at {top}: no room for the rig's ports below it")
    for _attempt in range(200):
        port = random.randrange(PORT_FLOOR, top)
        if _bindable(port) and _reserve(port):
            return port
    raise RigError(f"no free port between {PORT_FLOOR} and {top} after 200 tries")


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
    process (double fork, reparented to init - the lease keeper) is not one of them. Returns the PIDs signalled.

    The tree is frozen first (SIGSTOP, scanned again until no new process appears): a process forked between one scan
    and the kill - a task worker starting the next module - would otherwise live on, and the keeper rightly keeps the
    lease for it."""
    stopped: set[int] = set()
    while True:
        new = descendants({proc.pid}) - stopped
        if not new:
            break
        for pid in sorted(new):
            try:
                os.kill(pid, signal.SIGSTOP)  # the root is not reaped before proc.kill() below: its PID is its own
            except ProcessLookupError:
                pass
            stopped.add(pid)
    proc.kill()  # through the Popen object, never a reaped process's PID
    for pid in sorted(stopped - {proc.pid}):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return sorted(stopped)
