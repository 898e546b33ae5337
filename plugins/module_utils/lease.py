# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One writer at a time per vCenter: a lease kept in vCenter itself.

A cron lock protects one host; AWX nodes, other cron hosts and a person at a
laptop all see vCenter. The lease is a folder named LEASE_FOLDER in the root
folder: vCenter refuses a second folder of the same name (DuplicateName), so
creating it is an atomic test-and-set that every controller shares. Its
custom attribute ``mirroring.lease`` holds the owner and the expiry, in
vCenter's own clock (``CurrentTime``), so controllers' clocks need not agree.

- acquire: create the folder; if it exists, wait (bounded) for it to go, or
  take over a lease that has expired (the holder died) by destroying *that*
  folder, by its moid, and trying again. Destroying by moid means two
  contenders can never remove each other's fresh lease.
- renew: push the expiry on, only while we hold it.
- release: destroy the folder, only while we hold it.

The lease is short (LEASE_TTL, 90 s) and kept alive by a keeper that renews it
every third of its TTL: a thread for a module that takes the lease itself, or,
for a playbook's lease (vcenter_lease), a detached process that follows the
ansible-playbook run which took it. The keeper gives the lease back as soon as
that run and every process it started are gone - whether the run ended, failed
or was killed - so a failed run never blocks the next one; if the keeper itself
dies, the lease expires within one TTL. The record names the host, the keeper's
process and the run it keeps the lease for, so a run on the same host takes
over a lease whose keeper and run are both gone at once, without waiting for
the expiry - and never a lease whose run still lives: a keeper that died, or
could not log in when the run took the lease, leaves it to its run (renewed by
the run's writing tasks) until it expires.
"""

from __future__ import annotations

import datetime
import json
import os
import socket
import threading
import time
import uuid

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_LEASE, LEASE_TTL, LEASE_WAIT
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import (
    DuplicateName, Gone, LeaseError, MirroringError, VSphereError)
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_params
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.faults import translated

LEASE_FOLDER = "predictive.mirroring.lease"
DEFAULT_TTL = LEASE_TTL
DEFAULT_WAIT = LEASE_WAIT
# a lease folder whose record was never written (its creator died in between) is stale after this
UNWRITTEN_GRACE = 30.0


def new_owner(purpose="run"):
    """An owner token: what the run is, where it runs, and a random part that makes it unique."""
    return "%s@%s:%s" % (purpose, socket.gethostname(), uuid.uuid4().hex[:12])


def _boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()[:8]
    except OSError:
        return "-"


# one machine, one boot: a pid means the same process only here
HOST = "%s/%s" % (socket.gethostname(), _boot_id())


def process_start(pid):
    """The start time of process `pid` (clock ticks since boot), or None when there is no such process or it has
    ended and only waits to be reaped (a zombie: a run's worker orphaned when the run exits stays one for as long as
    the machine's init leaves it, and is no longer running anything). With the pid it names one process: a pid reused
    later has another start time."""
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8", errors="replace") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] in ("Z", "X", "x") else int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


# what a record says about who holds the lease: the host, the keeper's process, and the run it keeps it for
HOLDER_KEYS = ("host", "pid", "pid_start", "run_pid", "run_start")


def this_process(run_pid=None):
    """How a lease record names the process that keeps it and (`run_pid`) the run it keeps the lease for."""
    rec = {"host": HOST, "pid": os.getpid(), "pid_start": process_start(os.getpid())}
    if run_pid:
        rec.update(run_pid=run_pid, run_start=process_start(run_pid))
    return rec


def orphaned(rec):
    """Whether a lease record names processes on this machine that are all gone - its keeper and the run it kept the
    lease for: its lease can be taken over at once. A run that lives keeps its lease though its keeper died."""
    if rec.get("host") != HOST or process_start(os.getpid()) is None:
        return False  # another machine's, an old record, or no /proc to tell: the expiry decides
    named = [(rec.get(pid), rec.get(start)) for pid, start in (("pid", "pid_start"), ("run_pid", "run_start"))
             if isinstance(rec.get(pid), int)]
    return bool(named) and all(process_start(pid) != start for pid, start in named)


class Lease:
    def __init__(self, vs, owner, ttl=DEFAULT_TTL):
        if not owner or len(owner) > 200 or any(c in owner for c in "\r\n"):
            raise LeaseError("lease owner must be a short one-line token, got %r" % (owner,))
        if not 10 <= int(ttl) <= 86400:
            raise LeaseError("lease ttl must be within 10..86400 seconds, got %s" % ttl)
        self.vs = vs
        self.owner = owner
        self.ttl = int(ttl)
        self._known = (None, None)  # (session, the folder our record was last found in through it)

    @property
    def every(self):
        """How often a holder writes the lease again: every third of its TTL, so two renewals can fail before it
        expires."""
        return self.ttl / 3.0

    # -- reading -------------------------------------------------------------------
    def _server_now(self):
        return self.vs.server_time()

    def _folder(self):
        return self.vs.root_folder(LEASE_FOLDER)

    def _record(self, folder):
        values = self.vs.custom_values(folder, ATTR_LEASE, mo_type="Folder")
        if not values:
            return None
        try:
            rec = json.loads(values[-1])
            return dict(rec, expires=datetime.datetime.fromisoformat(rec["expires"]))
        except (ValueError, KeyError, TypeError):
            return None

    def read(self):
        """The lease as vCenter holds it ({owner, expires, acquired, moid}), or None when free."""
        try:
            folder = self._folder()
            if folder is None:
                return None
            rec = self._record(folder)
        except Gone:
            return None
        return None if rec is None else dict(rec, moid=folder._moId)  # pylint: disable=protected-access

    # -- writing -------------------------------------------------------------------
    def _write(self, folder, previous=None, holder=None):
        """Write our record. A renewal (`previous`: the record as just read, ours) keeps its keeper, unless `holder`
        (a new keeper) is given, and when it was acquired."""
        now = self._server_now()
        previous = previous if previous and previous.get("owner") == self.owner else {}
        if holder is None:
            holder = {k: previous[k] for k in HOLDER_KEYS if k in previous} or this_process()
        rec = dict(holder, owner=self.owner, acquired=previous.get("acquired") or now.isoformat(),
                   expires=(now + datetime.timedelta(seconds=self.ttl)).isoformat())
        self.vs.set_attribute(folder, ATTR_LEASE, json.dumps(rec, sort_keys=True), mo_type="Folder")
        return rec

    def _destroy(self, folder):
        what = "remove the lease on vCenter %s" % self.vs.name
        try:
            with translated(what):
                self.vs.wait_task(folder.Destroy_Task(), what)
        except Gone:
            pass  # someone else removed it first: fine

    def acquire(self, wait=DEFAULT_WAIT, poll=1.0, holder=None):
        """Hold the lease; wait at most `wait` seconds for another holder. Returns {owner, expires, took_over}.
        `holder` is how the record names who holds it (this_process() unless given)."""
        deadline = time.monotonic() + max(0, wait)
        unwritten_since = {}
        took_over = None
        while True:
            try:
                folder = self.vs.create_root_folder(LEASE_FOLDER)
            except DuplicateName:
                folder = None
            except Gone:
                continue
            except VSphereError as e:
                raise LeaseError("Cannot take the lease on vCenter %s: %s" % (self.vs.name, e)) from None
            if folder is not None:
                try:
                    rec = self._write(folder, holder=holder)  # a new folder has no previous record: this_process()
                except Gone:
                    continue  # taken over while unwritten: try again
                return dict(rec, took_over=took_over)
            current = self._folder()
            if current is None:
                continue  # released meanwhile
            try:
                rec = self._record(current)
            except Gone:
                continue
            moid = current._moId  # pylint: disable=protected-access
            if rec is not None and rec.get("owner") == self.owner:
                return dict(self._write(current, previous=rec), took_over=took_over)
            stale = False
            if rec is None:
                first = unwritten_since.setdefault(moid, time.monotonic())
                stale = time.monotonic() - first > UNWRITTEN_GRACE
            elif rec["expires"] < self._server_now() or orphaned(rec):
                # judged on the record as read before that check: meanwhile its keeper may have renewed it, or a new
                # keeper named itself and the process the old record names ended (the module that takes a lease
                # returns once its keeper has named itself). Only the very record, read again now, is stale
                try:
                    stale = self._record(current) == rec
                except Gone:
                    continue
                if not stale:
                    continue
            if stale:
                took_over = rec.get("owner") if rec else "(unwritten)"
                self._destroy(current)
                continue
            if time.monotonic() >= deadline:
                raise LeaseError(
                    "vCenter %s is held by another run: %s, until %s (vCenter time); waited %d s. Two writers at once "
                    "could build a mirror twice: try again later, or if that run is gone for good, release its lease "
                    "(predictive.mirroring.vcenter_lease state=released force=true)"
                    % (self.vs.name, rec["owner"] if rec else "a run starting up",
                       rec["expires"].isoformat() if rec else "-", wait))
            time.sleep(poll)

    def _ours(self):
        """(folder, record) of our lease as vCenter holds it now; LeaseError when it is not ours (it expired and
        someone took it, or it was released by force). The folder it was last found in is read first: a folder
        destroyed meanwhile is Gone, and looked for again by name."""
        session, folder = self._known
        if session is not self.vs.si or folder is None:  # a new session (a keeper logs in again) looks again
            folder = self._folder()
        try:
            rec = self._record(folder) if folder is not None else None
        except Gone:
            folder = self._folder()
            rec = self._record(folder) if folder is not None else None
        if rec is None or rec.get("owner") != self.owner:
            self._known = (None, None)
            raise LeaseError("This run (%s) does not hold the lease on vCenter %s%s: refusing to write"
                             % (self.owner, self.vs.name, "; %s does" % rec["owner"] if rec else ""))
        self._known = (self.vs.si, folder)
        return folder, rec

    def check(self):
        """The lease is still ours (read from vCenter, not written); LeaseError when it is not."""
        self._ours()

    def renew(self, holder=None):
        """Push our lease's expiry on; LeaseError when we do not hold it (it expired and someone took it).
        `holder` names a new keeper (this_process() of it)."""
        folder, rec = self._ours()
        return self._write(folder, previous=rec, holder=holder)

    def release(self, force=False):
        """Give the lease up. Returns the released record, or None when there was nothing of ours to release."""
        folder = self._folder()
        if folder is None:
            return None
        rec = self._record(folder)
        if not force and (rec is None or rec.get("owner") != self.owner):
            return None
        self._destroy(folder)
        return rec or {}


def keep(vs, owner, ttl, alive, poll=1.0, claim=None, run_pid=None):
    """Keep `owner`'s lease on `vs`'s vCenter (a session of the keeper's own): renewed every third of its TTL while
    alive() holds, given back as soon as it does not. Returns when it is given back, or released or lost by others.
    The first renewal names the keeper (and `run_pid`, the run it keeps the lease for) in the record. `claim(why)` is
    called once, when it has (why: None) or its first try failed (why: the error). A first try that vCenter did not
    answer is not the end: the keeper tries again at every poll for as long as the run lives, as with any renewal."""
    lease = Lease(vs, owner, ttl)
    named = False
    due = time.monotonic()
    try:
        while True:
            if not alive():
                try:
                    vs.connect()
                    lease.release()
                except Exception:  # pylint: disable=broad-except
                    pass  # it expires within one TTL
                return
            if time.monotonic() >= due:
                why = None
                try:
                    vs.connect()  # a new session after a failed renewal (vCenter restarted, the session was ended)
                    lease.renew(holder=None if named else this_process(run_pid))
                    named = True
                    due = time.monotonic() + lease.every
                except LeaseError as e:
                    if claim:
                        claim(str(e))
                    return  # given back by the run, or taken over after an expiry: nothing left to keep
                except Exception as e:  # pylint: disable=broad-except
                    # vCenter did not answer or ended the session: log in again and retry at the next poll, for as
                    # long as the run lives; once the lease has expired and another run took it, renew() says so
                    vs.close()
                    why = str(e) or type(e).__name__
                    due = time.monotonic() + poll
                if claim:
                    claim(why)
                    claim = None
            time.sleep(poll)
    finally:
        vs.close()


def _ppid(pid):
    """The parent pid of `pid`, from /proc/PID/stat (after the command name, which may hold spaces and parentheses).
    OSError, IndexError or ValueError when the process is gone or unreadable."""
    with open("/proc/%s/stat" % pid, encoding="utf-8", errors="replace") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def parent_pids():
    """{pid: parent pid} of every process on this machine, read from /proc (processes that end meanwhile are left
    out). The one place the lease keeper and the test rig find a run's descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = _ppid(entry)
            except (OSError, IndexError, ValueError):
                continue
    return parents


def descendants(pids):
    """The set of `pids` and every process descended from them, by parent pid."""
    parents = parent_pids()
    tree, grew = set(pids), True
    while grew:
        grew = False
        for pid, ppid in parents.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    return tree


def _session(pid):
    try:
        return os.getsid(pid)
    except OSError:
        return None


class _Run:
    """An ansible-playbook run as the keeper sees it: the run's main process and every process it started in the run's
    session. Alive while any of them is; a module still cloning after its playbook was killed keeps the lease held.
    A process that left the session - the keeper itself, a second vCenter's keeper, a daemon a task started - is not
    the run: counted, it kept the run alive for ever, and its lease with it."""

    def __init__(self, pid):
        self.known = {pid: process_start(pid)}
        self.root = pid
        self.session = _session(pid)

    def __call__(self):
        alive = {pid: start for pid, start in self.known.items() if start is not None and process_start(pid) == start}
        if alive:
            # descendants of the living ones (an orphan's parent is init, so it is only known from before)
            for pid in descendants(alive) - set(alive):
                start = process_start(pid)
                if start is not None and _session(pid) == self.session:
                    alive[pid] = start
        self.known = alive
        return bool(alive)


def run_process():
    """The ansible-playbook (or ansible) process this module runs under, on this machine, or None: the outermost of the
    chain of ansible processes above this one (its task workers are forked from it)."""
    found, pid = None, os.getppid()
    while pid > 1:
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                argv = [os.path.basename(a.decode("utf-8", "replace")) for a in f.read().split(b"\0")[:3]]
            ppid = _ppid(pid)
        except (OSError, IndexError, ValueError):
            break
        if any(a.startswith("ansible") for a in argv):
            found = pid
        elif found:
            break
        pid = ppid
    return found


def follow_run(vs, owner, ttl, run_pid):
    """Leave behind a keeper process for `owner`'s lease that follows the run `run_pid`. Returns None once it has named
    itself in the lease, or why it could not. It is detached (its own session, no inherited descriptors), so the module
    returns at once."""
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked process
        try:
            os.close(read_end)
            os.setsid()
            if os.fork() != 0:
                os._exit(0)  # pylint: disable=protected-access
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.closerange(3, write_end)
            os.closerange(write_end + 1, 4096)

            def claim(why):
                os.write(write_end, b"1" if why is None else b"0" + why.encode("utf-8", "replace")[:1000])
                os.close(write_end)

            keep(vs.another(), owner, ttl, _Run(run_pid), claim=claim, run_pid=run_pid)
        finally:
            os._exit(0)  # pylint: disable=protected-access
    os.close(write_end)
    os.waitpid(child, 0)
    try:
        with os.fdopen(read_end, "rb") as f:
            answer = f.read()
    except OSError as e:
        return "its pipe failed: %s" % e
    if answer == b"1":
        return None
    return answer[1:].decode("utf-8", "replace") or "it ended before naming itself"


class Writer:
    """The lease around one module's writes.

    With `owner` (the playbook took the lease and passed its token on) the
    lease must be ours and is renewed; without it, the module takes the lease
    itself for its own run, keeps it renewed from a thread while it works (a
    clone may outlast the TTL) and releases it after. In check mode nothing is
    written, so no lease is needed.
    """

    def __init__(self, vs, owner=None, ttl=DEFAULT_TTL, wait=DEFAULT_WAIT, check_mode=False):
        self.vs = vs
        self.check_mode = check_mode
        self.own = not owner
        self.wait = wait
        self.lease = None if check_mode else Lease(vs, owner or new_owner("module"), ttl)
        self._done = threading.Event()
        self._keeper = None
        self._due = 0.0  # when renew() writes the lease again (monotonic)

    def __enter__(self):
        if self.lease is not None:
            if self.own:
                self.lease.acquire(self.wait)
                self._keeper = threading.Thread(target=keep, daemon=True, name="lease-keeper", args=(
                    self.vs.another(), self.lease.owner, self.lease.ttl, lambda: not self._done.is_set()),
                    kwargs={"poll": 0.2})
                self._keeper.start()
            else:
                self.renew()  # _due is 0: written now
        return self

    def renew(self):
        """Before each VM's writes: the lease must still be ours, read from vCenter every time (a takeover or a release
        by force stops the very next VM); it is written again once a third of its TTL has passed since this module
        last wrote it, as its keeper does - not before every VM (thousands of writes, and govmomi's simulator keeps
        every value ever written)."""
        if self.lease is None:
            return
        if time.monotonic() < self._due:
            self.lease.check()
        else:
            self.lease.renew()
            self._due = time.monotonic() + self.lease.every

    def __exit__(self, *exc):
        if self.lease is not None and self.own:
            self._done.set()
            self._keeper.join(timeout=30)  # the keeper gives the lease back
            try:
                self.lease.release()  # in case the keeper could not (nothing happens when it did)
            except MirroringError:
                pass  # it expires by itself


def lease_task(p, task):
    """The vcenter_lease module: take (held) or give back (released) the writer lease of a vCenter."""
    with VSphere(**connection_params(p)) as vs:
        lease = Lease(vs, p["owner"] or new_owner(p["purpose"]), p["ttl"])
        if task.check_mode:
            current = lease.read()
            return dict(changed=False, owner=lease.owner, holder=current["owner"] if current else None)
        if p["state"] == "held":
            # the record names the run (and this module, until the keeper names itself): the lease is the run's until
            # it ends or the lease expires, whether or not a keeper follows it. Outside a run, only the expiry decides
            run_pid = run_process()
            rec = lease.acquire(p["wait"], holder=this_process(run_pid) if run_pid else {})
            why = "not under ansible-playbook on this machine"
            if run_pid and p["follow_run"]:
                why = follow_run(vs, lease.owner, lease.ttl, run_pid)
            kept = why is None
            if p["follow_run"] and not kept:
                # a keeper whose first try vCenter did not answer goes on trying while the run lives
                task.warn("The lease's keeper has not named itself (%s): until it does, the lease on %s is this run's "
                          "for %d s unless renewed" % (why, vs.name, lease.ttl))
            return dict(changed=True, owner=lease.owner, expires=rec["expires"], took_over=rec.get("took_over"),
                        kept_by=run_pid if kept else None)
        released = lease.release(force=p["force"])
        return dict(changed=released is not None, owner=(released or {}).get("owner") or lease.owner)
