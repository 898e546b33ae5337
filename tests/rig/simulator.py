"""The vCenter simulator (tests/simulator, govmomi) and its control API."""
from __future__ import annotations

import datetime
import json
import os
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, vsphere

from .procs import RigError, stop_process, wait_for

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_BINARY = os.path.join(ROOT, ".build", "fpssim")


class ControlError(RuntimeError):
    """The control API answered with an error status."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class Simulator:
    """One fpssim process: a vCenter with `datacenters` datacenters.

    DC0 is the primary datacenter, DC1 the secondary. VMs are named
    DC<d>_C<c>_RP0_VM<n>, hosts DC<d>_C<c>_H<n>.
    """

    def __init__(self, workdir: str | None = None, datacenters: int = 2, clusters: int = 1, hosts: int = 3,
                 vms: int = 4, username: str = "user", password: str = "pass", binary: str = DEFAULT_BINARY,
                 listen: str = "127.0.0.1:0", method_delay: dict | None = None, keep_zeros: bool = True,
                 datastores: int = 1):
        self.workdir = workdir or tempfile.mkdtemp(prefix="fpssim-")
        self._history_set: set[str] = set()
        self.args = ["-dc", str(datacenters), "-cluster", str(clusters), "-host", str(hosts), "-vm", str(vms),
                     "-ds", str(datastores), "-username", username, "-password", password, "-listen", listen]
        if not keep_zeros:  # realtime answers drop zero samples (see -zeros in tests/simulator/main.go)
            self.args.append("-zeros=false")
        if method_delay:  # govmomi's DelayConfig: e.g. {"CloneVM_Task": 3000} (milliseconds)
            self.args += ["-method-delay", ",".join("%s=%d" % kv for kv in sorted(method_delay.items()))]
        self.username = username
        self.password = password
        self.binary = binary
        self.proc: subprocess.Popen | None = None
        self.state: dict = {}

    # -- lifecycle -----------------------------------------------------------
    def start(self, timeout: float = 120.0) -> "Simulator":
        if not os.path.exists(self.binary):
            raise RigError(f"simulator binary {self.binary} is missing: run scripts/bootstrap.sh")
        state_file = os.path.join(self.workdir, "state.json")
        cert = os.path.join(self.workdir, "vcenter.pem")
        self.log = os.path.join(self.workdir, "fpssim.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [self.binary, "-state-out", state_file, "-cert-out", cert] + self.args,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(lambda: os.path.exists(state_file), timeout, "vCenter simulator", self.proc, self.log)
        with open(state_file, encoding="utf-8") as f:
            self.state = json.load(f)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- endpoints -----------------------------------------------------------
    @property
    def https_url(self) -> str:
        return self.state["sdk_https"]

    @property
    def http_url(self) -> str:
        return self.state["sdk_http"]

    @property
    def cert(self) -> str:
        return self.state["cert"]

    def hostport(self, scheme: str = "https") -> tuple[str, int]:
        u = urllib.parse.urlparse(self.https_url if scheme == "https" else self.http_url)
        return u.hostname, u.port

    def connection(self, scheme: str = "https") -> dict:
        """Connection options as the collection's plugins take them."""
        host, port = self.hostport(scheme)
        return {"hostname": host, "port": port, "username": self.username, "password": self.password,
                "validate_certs": scheme == "https", "ca_path": self.cert if scheme == "https" else None,
                "protocol": scheme}

    def env(self) -> dict:
        """The VMWARE_* variables AWX's VMware credential would inject, and this vCenter's own baseline cache (the
        simulated VMs of one simulator must not lend their normal to another's: their UUIDs repeat) and history store
        (PM_HISTORY_PATH): no run started by a test writes the user's default store, which every test and a second
        test command on the machine would share."""
        host, port = self.hostport()
        return {"VMWARE_HOST": host, "VMWARE_PORT": str(port), "VMWARE_USER": self.username,
                "VMWARE_PASSWORD": self.password, "VMWARE_VALIDATE_CERTS": "true", "VMWARE_CA_PATH": self.cert,
                "PM_BASELINE_CACHE": os.path.join(self.workdir, "baselines.json"),
                "PM_HISTORY_PATH": os.path.join(self.workdir, "history.sqlite")}

    # -- control API ---------------------------------------------------------
    def control(self, method: str, path: str, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.state["control"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.load(resp)
        except urllib.error.HTTPError as e:
            try:
                message = json.load(e).get("error", "")
            except ValueError:
                message = e.reason
            raise ControlError(e.code, message) from None

    def vms(self) -> list[dict]:
        return self.control("GET", "/vms")

    # -- the guest, as VMware Tools would report it (pyVmomi: govmomi's SET.guest.* extraConfig) -----------------
    def _vm(self, vs, entity):
        rows = [r for r in vs.virtual_machines() if r["name"] == entity]
        if len(rows) != 1:
            raise RigError("%d VMs named %s" % (len(rows), entity))
        return rows[0]["_ref"]

    def set_guest_address(self, entity: str, address: str) -> None:
        """The VM's first NIC reports `address` (what VMware Tools would say of the guest)."""
        from pyVmomi import vim  # pylint: disable=import-outside-toplevel
        with vsphere.VSphere(**{k: v for k, v in self.connection().items() if k != "protocol"}) as vs:
            spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key="SET.guest.ipAddress", value=address)])
            vs.wait_task(self._vm(vs, entity).ReconfigVM_Task(spec=spec), "set the guest address of " + entity)

    def add_port_group(self, host: str, name: str, vswitch: str = "vSwitch0") -> None:
        """A standard port group on a host's vSwitch: a network of that name in the host's datacenter."""
        from pyVmomi import vim  # pylint: disable=import-outside-toplevel
        with vsphere.VSphere(**{k: v for k, v in self.connection().items() if k != "protocol"}) as vs:
            [ref] = [r["_ref"] for r in vs.retrieve(vim.HostSystem, ["name"]) if r["name"] == host]
            ref.configManager.networkSystem.AddPortGroup(portgrp=vim.host.PortGroup.Specification(
                name=name, vlanId=0, vswitchName=vswitch, policy=vim.host.NetworkPolicy()))

    def guest(self, entity: str) -> dict:
        """{"ip": guest.ipAddress, "nics": [[addresses] per NIC], "networks": [the port groups it is on],
        "pending": a customization not yet applied} of one VM."""
        with vsphere.VSphere(**{k: v for k, v in self.connection().items() if k != "protocol"}) as vs:
            ref = self._vm(vs, entity)
            return {"ip": ref.guest.ipAddress, "nics": [list(n.ipAddress or []) for n in ref.guest.net or []],
                    "networks": sorted(n.name for n in ref.network or []),
                    "pending": ref.config.tools.pendingCustomization or None}

    def set_perf(self, entity: str, counters: dict[str, list[int]], interval: int | None = None,
                 missing: list[str] | None = None, normal: dict | str | None = "standard"):
        """A VM's or host's series per counter: realtime (20 s), or a historical rollup (interval 300, 1800, ...).

        missing: realtime counters vCenter then has no data for at all (left out of its answers).
        normal: with a realtime series, the VM's past as vCenter's 300 s and 1800 s rollups (its baseline), set
        once per entity: "standard" (fleet.STANDARD_NORMAL, the VM the scenarios degrade), a dict of
        STANDARD_NORMAL's keys, or None for a VM with no history at all (a new VM).
        """
        if interval is None and normal is not None and entity not in self._history_set:
            self.set_history(entity, None if normal == "standard" else normal)
        body = {"entity": entity, "counters": counters}
        if interval is not None:
            body["interval"] = interval
        if missing:
            body["missing"] = list(missing)
        return self.control("PUT", "/perf", body)

    def set_scenario(self, entity: str, scenario: str, severity: float, seed: int = 0, events: int | None = None,
                     normal: dict | str | None = "standard"):
        """A VM in a fleet.py scenario: its realtime series at `severity`, and the first `events` (all by default) of
        the VM events the scenario raises over the trailing 24 h - a failing disk logs warnings as it fails."""
        self.set_perf(entity, fleet.scenario_series(scenario, severity, seed=seed,
                                                    normal=None if normal in (None, "standard") else normal),
                      normal=normal)
        for event_type in fleet.scenario_events(scenario, severity, seed=seed)["vm"][:events]:
            self.post_event(entity, event_type, "%s on %s" % (scenario.replace("_", " "), entity))

    def set_history(self, entity: str, normal: dict | None = None, seed: int = 0):
        """The VM's past at its `normal` (fleet.scenario_history): a day of 300 s and a week of 1800 s rollups."""
        hour = datetime.datetime.now(datetime.timezone.utc)
        end_hour = hour.hour + hour.minute / 60.0
        for interval in (300, 1800):
            self.set_perf(entity, fleet.scenario_history(normal, interval, seed=seed, end_hour=end_hour),
                          interval=interval)
        self._history_set.add(entity)

    def set_host(self, entity: str, overall_status: str | None = None, connection_state: str | None = None,
                 maintenance: bool | None = None, sensors: list | None = None):
        """A host's overall status (green/yellow/red/gray), connection state, maintenance mode and hardware sensors
        ([{name, health: green/yellow/red/unknown, type}], [] clears them), as vCenter reports them."""
        body = {"entity": entity}
        for key, value in (("overall_status", overall_status), ("connection_state", connection_state),
                           ("maintenance", maintenance), ("sensors", sensors)):
            if value is not None:
                body[key] = value
        return self.control("POST", "/host", body)

    def clear_perf(self, entity: str):
        self._history_set.discard(entity)
        return self.control("DELETE", "/perf?entity=" + urllib.parse.quote(entity))

    def set_alarm(self, entity: str, alarm: str, status: str):
        """Trigger (red, yellow) or clear (green) the alarm named `alarm` on a VM, host or datastore: its
        triggeredAlarmState as vCenter reports it."""
        return self.control("POST", "/alarm", {"entity": entity, "alarm": alarm, "status": status})

    def post_event(self, entity: str, event_type: str, message: str = ""):
        return self.control("POST", "/events", {"entity": entity, "type": event_type, "message": message})

    def clone_calls(self) -> list[dict]:
        """Every CloneVM_Task call the simulator answered: source moid, name, start, end (ISO), failed."""
        return self.control("GET", "/calls")["CloneVM_Task"]

    def fail_clones_of(self, entity: str, message: str = "", clear: bool = False):
        """Make CloneVM_Task on this VM fail (a fault vCenter cannot be asked for on demand); clear undoes it."""
        return self.fail_method(entity, "CloneVM_Task", message, clear)

    def fail_method(self, entity: str, method: str, message: str = "", clear: bool = False):
        """Make one method (CloneVM_Task, ReconfigVM_Task, PowerOnVM_Task, Rename_Task, Destroy_Task) on this VM fail."""
        return self.control("POST", "/faults", {"method": method, "entity": entity, "message": message, "clear": clear})

    def fail(self, entity: str):
        return self.control("POST", "/fail", {"entity": entity, "action": "fail"})

    def recover(self, entity: str):
        return self.control("POST", "/fail", {"entity": entity, "action": "recover"})
