# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where mirrors (and drill copies) go in the secondary datacenter, and the vSphere specs that put them there.

Placement resolves and checks the datacenter, cluster, hosts, resource pool, datastore, folder and network before
anything changes; the spec builders are the only place the collection builds pyVmomi specs.
"""

from __future__ import annotations

import ipaddress
import re
import threading

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_DATASTORE_AT_RISK, ATTR_HOST_AT_RISK, MARKER_KEY, MARKER_SYNCED_KEY)
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError

try:
    from pyVmomi import vim
except ImportError:
    vim = None  # vsphere.VSphere() reports the missing library


def marked_at_risk(vs, ref, fields=None, attr=ATTR_HOST_AT_RISK):
    """The at-risk mark an evacuation left ('' when unmarked): mirroring.host_at_risk on a host, or `attr`
    (ATTR_DATASTORE_AT_RISK on a datastore). The last value is current (see VSphere.custom_values)."""
    fields = fields if fields is not None else vs.field_names()
    values = [getattr(cv, "value", "") or "" for cv in ref.customValue or [] if fields.get(cv.key) == attr]
    return values[-1] if values else ""


def _network_name(nic, vm_ref):
    backing = nic.backing
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
        for net in vm_ref.network:
            if isinstance(net, vim.dvs.DistributedVirtualPortgroup) and net.key == backing.port.portgroupKey:
                return net.name
        return backing.port.portgroupKey
    return getattr(backing, "deviceName", None)


def _find_child(children, name, kind):
    for child in children or []:
        if isinstance(child, kind) and child.name == name:
            return child
    return None


class Placement:
    """Where mirrors go, resolved (and checked) before anything changes."""

    def __init__(self, vs, opts):
        self.vs = vs
        dc_name = opts.secondary_datacenter
        dc = _find_child(vs.content.rootFolder.childEntity, dc_name, vim.Datacenter)
        if dc is None:
            raise VSphereError("Secondary datacenter '%s' not found in vCenter %s" % (dc_name, vs.name))
        self.datacenter = dc
        computes = [c for c in dc.hostFolder.childEntity if isinstance(c, vim.ComputeResource)]
        if opts.secondary_cluster:
            cluster = _find_child(computes, opts.secondary_cluster, vim.ComputeResource)
            if cluster is None:
                raise VSphereError("Cluster '%s' not found in datacenter '%s'" % (opts.secondary_cluster, dc_name))
        elif computes:
            cluster = computes[0]
        else:
            raise VSphereError("Datacenter '%s' has no cluster or host for mirrors" % dc_name)
        self.cluster = cluster
        fields = vs.field_names()
        # never onto a host the evacuation marked at risk
        hosts = [h for h in cluster.host if h.runtime.connectionState == "connected" and not h.runtime.inMaintenanceMode
                 and not marked_at_risk(vs, h, fields)]
        if not hosts:
            raise VSphereError("No connected host out of maintenance (and not marked at risk) in '%s' for mirrors"
                               % cluster.name)
        self.hosts = hosts
        self._vms_on = None  # VMs on each of self.hosts, counted at the first pick_host()
        self._counting = threading.Lock()  # the window's threads pick hosts at once
        pool = cluster.resourcePool
        if opts.secondary_resource_pool:
            pool = self._find_pool(cluster.resourcePool, opts.secondary_resource_pool)
            if pool is None:
                raise VSphereError("Resource pool '%s' not found in cluster '%s'" % (opts.secondary_resource_pool, cluster.name))
        self.pool = pool
        datastores = list(dc.datastore)
        if opts.secondary_datastore:
            ds = _find_child(datastores, opts.secondary_datastore, vim.Datastore)
            if ds is None:
                raise VSphereError("Datastore '%s' not found in datacenter '%s' (it has: %s)"
                                   % (opts.secondary_datastore, dc_name, ", ".join(d.name for d in datastores)))
        else:
            # never onto a datastore an evacuation marked at risk
            usable = [d for d in datastores if not marked_at_risk(vs, d, fields, ATTR_DATASTORE_AT_RISK)]
            if not usable:
                raise VSphereError("Datacenter '%s' has no datastore for mirrors (none, or each is marked %s)"
                                   % (dc_name, ATTR_DATASTORE_AT_RISK))
            ds = max(usable, key=lambda d: d.summary.freeSpace or 0)
        self.datastore = ds
        folder = dc.vmFolder
        if opts.secondary_folder:
            for part in [p for p in opts.secondary_folder.split("/") if p]:
                nxt = _find_child(folder.childEntity, part, vim.Folder)
                if nxt is None:
                    raise VSphereError("VM folder '%s' not found in datacenter '%s'" % (opts.secondary_folder, dc_name))
                folder = nxt
        self.folder = folder
        self.networks = {n.name: n for n in dc.network}
        self.network = None
        if opts.secondary_network:
            self.network = self.networks.get(opts.secondary_network)
            if self.network is None:
                raise VSphereError("Network '%s' not found in datacenter '%s' (it has: %s)"
                                   % (opts.secondary_network, dc_name, ", ".join(sorted(self.networks))))
        # network mapping: a primary port group -> its secondary one (checked here, before anything changes)
        self.network_map = {}
        for source, target in sorted((opts.network_map or {}).items()):
            if target not in self.networks:
                raise VSphereError("network_map maps '%s' to '%s', which datacenter '%s' does not have (it has: %s)"
                                   % (source, target, dc_name, ", ".join(sorted(self.networks))))
            self.network_map[source] = self.networks[target]

    def nic_changes(self, primary_ref, connected=None):
        """Re-point each NIC of the clone at the secondary datacenter's network.

        The network_map's port group for the NIC's network first, then
        secondary_network; without either, a network of the same name must
        exist there: a mirror is never put on a guessed network. connected=False
        builds the clone with its NICs disconnected (a refreshed image must
        not answer on the old mirror's addresses before the swap).
        """
        changes = []
        for dev in primary_ref.config.hardware.device:
            if not isinstance(dev, vim.vm.device.VirtualEthernetCard):
                continue
            current = _network_name(dev, primary_ref)
            net = self.network_map.get(current) or self.network
            if net is None:
                net = self.networks.get(current)
                if net is None:
                    raise VSphereError("NIC '%s' of %s is on network '%s', which datacenter '%s' does not have: set "
                                       "network_map or secondary_network (it has: %s)"
                                       % (dev.deviceInfo.label, primary_ref.name, current, self.datacenter.name,
                                          ", ".join(sorted(self.networks))))
            if isinstance(net, vim.dvs.DistributedVirtualPortgroup):
                dev.backing = vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
                    port=vim.dvs.PortConnection(portgroupKey=net.key, switchUuid=net.config.distributedVirtualSwitch.uuid))
            else:
                dev.backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=net.name, network=net)
            if connected is not None:
                dev.connectable = vim.vm.device.VirtualDevice.ConnectInfo(startConnected=connected, connected=connected,
                                                                          allowGuestControl=True)
            changes.append(vim.vm.device.VirtualDeviceSpec(operation=vim.vm.device.VirtualDeviceSpec.Operation.edit, device=dev))
        return changes

    def pick_host(self):
        """The connected host with the fewest VMs (DRS, where enabled, may move the mirror later). The hosts' VMs are
        counted once per run, and each mirror placed since is added to its host's count: reading every host's list of
        VMs again for each clone made first protection of thousands of VMs quadratic."""
        with self._counting:
            if self._vms_on is None:
                self._vms_on = [len(h.vm) for h in self.hosts]
            i = min(range(len(self.hosts)), key=self._vms_on.__getitem__)
            self._vms_on[i] += 1
            return self.hosts[i]

    @staticmethod
    def _find_pool(pool, name):
        stack = [pool]
        while stack:
            p = stack.pop()
            if p.name == name:
                return p
            stack.extend(p.resourcePool or [])
        return None


def set_nics_connected(vs, ref, connected, what):
    """Connect or disconnect every NIC of a VM (now and at its next power-on); nothing to do when they already are."""
    changes = []
    for dev in ref.config.hardware.device:
        if not isinstance(dev, vim.vm.device.VirtualEthernetCard):
            continue
        info = dev.connectable
        if info is not None and bool(info.connected) == connected and bool(info.startConnected) == connected:
            continue
        dev.connectable = vim.vm.device.VirtualDevice.ConnectInfo(startConnected=connected, connected=connected,
                                                                  allowGuestControl=True)
        changes.append(vim.vm.device.VirtualDeviceSpec(operation=vim.vm.device.VirtualDeviceSpec.Operation.edit, device=dev))
    if changes:
        vs.wait_task(ref.ReconfigVM_Task(spec=vim.vm.ConfigSpec(deviceChange=changes)), what)


def clone_spec(placement, source_ref, host, nic_connected=None, marker=None, snapshot=None, synced=None):
    """A clone of `source_ref` into `placement`'s pool, datastore and folder, on `host`, its NICs on the secondary
    network (nic_connected as in Placement.nic_changes), powered off; `marker` (a primary's UUID) in its extraConfig
    from its first moment, with `synced` (the ISO time its image stands for) when given; from `snapshot` when given."""
    spec = vim.vm.CloneSpec(
        location=vim.vm.RelocateSpec(pool=placement.pool, datastore=placement.datastore, host=host,
                                     deviceChange=placement.nic_changes(source_ref, nic_connected)),
        powerOn=False, template=False)
    if marker is not None:
        extra = [vim.option.OptionValue(key=MARKER_KEY, value=marker)]
        if synced is not None:
            extra.append(vim.option.OptionValue(key=MARKER_SYNCED_KEY, value=synced))
        spec.config = vim.vm.ConfigSpec(extraConfig=extra)
    if snapshot is not None:
        spec.snapshot = snapshot
    return spec


def relocate_spec(host=None, pool=None, datastore=None):
    """A move to another host (and its pool), or of the VM's files and disks to another datastore (Storage vMotion)."""
    return vim.vm.RelocateSpec(host=host, pool=pool, datastore=datastore)


def size_spec(cpu, memory_mb):
    return vim.vm.ConfigSpec(numCPUs=cpu, memoryMB=memory_mb)


def guest_hostname(primary_hostname, vm_name):
    """The host name a re-IP'd mirror keeps: the primary guest's own (it takes over the service), else one made of
    the VM's name - letters, digits and hyphens, at most 63 characters, as a host name must be."""
    name = (primary_hostname or "").split(".")[0] or vm_name
    return re.sub(r"[^A-Za-z0-9-]+", "-", name).strip("-")[:63] or "mirror"


def customization_spec(nics, hostname):
    """Guest customization (Linux) that gives each NIC, in order, its fixed address, mask, gateway and DNS servers
    (reip.mirror_nics), the host name kept."""
    adapters = []
    for nic in nics:
        adapters.append(vim.vm.customization.AdapterMapping(adapter=vim.vm.customization.IPSettings(
            ip=vim.vm.customization.FixedIp(ipAddress=nic["address"]),
            subnetMask=str(ipaddress.IPv4Network("0.0.0.0/%d" % nic["prefix"]).netmask),
            gateway=nic["gateway"], dnsServerList=nic["dns_servers"], dnsDomain=nic["dns_domain"])))
    domain = next((n["dns_domain"] for n in nics if n["dns_domain"]), None) or "localdomain"
    servers = [s for n in nics for s in n["dns_servers"]]
    return vim.vm.customization.Specification(
        identity=vim.vm.customization.LinuxPrep(hostName=vim.vm.customization.FixedName(name=hostname), domain=domain),
        globalIPSettings=vim.vm.customization.GlobalIPSettings(dnsServerList=list(dict.fromkeys(servers))),
        nicSettingMap=adapters)
