# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pyVmomi's faults as the collection's errors, in one place.

`translated(what)` is a context manager and a decorator: a vCenter fault raised by a call inside it becomes
Gone (the object is no longer there: removed meanwhile, which the caller may take as "already done"),
DuplicateName (a name already taken) or VSphereError, each saying what was being done. Other exceptions pass.
"""

from __future__ import annotations

import contextlib

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import DuplicateName, Gone, VSphereError

try:
    from pyVmomi import vim, vmodl
except ImportError:
    vim = vmodl = None  # vsphere.VSphere() reports the missing library


def fault_text(err):
    """A fault (or a task's LocalizedMethodFault) as words: the message, and what the fault names."""
    fault = getattr(err, "fault", err)
    kind = type(fault).__name__.rsplit(".", 1)[-1]
    text = getattr(err, "localizedMessage", None) or getattr(fault, "msg", None) or kind
    detail = getattr(fault, "invalidProperty", None) or getattr(fault, "name", None)
    return "%s (%s)" % (text, detail) if detail else text


def error_of(fault, what):
    """The collection's error for a pyVmomi fault (a raised one, or a task's info.error)."""
    inner = getattr(fault, "fault", None) or fault
    message = "Failed to %s: %s" % (what, fault_text(fault))
    if isinstance(inner, vmodl.fault.ManagedObjectNotFound):
        return Gone(message)
    if isinstance(inner, vim.fault.DuplicateName):
        return DuplicateName(message)
    return VSphereError(message)


@contextlib.contextmanager
def translated(what):
    """Run the body; a vCenter fault it raises becomes the collection's error naming `what` (see error_of)."""
    try:
        yield
    except vmodl.MethodFault as e:
        raise error_of(e, what) from None
