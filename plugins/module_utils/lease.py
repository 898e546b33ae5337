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
"""

from __future__ import annotations

import datetime
import json
import socket
import time
import uuid

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_LEASE
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import VSphere, connection_params

try:
    from pyVmomi import vim, vmodl
except ImportError:
    pass  # vsphere.VSphere() reports the missing library

LEASE_FOLDER = "predictive.mirroring.lease"
DEFAULT_TTL = 900
DEFAULT_WAIT = 300
# a lease folder whose record was never written (its creator died in between) is stale after this
UNWRITTEN_GRACE = 30.0


class LeaseError(MirroringError):
    """Another run holds the vCenter, or ours was lost."""


def new_owner(purpose="run"):
    """An owner token: what the run is, where it runs, and a random part that makes it unique."""
    return "%s@%s:%s" % (purpose, socket.gethostname(), uuid.uuid4().hex[:12])


class Lease:
    def __init__(self, vs, owner, ttl=DEFAULT_TTL):
        if not owner or len(owner) > 200 or any(c in owner for c in "\r\n"):
            raise LeaseError("lease owner must be a short one-line token, got %r" % (owner,))
        if not 10 <= int(ttl) <= 86400:
            raise LeaseError("lease ttl must be within 10..86400 seconds, got %s" % ttl)
        self.vs = vs
        self.owner = owner
        self.ttl = int(ttl)

    # -- reading -------------------------------------------------------------------
    def _server_now(self):
        return self.vs.si.CurrentTime()

    def _folder(self):
        root = self.vs.content.rootFolder
        for child in root.childEntity or []:
            if isinstance(child, vim.Folder) and child.name == LEASE_FOLDER:
                return child
        return None

    def _record(self, folder):
        key = self.vs.ensure_fields([ATTR_LEASE], mo_type=vim.Folder)[ATTR_LEASE]
        for cv in folder.customValue or []:
            if cv.key == key and getattr(cv, "value", None):
                try:
                    rec = json.loads(cv.value)
                    return dict(rec, expires=datetime.datetime.fromisoformat(rec["expires"]))
                except (ValueError, KeyError, TypeError):
                    return None
        return None

    def read(self):
        """The lease as vCenter holds it ({owner, expires, acquired, moid}), or None when free."""
        try:
            folder = self._folder()
            if folder is None:
                return None
            rec = self._record(folder)
        except vmodl.fault.ManagedObjectNotFound:
            return None
        return None if rec is None else dict(rec, moid=folder._moId)  # pylint: disable=protected-access

    # -- writing -------------------------------------------------------------------
    def _write(self, folder, acquired=None):
        now = self._server_now()
        rec = {"owner": self.owner, "acquired": (acquired or now).isoformat(),
               "expires": (now + datetime.timedelta(seconds=self.ttl)).isoformat()}
        key = self.vs.ensure_fields([ATTR_LEASE], mo_type=vim.Folder)[ATTR_LEASE]
        self.vs.content.customFieldsManager.SetField(entity=folder, key=key, value=json.dumps(rec, sort_keys=True))
        return rec

    def _destroy(self, folder):
        try:
            self.vs.wait_task(folder.Destroy_Task(), "remove the lease on vCenter %s" % self.vs.name)
        except vmodl.fault.ManagedObjectNotFound:
            pass  # someone else removed it first: fine
        except VSphereError as e:
            if "not found" not in str(e).lower() and "ManagedObjectNotFound" not in str(e):
                raise

    def acquire(self, wait=DEFAULT_WAIT, poll=1.0):
        """Hold the lease; wait at most `wait` seconds for another holder. Returns {owner, expires, took_over}."""
        deadline = time.monotonic() + max(0, wait)
        unwritten_since = {}
        took_over = None
        while True:
            try:
                folder = self.vs.content.rootFolder.CreateFolder(LEASE_FOLDER)
            except vim.fault.DuplicateName:
                folder = None
            except vmodl.MethodFault as e:
                raise LeaseError("Cannot take the lease on vCenter %s: %s" % (self.vs.name, e.msg)) from None
            if folder is not None:
                try:
                    rec = self._write(folder)
                except vmodl.fault.ManagedObjectNotFound:
                    continue  # taken over while unwritten: try again
                return dict(rec, took_over=took_over)
            current = self._folder()
            if current is None:
                continue  # released meanwhile
            try:
                rec = self._record(current)
            except vmodl.fault.ManagedObjectNotFound:
                continue
            moid = current._moId  # pylint: disable=protected-access
            if rec is not None and rec.get("owner") == self.owner:
                return dict(self._write(current, acquired=None), took_over=took_over)
            stale = False
            if rec is None:
                first = unwritten_since.setdefault(moid, time.monotonic())
                stale = time.monotonic() - first > UNWRITTEN_GRACE
            elif rec["expires"] < self._server_now():
                stale = True
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

    def renew(self):
        """Push our lease's expiry on; LeaseError when we do not hold it (it expired and someone took it)."""
        folder = self._folder()
        rec = self._record(folder) if folder is not None else None
        if rec is None or rec.get("owner") != self.owner:
            raise LeaseError("This run (%s) does not hold the lease on vCenter %s%s: refusing to write"
                             % (self.owner, self.vs.name, "; %s does" % rec["owner"] if rec else ""))
        return self._write(folder)

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


class Writer:
    """The lease around one module's writes.

    With `owner` (the playbook took the lease and passed its token on) the
    lease must be ours and is renewed; without it, the module takes the lease
    itself for its own run and releases it after. In check mode nothing is
    written, so no lease is needed.
    """

    def __init__(self, vs, owner=None, ttl=DEFAULT_TTL, wait=DEFAULT_WAIT, check_mode=False):
        self.vs = vs
        self.check_mode = check_mode
        self.own = not owner
        self.wait = wait
        self.lease = None if check_mode else Lease(vs, owner or new_owner("module"), ttl)

    def __enter__(self):
        if self.lease is not None:
            if self.own:
                self.lease.acquire(self.wait)
            else:
                self.lease.renew()
        return self

    def renew(self):
        if self.lease is not None:
            self.lease.renew()

    def __exit__(self, *exc):
        if self.lease is not None and self.own:
            try:
                self.lease.release()
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
            rec = lease.acquire(p["wait"])
            return dict(changed=True, owner=lease.owner, expires=rec["expires"], took_over=rec.get("took_over"))
        released = lease.release(force=p["force"])
        return dict(changed=released is not None, owner=(released or {}).get("owner") or lease.owner)
