# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Performance statistics: QueryPerf as raw SOAP on the session's cookie, answers parsed without pyVmomi's
deserializer (a fleet's realtime samples parse many times faster this way), each exchange under the session's
deadline."""

from __future__ import annotations

import datetime
import http.client
import re
import socket
import threading
from xml.etree import ElementTree

from ansible_collections.predictive.mirroring.plugins.module_utils.deadline import DeadlineExceeded, call_within
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError


SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
_V = "{urn:vim25}"


def entity_type(moid):
    return {"vm": "VirtualMachine", "host": "HostSystem", "resgroup": "ResourcePool", "domain": "ClusterComputeResource",
            "datacenter": "Datacenter", "datastore": "Datastore"}.get(moid.split("-", 1)[0], "VirtualMachine")


class PerfClient:
    """Raw SOAP POSTs on the pyVmomi session: one HTTP connection per thread."""

    def __init__(self, vs):
        stub = vs.si._stub  # pylint: disable=protected-access
        self.vs = vs
        self.host, _sep, port = stub.host.rpartition(":")
        self.port = int(port)
        self.path = stub.path
        self.headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": stub.versionId,
                        "Cookie": stub.cookie.split(";", 1)[0]}
        self.scheme = stub.scheme
        self.local = threading.local()
        self.conns = []
        self.lock = threading.Lock()

    def _conn(self):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            if self.scheme == http.client.HTTPSConnection:
                conn = http.client.HTTPSConnection(self.host, self.port, context=self.vs._ssl_context(),  # pylint: disable=protected-access
                                                   timeout=self.vs.timeout)
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=self.vs.timeout)
            self.local.conn = conn
            with self.lock:
                self.conns.append(conn)
        return conn

    def post(self, body):
        conn = self._conn()

        def exchange():
            conn.request("POST", self.path, body=body, headers=self.headers)
            resp = conn.getresponse()
            return resp, resp.read()
        try:
            resp, data = call_within(self.vs.timeout, exchange)
        # the connection's socket times out after the same seconds: whichever fires first, the same answer
        except (DeadlineExceeded, socket.timeout, TimeoutError):
            self.local.conn = None  # abandoned mid-answer: never reused
            raise VSphereError("QueryPerf on vCenter %s gave no complete answer within %d s (timeout)"
                               % (self.vs.name, self.vs.timeout)) from None
        except (OSError, http.client.HTTPException) as e:
            raise VSphereError("QueryPerf on vCenter %s failed: %s" % (self.vs.name, e)) from None
        if resp.status != 200:
            fault = re.search(rb"<faultstring>(.*?)</faultstring>", data, re.S)
            raise VSphereError("QueryPerf on vCenter %s failed: HTTP %d %s" % (
                self.vs.name, resp.status, fault.group(1).decode(errors="replace") if fault else resp.reason))
        return data

    def close(self):
        for conn in self.conns:
            conn.close()


def parse_perf(data, name_of):
    """QueryPerf response (PerfEntityMetric or PerfEntityMetricCSV) -> {moid: {"timestamps": [...], counter: [...]}}."""
    stamps = {}

    def stamp(text):
        t = stamps.get(text)
        if t is None:
            t = stamps[text] = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        return t

    out = {}
    for returnval in ElementTree.fromstring(data).iter(_V + "returnval"):
        entity = returnval.findtext(_V + "entity")
        csv = returnval.findtext(_V + "sampleInfoCSV")
        if csv is not None:  # interval,timestamp,interval,timestamp,...
            parts = csv.split(",") if csv else []
            row = {"timestamps": [stamp(p) for p in parts[1::2]]}
        else:
            row = {"timestamps": [stamp(t.text) for t in returnval.iter(_V + "timestamp")]}
        for series in returnval.findall(_V + "value"):
            name = name_of.get(int(series.findtext(_V + "id/" + _V + "counterId")))
            if name is None:
                continue
            if csv is not None:  # PerfMetricSeriesCSV: one "v,v,v" value
                text = series.findtext(_V + "value") or ""
                row[name] = [int(v) for v in text.split(",") if v]
            else:  # PerfMetricIntSeries: one element per sample
                row[name] = [int(v.text) for v in series.findall(_V + "value")]
        out[entity] = row
    return out
