# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vSphere access: one session, bulk reads, batched performance queries.

Everything here returns plain data (dicts, lists) keyed by managed object
id (moid), so the rest of the pipeline never touches pyVmomi objects.
"""

from __future__ import annotations

import datetime
import http.client
import os
import socket
import ssl
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_DRILL_OF, ATTR_PRIMARY, REALTIME_INTERVAL
from ansible_collections.predictive.mirroring.plugins.module_utils.deadline import DeadlineExceeded, call_within
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import DuplicateName, Unreachable, VSphereError, require
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.faults import error_of, translated
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.perf import (
    SOAPENV, XSI, PerfClient, entity_type, parse_perf)

try:
    from pyVim.connect import SmartConnect, Disconnect
    from pyVmomi import vim, vmodl
    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None
except ImportError:
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = traceback.format_exc()


VM_PROPERTIES = [
    "name", "parent", "resourcePool", "config.instanceUuid", "config.template", "config.hardware.numCPU",
    "config.hardware.memoryMB", "runtime.powerState", "runtime.connectionState", "runtime.host",
    "summary.quickStats.uptimeSeconds", "overallStatus", "customValue", "triggeredAlarmState", "datastore",
]
# the host's hardware sensors, as its health provider (CIM/IPMI) reports them: what vSphere Proactive HA acts on
HOST_SENSORS = "runtime.healthSystemRuntime.systemHealthInfo.numericSensorInfo"
HOST_PROPERTIES = ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode", "overallStatus",
                   "triggeredAlarmState", HOST_SENSORS]
DATASTORE_PROPERTIES = ["name", "triggeredAlarmState"]
DEFAULT_TIMEOUT = 60


CONNECTION_KEYS = ("hostname", "username", "password", "port", "validate_certs", "ca_path", "timeout")


def connection_params(params):
    """The subset of a module's params that VSphere() takes."""
    return {k: params.get(k) for k in CONNECTION_KEYS}


_TRUE = ("1", "true", "yes", "on", "y", "t")
_FALSE = ("0", "false", "no", "off", "n", "f")


def strict_bool(value, what):
    """A boolean from a bool or one of the usual spellings; anything else (a typo) is an error, never False."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise VSphereError("%s must be true or false, got %r: a typo is never taken for either" % (what, value))


def resolve_vm(vms, uuid=None, name=None, where="vCenter"):
    """The one VM row with this instance UUID (or, without one, the one primary called `name`).

    Names are for display: a name that two VMs share (a namesake in another
    datacenter, say) is refused rather than guessed. Mirrors and drill copies
    are never taken for a primary by name.
    """
    if uuid:
        found = [vm for vm in vms if vm["instance_uuid"] == uuid]
        if not found:
            raise VSphereError("VM %s(instance UUID %s) not found in %s" % ("'%s' " % name if name else "", uuid, where))
        return found[0]
    if not name:
        raise VSphereError("a VM is named by its instance UUID (uuid) or its name")
    found = [vm for vm in vms if vm["name"] == name and not vm["attributes"].get(ATTR_PRIMARY)
             and not vm["attributes"].get(ATTR_DRILL_OF)]
    if not found:
        raise VSphereError("VM '%s' not found in %s" % (name, where))
    if len(found) > 1:
        raise VSphereError("VM name '%s' is ambiguous in %s: %s. Give its instance UUID (uuid; the inventory's "
                           "vm_instance_uuid)" % (name, where, ", ".join(
                               "%s in %s (%s)" % (vm["moid"], vm["datacenter"], vm["instance_uuid"]) for vm in found)))
    return found[0]


class VSphere:
    """One logged-in vCenter session. Use as a context manager."""

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None, timeout=DEFAULT_TIMEOUT):
        require("pyvmomi", HAS_PYVMOMI, PYVMOMI_IMPORT_ERROR)
        if not hostname:
            raise VSphereError("No vCenter given: set hostname (or VMWARE_HOST)")
        if not username or password is None:
            raise VSphereError("No credentials for vCenter %s: set username and password (or VMWARE_USER and VMWARE_PASSWORD)"
                               % hostname)
        self.hostname = hostname
        self.port = int(port or 443)
        self.username = username
        self._password = password
        self.validate_certs = strict_bool(validate_certs, "validate_certs")
        self.ca_path = ca_path
        self.timeout = int(timeout or DEFAULT_TIMEOUT)
        if self.timeout < 1:
            raise VSphereError("timeout must be at least 1 second, got %s" % timeout)
        self.si = None
        self.content = None
        self._counter_keys = None
        self._field_keys = {}  # custom attribute name -> key, as this session found or made them
        self._fields_lock = threading.Lock()  # the window's threads share the session: one of them creates a field

    @property
    def name(self):
        return "%s:%s" % (self.hostname, self.port)

    def _ssl_context(self):
        # pyVmomi skips verification for localhost when no context is given:
        # always pass one, so validate_certs means what it says.
        if not self.validate_certs:
            return ssl._create_unverified_context()  # pylint: disable=protected-access
        try:
            if not self.ca_path:
                return ssl.create_default_context()
            if os.path.isdir(self.ca_path):  # an OpenSSL hashed CA directory
                return ssl.create_default_context(capath=self.ca_path)
            return ssl.create_default_context(cafile=self.ca_path)
        except (OSError, ssl.SSLError) as e:
            raise VSphereError("Cannot read CA bundle %s for vCenter %s: %s" % (self.ca_path, self.name, e)) from None

    def connect(self):
        """Log in. `timeout` bounds every vCenter call as a whole, the login included: a vCenter (or a proxy) that
        answers a byte at a time cannot hold a run longer than that per call."""
        if self.si is not None:
            return self
        try:
            # the session is kept only from here: a login abandoned at the deadline never becomes this session
            self.si, self.content = call_within(self.timeout, self._login)
        except DeadlineExceeded as e:
            # where the login was waiting tells a silent network (connect, handshake, reading the reply) from a stall
            # on this machine
            raise Unreachable("vCenter %s did not answer within %d s (timeout): check the address, or raise timeout "
                              "(VMWARE_TIMEOUT)%s" % (self.name, self.timeout,
                                                      "; the login was waiting in %s" % e.where if e.where else "")) from None
        stub = self.si._stub  # pylint: disable=protected-access
        invoke = stub.InvokeMethod

        def within(mo, info, args, outerStub=None):  # pylint: disable=invalid-name
            try:
                return call_within(self.timeout, invoke, mo, info, args, outerStub)
            # the session's sockets time out after the same seconds: whichever fires first, the same answer
            except (DeadlineExceeded, socket.timeout, TimeoutError):
                raise Unreachable("vCenter %s gave no complete answer to %s within %d s (timeout)"
                                  % (self.name, info.wsdlName, self.timeout)) from None
            # a vCenter (or a load balancer in front of it) that drops the connection: one line, not a traceback;
            # never retried here, since a call it dropped may have been carried out (a clone, a power-on)
            except (ConnectionError, ssl.SSLError, http.client.HTTPException) as e:
                raise Unreachable("vCenter %s dropped the connection during %s: %s"
                                  % (self.name, info.wsdlName, e or type(e).__name__)) from None
        stub.InvokeMethod = within
        return self

    def _login(self):
        # httpConnectionTimeout bounds each socket operation of the session; pyVmomi's API version discovery before
        # the login opens its own connection with the socket default, so that default is bounded too while connecting
        default_timeout = socket.getdefaulttimeout()
        socket.setdefaulttimeout(self.timeout)
        try:
            si = SmartConnect(host=self.hostname, port=self.port, user=self.username, pwd=self._password,
                              sslContext=self._ssl_context(), httpConnectionTimeout=self.timeout)
        except vim.fault.InvalidLogin:
            raise VSphereError("Cannot log in to vCenter %s as %s: wrong username or password"
                               % (self.name, self.username)) from None
        except ssl.SSLCertVerificationError as e:
            raise VSphereError("Cannot verify the certificate of vCenter %s (%s): give its CA in ca_path "
                               "(VMWARE_CA_PATH) or set validate_certs false" % (self.name, e.verify_message)) from None
        except (socket.timeout, TimeoutError):
            raise Unreachable("vCenter %s did not answer within %d s (timeout): check the address, or raise timeout "
                              "(VMWARE_TIMEOUT)" % (self.name, self.timeout)) from None
        except (ConnectionError, socket.gaierror, OSError, http.client.HTTPException) as e:
            raise Unreachable("Cannot reach vCenter %s: %s" % (self.name, getattr(e, "strerror", None) or e)) from None
        except vmodl.MethodFault as e:
            raise VSphereError("vCenter %s refused the login: %s" % (self.name, e.msg)) from None
        finally:
            socket.setdefaulttimeout(default_timeout)
        try:
            content = si.RetrieveContent()
        except (socket.timeout, TimeoutError):
            raise Unreachable("vCenter %s did not answer within %d s (timeout)" % (self.name, self.timeout)) from None
        return si, content

    def close(self):
        if self.si is not None:
            try:
                Disconnect(self.si)
            except Exception:  # pylint: disable=broad-except
                pass  # a dead session needs no logout
            self.si = None

    def another(self):
        """A second session to the same vCenter with the same credentials (for a thread or a child process)."""
        return VSphere(self.hostname, self.username, self._password, port=self.port, validate_certs=self.validate_certs,
                       ca_path=self.ca_path, timeout=self.timeout)

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    @property
    def instance_uuid(self):
        return self.content.about.instanceUuid

    # -- bulk property retrieval ---------------------------------------------
    def retrieve(self, obj_type, properties, root=None, page_size=1000):
        """All objects of obj_type (a type, or its name: "HostSystem") below root with only `properties`, paged.

        Returns a list of dicts: {"moid": ..., "_ref": obj, prop: value, ...}.
        """
        obj_type = managed_type(obj_type)
        pc = self.content.propertyCollector
        view = self.content.viewManager.CreateContainerView(root or self.content.rootFolder, [obj_type], True)
        try:
            with translated("read %s objects from vCenter %s" % (obj_type.__name__, self.name)):
                traversal = vmodl.query.PropertyCollector.TraversalSpec(
                    name="view", path="view", skip=False, type=vim.view.ContainerView)
                spec = vmodl.query.PropertyCollector.FilterSpec(
                    objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
                    propSet=[vmodl.query.PropertyCollector.PropertySpec(type=obj_type, pathSet=list(properties))])
                out = []
                for oc in retrieve_pages(pc, [spec], page_size):
                    row = {"moid": oc.obj._moId, "_ref": oc.obj}  # pylint: disable=protected-access
                    for prop in oc.propSet:
                        row[prop.name] = prop.val
                    out.append(row)
                return out
        finally:
            view.Destroy()

    def topology(self):
        """Datacenters, clusters, hosts and folders: moid -> {name, parent, kind}."""
        nodes = {}
        for kind, vtype, props in (("datacenter", vim.Datacenter, ["name", "parent"]),
                                   ("folder", vim.Folder, ["name", "parent"]),
                                   ("cluster", vim.ComputeResource, ["name", "parent"]),
                                   ("pool", vim.ResourcePool, ["name", "parent"]),
                                   ("host", vim.HostSystem, HOST_PROPERTIES)):
            for row in self.retrieve(vtype, props):
                parent = row.get("parent")
                row["parent"] = parent._moId if parent is not None else None  # pylint: disable=protected-access
                row["kind"] = kind
                nodes[row["moid"]] = row
        return nodes

    @staticmethod
    def ancestor(nodes, moid, kind):
        """The nearest ancestor of `kind` (datacenter, cluster, folder) of moid."""
        seen = 0
        cur = nodes.get(moid)
        while cur is not None and seen < 64:
            parent = nodes.get(cur.get("parent"))
            if parent is not None and parent["kind"] == kind:
                return parent
            cur = parent
            seen += 1
        return None

    @staticmethod
    def folder_path(nodes, moid):
        """The VM folder path of a VM's parent folder, from its datacenter's vm folder (e.g. "prod/web")."""
        parts = []
        cur = nodes.get(moid)
        while cur is not None and cur["kind"] == "folder":
            parent = nodes.get(cur.get("parent"))
            if parent is None or parent["kind"] == "datacenter":
                break  # cur is the datacenter's root "vm" folder
            parts.append(cur["name"])
            cur = parent
        return "/".join(reversed(parts))

    def field_names(self):
        """Custom attribute key -> name."""
        fields = self.content.customFieldsManager.field or []
        return {f.key: f.name for f in fields}

    def virtual_machines(self):
        """Every VM (templates excluded) with its place in the inventory and its mirroring attributes."""
        nodes = self.topology()
        fields = self.field_names()
        stores = {row["moid"]: row for row in self.retrieve(vim.Datastore, DATASTORE_PROPERTIES)}
        rows = [row for row in self.retrieve(vim.VirtualMachine, VM_PROPERTIES) if not row.get("config.template")]
        hosts = {moid: node for moid, node in nodes.items() if node["kind"] == "host"}
        names = self.alarm_names([st.alarm for entity in rows + list(hosts.values()) + list(stores.values())
                                  for st in entity.get("triggeredAlarmState") or []])
        # each host's and datastore's verdicts once, shared by the records of its VMs
        host_alarms = {moid: alarm_records(h.get("triggeredAlarmState") or [], names) for moid, h in hosts.items()}
        host_sensors = {moid: sensor_records(h.get(HOST_SENSORS) or []) for moid, h in hosts.items()}
        datastores = {moid: {"name": ds.get("name"), "moid": moid,
                             "alarms": alarm_records(ds.get("triggeredAlarmState") or [], names)}
                      for moid, ds in stores.items()}
        out = []
        for row in rows:
            host_ref = row.get("runtime.host")
            host_moid = host_ref._moId if host_ref is not None else None  # pylint: disable=protected-access
            host = nodes.get(host_moid) or {}
            cluster = self.ancestor(nodes, host_moid, "cluster") if host_moid else None
            parent = row.get("parent")
            parent_moid = parent._moId if parent is not None else None  # pylint: disable=protected-access
            dc = self.ancestor(nodes, host_moid or parent_moid, "datacenter") if (host_moid or parent_moid) else None
            attrs = {}
            for cv in row.get("customValue") or []:
                name = fields.get(cv.key)
                if name:
                    attrs[name] = getattr(cv, "value", None)
            out.append({
                "moid": row["moid"],
                "_ref": row["_ref"],
                "name": row.get("name"),
                "instance_uuid": row.get("config.instanceUuid"),
                "power_state": str(row.get("runtime.powerState") or ""),
                "connection_state": str(row.get("runtime.connectionState") or ""),
                "num_cpu": row.get("config.hardware.numCPU"),
                "memory_mb": row.get("config.hardware.memoryMB"),
                "uptime_seconds": row.get("summary.quickStats.uptimeSeconds"),
                "overall_status": str(row.get("overallStatus") or ""),
                "host": host.get("name"),
                "host_moid": host_moid,
                "host_connection_state": str(host.get("runtime.connectionState") or ""),
                "host_in_maintenance": bool(host.get("runtime.inMaintenanceMode")),
                "host_overall_status": str(host.get("overallStatus") or ""),
                "cluster": cluster["name"] if cluster else None,
                "cluster_moid": cluster["moid"] if cluster else None,
                "datacenter": dc["name"] if dc else None,
                "datacenter_moid": dc["moid"] if dc else None,
                "folder": self.folder_path(nodes, parent_moid) if parent_moid else "",
                "attributes": attrs,
                "alarms": alarm_records(row.get("triggeredAlarmState") or [], names),
                "host_alarms": host_alarms.get(host_moid, []),
                "host_sensors": host_sensors.get(host_moid, []),
                "datastores": [datastores.get(ds._moId, {"name": ds._moId, "moid": ds._moId, "alarms": []})  # pylint: disable=protected-access
                               for ds in row.get("datastore") or []],
            })
        return out

    def alarm_names(self, refs):
        """{alarm moid: its definition's name} for Alarm references, in one property call."""
        unique = {ref._moId: ref for ref in refs if ref is not None}  # pylint: disable=protected-access
        if not unique:
            return {}
        with translated("read alarm definitions from vCenter %s" % self.name):
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=ref) for ref in unique.values()],
                propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.alarm.Alarm, pathSet=["info.name"])])
            return {oc.obj._moId: oc.propSet[0].val  # pylint: disable=protected-access
                    for oc in retrieve_pages(self.content.propertyCollector, [spec], 1000) if oc.propSet}

    # -- performance -----------------------------------------------------------
    def counter_keys(self, names):
        """Map counter names ("cpu.usage.average") to this vCenter's keys; unknown names are left out."""
        if self._counter_keys is None:
            self._counter_keys = {}
            for c in self.content.perfManager.perfCounter:
                self._counter_keys["%s.%s.%s" % (c.groupInfo.key, c.nameInfo.key, c.rollupType)] = c.key
        return {n: self._counter_keys[n] for n in names if n in self._counter_keys}

    def query_perf(self, refs, counters, max_sample=15, start_time=None, interval_id=REALTIME_INTERVAL,
                   batch_size=250, workers=2):
        """Aggregate ("" instance) samples of `counters` for every entity in refs.

        Returns {moid: {"timestamps": [datetime...], counter_name: [values...]}}.
        Values and timestamps are not assumed to line up: a series may be
        shorter than its timestamps (vCenter drops missing samples).

        QueryPerf goes over this session (its cookie) in batches of
        `batch_size` entities on `workers` connections, asks for vCenter's
        compact CSV format, and is parsed with ElementTree's C parser:
        pyVmomi's own deserializer spends most of a 10,000-VM fleet's time
        here. The first failing batch is re-raised here.
        """
        keys = self.counter_keys(counters)
        if not keys or not refs:
            return {}
        name_of = {v: k for k, v in keys.items()}
        moids = [ref._moId if hasattr(ref, "_moId") else ref for ref in refs]  # pylint: disable=protected-access
        batches = [moids[i:i + batch_size] for i in range(0, len(moids), batch_size)]
        spec_tail = "".join("<metricId><counterId>%d</counterId><instance></instance></metricId>" % k for k in keys.values())
        start = "<startTime>%s</startTime>" % start_time.isoformat() if start_time is not None else ""
        spec_tail = "%s<maxSample>%d</maxSample>%s<intervalId>%d</intervalId><format>csv</format>" % (
            start, max_sample, spec_tail, interval_id)
        pm = self.content.perfManager._moId  # pylint: disable=protected-access
        perf = PerfClient(self)

        def run(batch):
            specs = "".join('<querySpec><entity type="%s">%s</entity>%s</querySpec>' % (entity_type(m), m, spec_tail)
                            for m in batch)
            body = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="%s" xmlns:xsi="%s">'
                    '<soapenv:Body><QueryPerf xmlns="urn:vim25"><_this type="PerformanceManager">%s</_this>%s'
                    '</QueryPerf></soapenv:Body></soapenv:Envelope>') % (SOAPENV, XSI, pm, specs)
            return parse_perf(perf.post(body.encode()), name_of)

        out = {}
        try:
            if workers <= 1 or len(batches) <= 1:
                for b in batches:
                    out.update(run(b))
                return out
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for part in pool.map(run, batches):  # re-raises a worker's error here
                    out.update(part)
            return out
        finally:
            perf.close()

    # -- events ----------------------------------------------------------------
    def events(self, begin_time=None, event_types=None, entity=None, page=1000, limit=100000):
        """Events (newest last) as dicts; filtered here too, as not every vCenter honours every filter."""
        em = self.content.eventManager
        spec = vim.event.EventFilterSpec()
        if begin_time is not None:
            spec.time = vim.event.EventFilterSpec.ByTime(beginTime=begin_time)
        if event_types:
            spec.eventTypeId = list(event_types)
        if entity is not None:
            spec.entity = vim.event.EventFilterSpec.ByEntity(entity=entity, recursion="all")
        with translated("read events from vCenter %s" % self.name):
            collector = em.CreateCollectorForEvents(spec)
        out = []
        wanted = set(event_types or [])
        try:
            # the collector's window is its page size (10 by default); widen it
            collector.SetCollectorPageSize(page)
            collector.RewindCollector()
            while len(out) < limit:
                batch = collector.ReadNextEvents(page)
                if not batch:
                    break
                for ev in batch:
                    rec = event_record(ev)
                    if begin_time is not None and rec["created"] < begin_time:
                        continue
                    if wanted and rec["type"] not in wanted:
                        continue
                    out.append(rec)
                if len(batch) < page:
                    break
        finally:
            try:
                collector.DestroyCollector()
            except vmodl.MethodFault:
                pass
        out.sort(key=lambda r: (r["created"], r["key"]))
        return out

    # -- objects ------------------------------------------------------------------
    def root_folder(self, name):
        """The folder named `name` right below vCenter's root folder, or None."""
        with translated("read the root folder of vCenter %s" % self.name):
            for child in self.content.rootFolder.childEntity or []:
                if isinstance(child, vim.Folder) and child.name == name:
                    return child
        return None

    def create_root_folder(self, name):
        """A new folder below vCenter's root folder; DuplicateName when one of that name exists."""
        with translated("create folder %s on vCenter %s" % (name, self.name)):
            return self.content.rootFolder.CreateFolder(name)

    def custom_values(self, ref, name, mo_type=None):
        """The values of custom attribute `name` on `ref`, oldest first (vCenter keeps one; govmomi's simulator appends
        one per SetField, so the last is current); Gone when the object was removed meanwhile."""
        key = self.ensure_fields([name], mo_type=mo_type)[name]
        with translated("read %s on vCenter %s" % (name, self.name)):
            return [cv.value for cv in ref.customValue or [] if cv.key == key and getattr(cv, "value", None)]

    def server_time(self):
        with translated("read the time of vCenter %s" % self.name):
            return self.si.CurrentTime()

    # -- tasks -------------------------------------------------------------------
    def wait_task(self, task, what, timeout=1800):
        """Wait for a task, reading only its state, error and result; a failure raises VSphereError naming `what`."""
        pc = self.content.propertyCollector
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=task)],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=vim.Task, pathSet=["info.state", "info.error",
                                                                                        "info.result"])])
        deadline = time.monotonic() + timeout
        delay = 0.02
        while True:
            with translated(what):
                found = pc.RetrieveContents([spec])
            props = {p.name: p.val for p in found[0].propSet} if found else {}
            state = props.get("info.state")
            if state == vim.TaskInfo.State.success:
                return props.get("info.result")
            if state == vim.TaskInfo.State.error:
                raise error_of(props.get("info.error"), what)
            if time.monotonic() > deadline:
                raise VSphereError("Failed to %s: still %s after %d s" % (what, state, timeout))
            time.sleep(delay)
            delay = min(delay * 2, 1.0)

    # -- custom attributes -------------------------------------------------------
    def ensure_fields(self, names, mo_type=None):
        """Create the custom attribute definitions (of VMs, unless mo_type - a type or its name - says) that do not
        exist yet; name -> key. Read from vCenter once per session: a run sets thousands of attributes, and each read
        of the definitions was a call of its own."""
        with self._fields_lock:
            return self._ensure_fields(names, mo_type)

    def _ensure_fields(self, names, mo_type):
        missing = [name for name in names if name not in self._field_keys]
        if missing:
            mo_type = managed_type(mo_type or "VirtualMachine")
            cfm = self.content.customFieldsManager
            have = {f.name: f.key for f in (cfm.field or [])}
            for name in missing:
                if name not in have:
                    try:
                        with translated("create custom attribute %s on vCenter %s" % (name, self.name)):
                            have[name] = cfm.AddCustomFieldDef(name=name, moType=mo_type).key
                    except DuplicateName:  # another run made it meanwhile
                        have.update({f.name: f.key for f in (cfm.field or [])})
            self._field_keys.update(have)
        return {name: self._field_keys[name] for name in names}

    def set_attribute(self, ref, name, value, mo_type=None):
        """Set custom attribute `name` of `ref`; Gone when the object was removed meanwhile."""
        key = self.ensure_fields([name], mo_type=mo_type)[name]
        try:
            self.content.customFieldsManager.SetField(entity=ref, key=key, value=str(value))
        except vmodl.MethodFault as e:  # the object's name is read only for the message: a call of its own
            raise error_of(e, "set %s on %s in vCenter %s" % (name, label(ref), self.name)) from None


def label(ref):
    """A managed object's name for a message, or its moid when it cannot be read (gone, or no answer)."""
    try:
        return ref.name
    except Exception:  # pylint: disable=broad-except
        return getattr(ref, "_moId", str(ref))


def alarm_records(states, names):
    """A VM's triggered alarms (vim.alarm.AlarmState) as plain records, red first, then the oldest:
    [{name, status, since, acknowledged}]. An alarm whose definition is gone keeps its moid as its name."""
    out = []
    for st in states:
        moid = st.alarm._moId if st.alarm is not None else ""  # pylint: disable=protected-access
        status = str(st.overallStatus or "")
        if status not in ("red", "yellow"):
            continue
        since = st.time
        out.append({"name": names.get(moid) or moid, "status": status,
                    "since": since.astimezone(datetime.timezone.utc).isoformat() if since else None,
                    "acknowledged": bool(st.acknowledged)})
    return sorted(out, key=lambda a: (a["status"] != "red", a["since"] or "", a["name"]))


def sensor_records(sensors):
    """A host's hardware sensors (vim.host.NumericSensorInfo) that are not green, as plain records, red first:
    [{name, health, type}]. A sensor the provider cannot read (unknown) is left out: no verdict is no alarm."""
    out = []
    for sensor in sensors:
        health = str(getattr(sensor.healthState, "key", "") or "").lower()
        if health in ("red", "yellow"):
            out.append({"name": sensor.name, "health": health, "type": sensor.sensorType or ""})
    return sorted(out, key=lambda x: (x["health"] != "red", x["name"]))


def managed_type(obj_type):
    """A managed object type from its name ("HostSystem") or itself."""
    return getattr(vim, obj_type) if isinstance(obj_type, str) else obj_type


def retrieve_pages(pc, specs, page_size):
    """Every ObjectContent of a RetrievePropertiesEx, following continuation tokens."""
    result = pc.RetrievePropertiesEx(specs, vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size))
    while result is not None:
        yield from result.objects
        if not result.token:
            break
        result = pc.ContinueRetrievePropertiesEx(result.token)


def event_record(ev):
    """Plain dict of one vim.event.Event."""
    def moid(arg, attr):
        obj = getattr(arg, attr, None) if arg is not None else None
        return obj._moId if obj is not None else None  # pylint: disable=protected-access
    return {
        "key": ev.key,
        "type": type(ev).__name__.rsplit(".", 1)[-1],
        "created": ev.createdTime,
        "vm": moid(ev.vm, "vm"),
        "host": moid(ev.host, "host"),
        "cluster": moid(ev.computeResource, "computeResource"),
        "datacenter": moid(ev.datacenter, "datacenter"),
        "message": ev.fullFormattedMessage or "",
    }


def now():
    return datetime.datetime.now(datetime.timezone.utc)
