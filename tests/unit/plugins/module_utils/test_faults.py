"""pyVmomi's faults become the collection's errors in one place (vsphere/faults.py), and nothing else imports pyVmomi."""
from __future__ import annotations

import ast
import os

import pytest
from pyVmomi import vim, vmodl

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import DuplicateName, Gone, VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.faults import error_of, translated

PLUGINS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "..", "plugins")


@pytest.mark.parametrize("fault, error", [
    (vmodl.fault.ManagedObjectNotFound(msg="The object has already been deleted"), Gone),
    (vim.fault.DuplicateName(msg="The name 'x' already exists.", name="x"), DuplicateName),
    (vim.fault.InvalidState(msg="The operation is not allowed in the current state."), VSphereError),
])
def test_a_fault_becomes_the_error_that_says_what_was_being_done(fault, error):
    with pytest.raises(error) as raised:
        with translated("power on vm-42"):
            raise fault
    assert type(raised.value) is error  # pylint: disable=unidiomatic-typecheck
    assert str(raised.value).startswith("Failed to power on vm-42: " + fault.msg)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__


def test_as_a_decorator_and_other_exceptions_pass_untouched():
    @translated("rename vm-7")
    def rename(exc):
        raise exc

    with pytest.raises(Gone):
        rename(vmodl.fault.ManagedObjectNotFound(msg="gone"))
    with pytest.raises(KeyError):
        rename(KeyError("not a fault"))
    with pytest.raises(VSphereError) as raised:
        rename(VSphereError("already ours"))
    assert str(raised.value) == "already ours"


def test_a_task_error_is_read_the_same_way():
    info_error = type("LocalizedMethodFault", (), {"fault": vmodl.fault.ManagedObjectNotFound(msg="moved away"),
                                                   "localizedMessage": "The object was removed"})()
    err = error_of(info_error, "clone vm-1")
    assert isinstance(err, Gone) and str(err) == "Failed to clone vm-1: The object was removed"
    err = error_of(vim.fault.DuplicateName(msg="taken", name="web-mirror"), "clone vm-1")
    assert isinstance(err, DuplicateName) and str(err) == "Failed to clone vm-1: taken (web-mirror)"


def test_only_the_vsphere_package_imports_pyvmomi():
    importers = []
    for dirpath, _dirs, files in os.walk(os.path.abspath(PLUGINS)):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read())
            for node in ast.walk(tree):
                mods = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                if any(m.split(".")[0] in ("pyVmomi", "pyVim") for m in mods):
                    importers.append(os.path.relpath(path, os.path.abspath(PLUGINS)))
    assert importers and all(p.startswith(os.path.join("module_utils", "vsphere") + os.sep) for p in importers), importers
