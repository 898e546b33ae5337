"""What the simulator cannot produce on demand: property paging and CSV perf replies."""
from __future__ import annotations

import datetime

from pyVmomi import vim, vmodl

from ansible_collections.predictive.mirroring.plugins.module_utils import vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere import perf

CSV_REPLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<soapenv:Body><QueryPerfResponse xmlns="urn:vim25">
<returnval xsi:type="PerfEntityMetricCSV"><entity type="VirtualMachine">vm-42</entity>
<sampleInfoCSV>20,2026-11-26T10:00:00Z,20,2026-11-26T10:00:20Z,20,2026-11-26T10:00:40Z</sampleInfoCSV>
<value><id><counterId>2</counterId><instance></instance></id><value>1500,1600,1700</value></value>
<value><id><counterId>133</counterId><instance></instance></id><value>4,9</value></value>
<value><id><counterId>999</counterId><instance></instance></id><value>1</value></value>
</returnval>
<returnval xsi:type="PerfEntityMetricCSV"><entity type="VirtualMachine">vm-43</entity><sampleInfoCSV></sampleInfoCSV></returnval>
</QueryPerfResponse></soapenv:Body></soapenv:Envelope>"""

NAMES = {2: "cpu.usage.average", 133: "disk.maxTotalLatency.latest"}


def test_csv_perf_reply_is_parsed():
    out = perf.parse_perf(CSV_REPLY, NAMES)
    assert out["vm-42"]["cpu.usage.average"] == [1500, 1600, 1700]
    assert out["vm-42"]["disk.maxTotalLatency.latest"] == [4, 9]  # shorter than its timestamps
    assert out["vm-42"]["timestamps"][0] == datetime.datetime(2026, 11, 26, 10, 0, tzinfo=datetime.timezone.utc)
    assert len(out["vm-42"]["timestamps"]) == 3
    assert out["vm-43"] == {"timestamps": []}


class _Page:
    def __init__(self, objects, token):
        self.objects = objects
        self.token = token


class _PagingCollector:
    """Serves 5 VMs two at a time, the way vCenter pages when maxObjects is set."""

    def __init__(self):
        self.objs = [vmodl.query.PropertyCollector.ObjectContent(
            obj=vim.VirtualMachine("vm-%d" % i),
            propSet=[vmodl.DynamicProperty(name="name", val="VM%d" % i)]) for i in range(5)]
        self.calls = []

    def _page(self, start):
        end = start + 2
        return _Page(self.objs[start:end], str(end) if end < len(self.objs) else None)

    def RetrievePropertiesEx(self, specs, options):  # pylint: disable=invalid-name
        self.calls.append(("first", options.maxObjects))
        return self._page(0)

    def ContinueRetrievePropertiesEx(self, token):  # pylint: disable=invalid-name
        self.calls.append(("next", token))
        return self._page(int(token))


def test_property_retrieval_follows_every_page():
    pc = _PagingCollector()
    got = [oc.propSet[0].val for oc in vsphere.retrieve_pages(pc, [], 2)]
    assert got == ["VM0", "VM1", "VM2", "VM3", "VM4"]
    assert pc.calls == [("first", 2), ("next", "2"), ("next", "4")]
