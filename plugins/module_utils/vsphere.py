# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vSphere access: one session, bulk reads, batched performance queries.

Everything here returns plain data (dicts, lists) keyed by managed object
id (moid), so the rest of the pipeline never touches pyVmomi objects.
"""

from __future__ import annotations

import datetime
import os
import socket
import ssl
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError, require

try:
    from pyVim.connect import SmartConnect, Disconnect
    from pyVmomi import vim, vmodl
    HAS_PYVMOMI = True
    PYVMOMI_IMPORT_ERROR = None
except ImportError:
    HAS_PYVMOMI = False
    PYVMOMI_IMPORT_ERROR = traceback.format_exc()


# Custom attributes that hold the mirroring state on the VMs themselves.
ATTR_LEVEL = "mirroring.level"
ATTR_FPS = "mirroring.fps"
ATTR_SINCE = "mirroring.since"
ATTR_PRIMARY = "mirroring.primary"
ATTR_DEPENDS_ON = "mirroring.depends_on"
ATTR_BELOW_SINCE = "mirroring.below_since"
STATE_ATTRIBUTES = (ATTR_LEVEL, ATTR_FPS, ATTR_SINCE, ATTR_PRIMARY, ATTR_DEPENDS_ON, ATTR_BELOW_SINCE)

VM_PROPERTIES = [
    "name", "parent", "resourcePool", "config.instanceUuid", "config.template", "config.hardware.numCPU",
    "config.hardware.memoryMB", "runtime.powerState", "runtime.connectionState", "runtime.host",
    "summary.quickStats.uptimeSeconds", "overallStatus", "customValue",
]
HOST_PROPERTIES = ["name", "parent", "runtime.connectionState", "runtime.inMaintenanceMode", "overallStatus"]
REALTIME_INTERVAL = 20


def connection_argument_spec():
    """Connection options shared by every module (doc fragment: vsphere)."""
    from ansible.module_utils.basic import env_fallback  # pylint: disable=import-outside-toplevel
    return dict(
        hostname=dict(type="str", fallback=(env_fallback, ["VMWARE_HOST"])),
        username=dict(type="str", aliases=["user"], fallback=(env_fallback, ["VMWARE_USER"])),
        password=dict(type="str", aliases=["pass", "pwd"], no_log=True,
                      fallback=(env_fallback, ["VMWARE_PASSWORD"])),
        port=dict(type="int", default=443, fallback=(env_fallback, ["VMWARE_PORT"])),
        validate_certs=dict(type="bool", default=True, fallback=(env_fallback, ["VMWARE_VALIDATE_CERTS"])),
        ca_path=dict(type="path", fallback=(env_fallback, ["VMWARE_CA_PATH"])),
    )


def connection_params(params):
    """The subset of a module's params that VSphere() takes."""
    return {k: params.get(k) for k in ("hostname", "username", "password", "port", "validate_certs", "ca_path")}


class VSphere:
    """One logged-in vCenter session. Use as a context manager."""

    def __init__(self, hostname, username, password, port=443, validate_certs=True, ca_path=None, timeout=120):
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
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.si = None
        self.content = None
        self._counter_keys = None

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
        if self.si is not None:
            return self
        try:
            self.si = SmartConnect(host=self.hostname, port=self.port, user=self.username, pwd=self._password,
                                   sslContext=self._ssl_context(), connectionPoolTimeout=self.timeout)
        except vim.fault.InvalidLogin:
            raise VSphereError("Cannot log in to vCenter %s as %s: wrong username or password"
                               % (self.name, self.username)) from None
        except ssl.SSLCertVerificationError as e:
            raise VSphereError("Cannot verify the certificate of vCenter %s (%s): give its CA in ca_path "
                               "(VMWARE_CA_PATH) or set validate_certs false" % (self.name, e.verify_message)) from None
        except (ConnectionError, socket.timeout, socket.gaierror, OSError) as e:
            raise VSphereError("Cannot reach vCenter %s: %s" % (self.name, getattr(e, "strerror", None) or e)) from None
        except vmodl.MethodFault as e:
            raise VSphereError("vCenter %s refused the login: %s" % (self.name, e.msg)) from None
        self.content = self.si.RetrieveContent()
        return self

    def close(self):
        if self.si is not None:
            try:
                Disconnect(self.si)
            except Exception:  # pylint: disable=broad-except
                pass  # a dead session needs no logout
            self.si = None

    def __enter__(self):
        return self.connect()

    def __exit__(self, *exc):
        self.close()

    @property
    def instance_uuid(self):
        return self.content.about.instanceUuid

    # -- bulk property retrieval ---------------------------------------------
    def retrieve(self, obj_type, properties, root=None, page_size=1000):
        """All objects of obj_type below root with only `properties`, paged.

        Returns a list of dicts: {"moid": ..., "_ref": obj, prop: value, ...}.
        """
        pc = self.content.propertyCollector
        view = self.content.viewManager.CreateContainerView(root or self.content.rootFolder, [obj_type], True)
        try:
            traversal = vmodl.query.PropertyCollector.TraversalSpec(
                name="view", path="view", skip=False, type=vim.view.ContainerView)
            spec = vmodl.query.PropertyCollector.FilterSpec(
                objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
                propSet=[vmodl.query.PropertyCollector.PropertySpec(type=obj_type, pathSet=list(properties))])
            options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
            result = pc.RetrievePropertiesEx([spec], options)
            out = []
            while result is not None:
                for oc in result.objects:
                    row = {"moid": oc.obj._moId, "_ref": oc.obj}  # pylint: disable=protected-access
                    for prop in oc.propSet:
                        row[prop.name] = prop.val
                    out.append(row)
                if not result.token:
                    break
                result = pc.ContinueRetrievePropertiesEx(result.token)
            return out
        except vmodl.MethodFault as e:
            raise VSphereError("Reading %s objects from vCenter %s failed: %s" % (obj_type.__name__, self.name, e.msg)) from None
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
        out = []
        for row in self.retrieve(vim.VirtualMachine, VM_PROPERTIES):
            if row.get("config.template"):
                continue
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
            })
        return out

    # -- performance -----------------------------------------------------------
    def counter_keys(self, names):
        """Map counter names ("cpu.usage.average") to this vCenter's keys; unknown names are left out."""
        if self._counter_keys is None:
            self._counter_keys = {}
            for c in self.content.perfManager.perfCounter:
                self._counter_keys["%s.%s.%s" % (c.groupInfo.key, c.nameInfo.key, c.rollupType)] = c.key
        return {n: self._counter_keys[n] for n in names if n in self._counter_keys}

    def query_perf(self, refs, counters, max_sample=15, start_time=None, interval_id=REALTIME_INTERVAL,
                   batch_size=200, workers=4):
        """Aggregate ("" instance) samples of `counters` for every entity in refs.

        Returns {moid: {"timestamps": [datetime...], counter_name: [values...]}}.
        Values and timestamps are not assumed to line up: a series may be
        shorter than its timestamps (vCenter drops missing samples).
        Batches of `batch_size` entities go to QueryPerf on `workers` threads;
        the first failing batch is re-raised here.
        """
        keys = self.counter_keys(counters)
        if not keys:
            return {}
        name_of = {v: k for k, v in keys.items()}
        metric_ids = [vim.PerformanceManager.MetricId(counterId=k, instance="") for k in keys.values()]
        pm = self.content.perfManager
        batches = [refs[i:i + batch_size] for i in range(0, len(refs), batch_size)]

        def run(batch):
            specs = [vim.PerformanceManager.QuerySpec(entity=ref, metricId=metric_ids, intervalId=interval_id,
                                                      maxSample=max_sample, startTime=start_time) for ref in batch]
            try:
                result = pm.QueryPerf(querySpec=specs)
            except vmodl.MethodFault as e:
                raise VSphereError("QueryPerf on vCenter %s failed: %s" % (self.name, e.msg)) from None
            part = {}
            for em in result or []:
                row = {"timestamps": [s.timestamp for s in em.sampleInfo]}
                for series in em.value:
                    name = name_of.get(series.id.counterId)
                    if name is not None:
                        row[name] = list(series.value)
                part[em.entity._moId] = row  # pylint: disable=protected-access
            return part

        out = {}
        if workers <= 1 or len(batches) <= 1:
            for b in batches:
                out.update(run(b))
            return out
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for part in pool.map(run, batches):  # re-raises a worker's error here
                out.update(part)
        return out

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
        try:
            collector = em.CreateCollectorForEvents(spec)
        except vmodl.MethodFault as e:
            raise VSphereError("Reading events from vCenter %s failed: %s" % (self.name, e.msg)) from None
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

    def post_event(self, entity_ref, message, event_type="GeneralUserEvent"):
        """Record a mirroring decision in vCenter's own event log."""
        cls = getattr(vim.event, event_type)
        ev = cls(createdTime=now(), userName=self.username, fullFormattedMessage=message, key=0, chainId=0,
                 message=message)
        ev.entity = vim.event.ManagedEntityEventArgument(entity=entity_ref, name=getattr(entity_ref, "name", ""))
        self.content.eventManager.PostEvent(ev)

    # -- custom attributes -------------------------------------------------------
    def ensure_fields(self, names):
        """Create the VM custom attribute definitions that do not exist yet; name -> key."""
        cfm = self.content.customFieldsManager
        have = {f.name: f.key for f in (cfm.field or [])}
        for name in names:
            if name not in have:
                try:
                    have[name] = cfm.AddCustomFieldDef(name=name, moType=vim.VirtualMachine).key
                except vim.fault.DuplicateName:
                    have.update({f.name: f.key for f in (cfm.field or [])})
                except vmodl.MethodFault as e:
                    raise VSphereError("Cannot create custom attribute %s on vCenter %s: %s" % (name, self.name, e.msg)) from None
        return have

    def set_attribute(self, ref, name, value):
        try:
            self.content.customFieldsManager.SetField(entity=ref, key=self.ensure_fields([name])[name], value=str(value))
        except vmodl.MethodFault as e:
            raise VSphereError("Cannot set %s on %s in vCenter %s: %s" % (name, getattr(ref, "name", ref), self.name, e.msg)) from None


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
