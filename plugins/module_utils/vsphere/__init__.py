# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vSphere access, the only code of the collection that imports pyVmomi.

client     the session (whole-call deadline), bulk property reads, events, tasks, custom attributes
perf       QueryPerf as raw SOAP, parsed with ElementTree
faults     pyVmomi faults as the collection's errors (Gone, DuplicateName, VSphereError)
placement  where mirrors and drill copies go in the secondary datacenter, and the specs that put them there

The rest of the collection works on plain data (dicts keyed by moid) and on managed object references it got from
here, calling their methods only through the specs built here.
"""

from __future__ import annotations

# the client's names, as `vsphere.VSphere`, `vsphere.now` ...
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError  # pylint: disable=unused-import
from ansible_collections.predictive.mirroring.plugins.module_utils.vsphere.client import (  # pylint: disable=unused-import
    CONNECTION_KEYS, DEFAULT_TIMEOUT, HAS_PYVMOMI, HOST_PROPERTIES, VM_PROPERTIES, VSphere, connection_params,
    event_record, managed_type, now, resolve_vm, retrieve_pages, strict_bool)
