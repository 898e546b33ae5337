"""Give the simulator's primaries (DC0) 4 vCPUs and 8 GB, so that a standby differs from a full mirror."""
import json
import ssl
import sys
import time
import urllib.parse

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        state = json.load(f)
    url = urllib.parse.urlparse(state["sdk_https"])
    si = SmartConnect(host=url.hostname, port=url.port, user="user", pwd="pass",
                      sslContext=ssl.create_default_context(cafile=state["cert"]))
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        tasks = [vm.ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=4, memoryMB=8192))
                 for vm in view.view if vm.name.startswith("DC0_")]
        while any(t.info.state in ("queued", "running") for t in tasks):
            time.sleep(0.05)
    finally:
        Disconnect(si)


if __name__ == "__main__":
    main()
