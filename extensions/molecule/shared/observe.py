"""Print what vCenter reports about every VM, as JSON: the molecule verify steps assert on it.

Independent of the collection's code: plain pyVmomi against the simulator's
state file (argv[1]).
"""
import json
import ssl
import sys
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


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        state = json.load(f)
    url = urllib.parse.urlparse(state["sdk_https"])
    si = SmartConnect(host=url.hostname, port=url.port, user="user", pwd="pass",
                      sslContext=ssl.create_default_context(cafile=state["cert"]))
    try:
        content = si.RetrieveContent()
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
    finally:
        Disconnect(si)


if __name__ == "__main__":
    main()
