"""The molecule scenarios' view of the simulator, independent of the collection's code (plain pyVmomi).

    vcenter.py observe STATE_FILE   print every VM as vCenter reports it, as JSON (verify asserts on it)
    vcenter.py size STATE_FILE      give the primaries (DC0) 4 vCPUs and 8 GB, so a standby differs from a full mirror
"""
import json
import ssl
import sys
import time
import urllib.parse

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl


def snapshot_names(tree):
    out, stack = [], list(tree.rootSnapshotList) if tree else []
    while stack:
        node = stack.pop()
        out.append(node.name)
        stack.extend(node.childSnapshotList or [])
    return sorted(out)


def observe(content):
    fields = {f.key: f.name for f in content.customFieldsManager.field or []}
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(objectSet=[pc.ObjectSpec(obj=view, skip=True, selectSet=[pc.TraversalSpec(
        name="v", path="view", type=vim.view.ContainerView)])], propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=[
            "name", "runtime.host", "runtime.powerState", "config.hardware.numCPU", "config.hardware.memoryMB",
            "config.instanceUuid", "snapshot", "customValue"])])
    out = {}
    for oc in content.propertyCollector.RetrieveContents([spec]):
        p = {prop.name: prop.val for prop in oc.propSet}  # unset properties are simply absent
        host = p.get("runtime.host")
        dc = host.parent.parent.parent.name if host else None  # host -> cluster -> host folder -> datacenter
        out[p["name"]] = {"datacenter": dc, "power_state": str(p["runtime.powerState"]),
                          "num_cpu": p["config.hardware.numCPU"], "memory_mb": p["config.hardware.memoryMB"],
                          "snapshots": snapshot_names(p.get("snapshot")),
                          "attributes": {fields.get(cv.key): cv.value for cv in p.get("customValue") or []},
                          "instance_uuid": p["config.instanceUuid"]}
    print(json.dumps(out))


def size(content):
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    tasks = [vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=4, memoryMB=8192))
             for vm in view.view if vm.name.startswith("DC0_")]
    while any(t.info.state in ("queued", "running") for t in tasks):
        time.sleep(0.05)


def main():
    action, state_file = sys.argv[1], sys.argv[2]
    with open(state_file, encoding="utf-8") as f:
        state = json.load(f)
    url = urllib.parse.urlparse(state["sdk_https"])
    si = SmartConnect(host=url.hostname, port=url.port, user="user", pwd="pass",
                      sslContext=ssl.create_default_context(cafile=state["cert"]))
    try:
        {"observe": observe, "size": size}[action](si.RetrieveContent())
    finally:
        Disconnect(si)


if __name__ == "__main__":
    main()
