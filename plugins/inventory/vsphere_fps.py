# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: vsphere_fps
short_description: vSphere VMs scored by failure probability and grouped by mirroring tier
version_added: "0.1.0"
description:
  - Reads every VM of one or more vCenters in bulk (one session per vCenter, one paged PropertyCollector call, batched
    QueryPerf on worker threads, one event query), scores the whole fleet in one call with the FPS model and groups the
    VMs by the mirroring level their Failure Probability Score deserves.
  - Groups C(fps_minimal), C(fps_partial), C(fps_full) (the level the FPS - and a red vCenter alarm - asks for, before the cost optimizer's
    budget and the dependency floors; the level applied is C(mirror_plan)'s), C(failover_now) (FPS at or above the failover
    threshold, within the blast-radius limit), C(failover_refused) (above the threshold but refused by the blast-radius limit),
    C(mirrors) (the standby copies), C(quarantined) (primaries failed over and not failed back yet; they are never in
    C(failover_now) again), and C(dc_<datacenter>), C(cluster_<cluster>) and C(app_<application>).
  - Applications. A VM's custom attribute C(mirroring.app) names the application it belongs to (web, app and database
    tiers of one service). Each member carries C(mirroring_app), C(mirroring_app_fps) (the FPS of its riskiest member)
    and C(mirroring_app_riskiest) (that member); C(mirror_plan) holds every member at the riskiest member's level and
    lowers them for the budget together.
  - Configuration files must end in C(.vsphere_fps.yml) or C(.vsphere_fps.yaml).
  - With a history store (O(history_path) or O(history_dsn)), each primary carries C(data_lag_seconds) and
    C(data_rpo_seconds), per data provider (C(postgresql), C(files)), as the last run recorded them.
  - A VM with no performance data is scored from what exists, and the missing counters are listed in C(fps_missing).
  - Each VM is judged against its own normal - a baseline per counter learned from vCenter's 300 s and 1800 s
    historical rollups, cached in O(baseline_cache) - and against the other VMs on its ESXi host, as well as on
    absolute values, trends and events. C(fps_reasons) say which, in words (C(text)).
  - Every VM carries C(fps_confidence), the share (0-1) of the window's expected samples that arrived, times 0.7 when
    the VM has no baseline yet (a new VM, or no rollups kept for it). A powered-on VM with a counter that gave nothing,
    or a confidence under O(min_confidence), is in the C(telemetry_gap) group with C(telemetry_gap_why). Its FPS leans
    on imputed values, so it is never put in C(failover_now) (above the threshold it is in C(failover_refused) with
    that reason).
  - C(host_at_risk) holds the VMs of ESXi hosts whose own signals put the cause on the host (health red, at least two
    error events of its own in the event window, or every VM on it drifting from its own normal together) while it
    still answers, with C(host_at_risk_why). Moving them to the other hosts of the cluster (C(playbooks/evacuate.yml))
    comes first, so they are not put in C(failover_now).
  - vCenter's own alarms are read in the same property call (each VM's C(triggeredAlarmState), the alarm definitions'
    names in one more). Every VM carries C(vcenter_alarms), its red and yellow alarms (C(name), C(status), C(since),
    C(acknowledged)), and each is a reason in C(fps_reasons) (C(feature=vcenter_alarm), contribution 0). A red alarm on
    a primary holds it at least one level above its FPS band (minimal to partial, partial to full), said in
    C(mirroring_level_why); the FPS itself stays the model's calibrated probability.
  - A red alarm or a red hardware sensor (the host's C(runtime.healthSystemRuntime), read in the same property call)
    on a VM's ESXi host puts it in C(host_at_risk); every VM carries C(esxi_host_sensors), its host's sensors that are
    not green (C(name), C(health), C(type)). C(datastore_at_risk) holds the VMs with disks on a
    datastore with a red alarm, or whose VMs' disk latency drifts from their own normals together (two thirds of at
    least three VMs, 3 sigma or more), with C(datastore_at_risk_why) and C(datastores_at_risk) (each such datastore's
    C(name), C(moid) and C(why)), unless their host already explains them; they are not put in C(failover_now), and
    C(playbooks/evacuate.yml) moves their files to another datastore (M(predictive.mirroring.datastore_evacuate)). Every
    VM carries C(datastores), the names of the datastores its disks are on.
author:
  - predictive.mirroring developers (@predictive-mirroring)
extends_documentation_fragment:
  - predictive.mirroring.vsphere.PLUGIN
  - predictive.mirroring.model.PLUGIN
  - predictive.mirroring.history.PLUGIN
  - predictive.mirroring.policy
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks this file as a configuration of this plugin.
    type: str
    required: true
    choices: [predictive.mirroring.vsphere_fps]
  vcenters:
    description:
      - Several vCenters to read. Each entry takes C(hostname), C(port), C(username), C(password), C(validate_certs) and
        C(ca_path); what an entry leaves out comes from the top-level options.
      - Empty reads the one vCenter of the top-level options.
    type: list
    elements: dict
    default: []
  datacenters:
    description: Only VMs in these datacenters (shell-style patterns). Empty, all.
    type: list
    elements: str
    default: []
  clusters:
    description: Only VMs in these clusters (shell-style patterns). Empty, all.
    type: list
    elements: str
    default: []
  folders:
    description: Only VMs in these VM folders, as paths below the datacenter's VM folder (shell-style patterns).
    type: list
    elements: str
    default: []
  power_states:
    description: Only VMs in these power states.
    type: list
    elements: str
    default: []
    choices: [poweredOn, poweredOff, suspended]
  model_path:
    description:
      - The FPS model file. Its manifest must sit beside it. It is unpickled only once its origin is proven (the bundled
        model, or a manifest signed by one of O(trusted_keys)) and its sha256 matches the manifest.
      - Default is the model that ships with the collection (C(models/default/model.joblib)).
      - C(store:latest) loads the model promoted last in the history store's model registry (O(history_dsn) or
        O(history_path); see M(predictive.mirroring.fps_model)), C(store:<sha256>) a given one. Its origin is proven the
        same way, and C(fps_model_path) names it by its sha256, so every task of the run uses the model that scored.
    type: str
  samples:
    description: The perf window, in 20-second realtime samples.
    type: int
    default: 30
  event_window_hours:
    description: How far back warning and error events are counted.
    type: int
    default: 24
  vcenter_workers:
    description:
      - How many of the O(vcenters) are read at once, each in its own process (reading a vCenter's answers is bound to
        one core, so threads would not help). C(1) reads them one after the other in the inventory's own process.
      - Whatever the number, every vCenter is read to its end and those that could not be read are named together.
    type: int
    default: 4
  skip_unreachable_vcenters:
    description:
      - When a vCenter does not answer (refused, timed out, dropped the connection), leave its VMs out of the inventory
        with a warning naming it, and read the others. C(mirroring_vcenters_skipped) (on every host) lists the skipped
        ones, so a playbook can refuse or report them. Nothing of a skipped vCenter's VMs is planned or changed; the
        budget of the cost optimizer is then shared by the VMs that were read.
      - Off by default - a vCenter that cannot be read fails the run, with its name. A wrong password or an unverified
        certificate always fails it.
      - A value other than true or false (a typo) is refused before any vCenter is read.
    type: raw
    default: false
  perf_workers:
    description: Connections (threads) that run QueryPerf batches at once, on the one vCenter session.
    type: int
    default: 2
  perf_batch_size:
    description: VMs per QueryPerf call.
    type: int
    default: 250
  history_path:
    description:
      - The history store (SQLite), when O(history_dsn) is not set. When set and the Post-Failover Analysis
        (M(predictive.mirroring.failover_analysis)) has tuned the failover threshold, that threshold is used instead of
        O(failover_threshold).
    type: path
    env:
      - name: MIRRORING_HISTORY_PATH
  min_confidence:
    description:
      - The share (0-1) of the window's expected samples below which a VM's FPS is not acted on (C(telemetry_gap)).
    type: float
    default: 0.5
  baseline_cache:
    description:
      - Where each VM's normal (its baseline, learned from vCenter's 300 s and 1800 s historical rollups) is kept
        between runs, so that a scored run does not re-read a week of history. A private JSON file (0600).
      - Empty to keep nothing - every run then re-learns every baseline, which at thousands of VMs costs a full
        rollup read per run.
      - Under AWX, whose jobs start from a clean container, point it at a persistent volume.
      - A string, not a path, so that empty stays empty (Ansible turns an empty path into the working directory).
    type: str
    default: ~/.cache/predictive.mirroring/baselines.json
    env:
      - name: PM_BASELINE_CACHE
  baseline_refresh_minutes:
    description:
      - A cached baseline older than this is re-learned from vCenter's rollups.
    type: int
    default: 60
  expose_features:
    description:
      - Also set each VM's model input (C(fps_features), a dict of the features) as a host variable.
      - Off by default; at 10,000 VMs it adds about a third to the inventory's size and time.
      - A value other than true or false (a typo) is refused before any vCenter is read.
    type: raw
    default: false
"""

EXAMPLES = r"""
# demo.vsphere_fps.yml: credentials from VMWARE_HOST, VMWARE_USER, VMWARE_PASSWORD (AWX's VMware credential)
plugin: predictive.mirroring.vsphere_fps
datacenters: [DC0]
failover_threshold: 85
keyed_groups:
  - key: mirroring_level
    prefix: level

---
# Two vCenters, cached for 10 minutes
plugin: predictive.mirroring.vsphere_fps
vcenters:
  - hostname: vc-east.example.com
  - hostname: vc-west.example.com
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: /var/cache/predictive-mirroring
cache_timeout: 600
"""

import concurrent.futures
import datetime
import difflib
import gc
import multiprocessing
import os
import re

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.predictive.mirroring.plugins.module_utils import pipeline, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.baseline import BaselineCache
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_APP, ATTR_PRIMARY
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, Unreachable
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_configured
from ansible_collections.predictive.mirroring.plugins.module_utils.model import is_store_ref, load_ref
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import policy_from_params

DEFAULT_MODEL = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                             "models", "default", "model.joblib")


POLICY_OPTIONS = ("partial_above", "full_above", "failover_threshold", "hysteresis_margin", "min_dwell_minutes",
                  "max_failovers", "max_failover_cluster_pct")


def group_name(prefix, value):
    return prefix + re.sub(r"[^A-Za-z0-9_]", "_", str(value))


def _to_cache(vms, perf, events):
    """Raw API results as JSON-safe data."""
    return {
        "vms": [{k: v for k, v in vm.items() if k != "_ref"} for vm in vms],
        "perf": perf,
        "events": [dict(e, created=e["created"].isoformat()) for e in events],
    }


def _from_cache(data):
    events = [dict(e, created=datetime.datetime.fromisoformat(e["created"])) for e in data["events"]]
    return data["vms"], data["perf"], events


COLLECT_OPTIONS = ("datacenters", "clusters", "folders", "power_states", "samples", "event_window_hours", "perf_workers",
                   "perf_batch_size")


def _collect(conn, o, previous, baselines, now):
    """One vCenter's raw data (JSON-safe, as the cache keeps it), its baselines refreshed in `baselines`."""
    with vsphere.VSphere(**conn) as vs:
        vms = pipeline.select_vms(vs.virtual_machines(), datacenters=o["datacenters"], clusters=o["clusters"],
                                  folders=o["folders"], power_states=o["power_states"], include_mirrors=True)
        scored = [vm for vm in vms if not vm["attributes"].get(ATTR_PRIMARY)]
        perf, events = pipeline.collect(vs, scored, samples=o["samples"], event_window_hours=o["event_window_hours"],
                                        perf_workers=o["perf_workers"], perf_batch=o["perf_batch_size"],
                                        cache=(previous or {}).get("perf"))
        data = _to_cache(vms, perf, events)
        data["baselines"], data["relearned"] = pipeline.refresh_baselines(
            vs, scored, baselines, now=now, perf_workers=o["perf_workers"], perf_batch=o["perf_batch_size"])
        data["instance_uuid"] = vs.instance_uuid
        return data


def _attempt(conn, options, previous, baselines, now):
    """(data, the baselines entries of its VMs, None) or (None, None, the MirroringError): what a worker process hands
    back (a process's exception would lose its class on the way; this keeps it)."""
    try:
        data = _collect(conn, options, previous, baselines, now)
    except MirroringError as e:
        return None, None, e
    mine = "%s/" % data["instance_uuid"]  # the cache's keys are <vCenter instance UUID>/<VM instance UUID>
    return data, {k: e for k, e in baselines.entries.items() if k.startswith(mine)}, None


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    NAME = "predictive.mirroring.vsphere_fps"

    def verify_file(self, path):
        return super().verify_file(path) and path.endswith((".vsphere_fps.yml", ".vsphere_fps.yaml"))

    def parse(self, inventory, loader, path, cache=True):
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._refuse_unknown_options(path)
        cache_key = self.get_cache_key(path)
        use_cache = self.get_option("cache") and cache
        cached = self._cache.get(cache_key) if self.get_option("cache") else None
        try:
            policy = self._policy()
            # switches spelt wrong are refused before anything is read: Ansible's own bool would take 'ture' for false
            self._switches = {k: vsphere.strict_bool(self.get_option(k), k)
                              for k in ("skip_unreachable_vcenters", "expose_features")}
            model_path = self.get_option("model_path") or DEFAULT_MODEL
            if not is_store_ref(model_path):
                model_path = os.path.abspath(os.path.expanduser(model_path))
            allow_unsigned = vsphere.strict_bool(self.get_option("allow_unsigned_model"), "allow_unsigned_model")
            model = load_ref(model_path, self._store_params(), trusted_keys=self.get_option("trusted_keys"),
                             allow_unsigned=allow_unsigned)
            model_path = model.path  # a store reference pinned to the sha256 that scored
            if allow_unsigned and model.origin.startswith("origin not proven"):
                self.display.warning("vsphere_fps: model %s: %s" % (model_path, model.origin))
            raw = {}
            cache_path = self.get_option("baseline_cache")
            baselines = BaselineCache(os.path.abspath(os.path.expanduser(cache_path)) if cache_path else None,
                                      refresh=datetime.timedelta(minutes=self.get_option("baseline_refresh_minutes")))
            now = vsphere.now()
            todo = []
            for conn in self._vcenters():
                label = "%s:%s" % (conn["hostname"], conn["port"])
                if use_cache and cached and label in cached:
                    raw[label] = cached[label]
                else:
                    todo.append((label, conn))
            raw.update(self._collect_all(todo, cached or {}, baselines, now))
            baselines.save(now)
            if self.get_option("cache"):
                self._cache[cache_key] = raw
            self._populate(raw, model, model_path, policy)
        except MirroringError as e:
            raise AnsibleParserError("vsphere_fps: %s" % e) from None
        # scikit-learn, NumPy and the model now live in ansible-playbook's own process, which forks a worker for every
        # task on every host: the garbage collector walking those objects in a worker copies their memory pages one
        # by one. Frozen (Python's advice before forking), the workers share them: a no-change reconcile of the
        # demo's 8 VMs took about 0.4 s less CPU in its workers (3.8 s against 4.2 s, alternating runs).
        gc.collect()
        gc.freeze()

    # -- options -----------------------------------------------------------------
    def _refuse_unknown_options(self, path):
        """A misspelt option (datacenter for datacenters) would be ignored and widen what is acted on: refuse it."""
        config = self.loader.load_from_file(path, cache="none") or {}
        if not isinstance(config, dict):
            raise AnsibleParserError("vsphere_fps: %s is not a mapping of options" % path)
        known = set(self._options)
        unknown = sorted(set(config) - known)
        if unknown:
            hints = []
            for key in unknown:
                close = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
                hints.append("%s (did you mean %s?)" % (key, close[0]) if close else str(key))
            raise AnsibleParserError("vsphere_fps: %s: unknown option%s %s"
                                     % (path, "s" if len(unknown) > 1 else "", ", ".join(hints)))

    def _policy(self):
        o = self.get_option
        for name in ("samples", "event_window_hours", "perf_workers", "perf_batch_size", "baseline_refresh_minutes",
                     "vcenter_workers"):
            if o(name) < 1:
                raise MirroringError("option %s must be >= 1, got %s" % (name, o(name)))
        if o("samples") < 3:
            raise MirroringError("option samples must be >= 3, got %s" % o("samples"))
        threshold = o("failover_threshold")
        self._data_status = {}
        if store_configured(self._store_params()):
            with open_store(self._store_params()) as h:
                threshold = h.tuning("failover_threshold", threshold)
                # each VM's data providers as the last run recorded them: data_lag_seconds, data_rpo_seconds
                self._data_status = {(v["vcenter"], v["vm_uuid"]): v["data"] for v in h.vm_status() if v["data"]}
        return policy_from_params(dict({k: o(k) for k in POLICY_OPTIONS}, failover_threshold=threshold))

    def _store_params(self):
        return {"history_path": self.get_option("history_path"), "history_dsn": self.get_option("history_dsn")}

    def _vcenters(self):
        top = {k: self.get_option(k) for k in vsphere.CONNECTION_KEYS}
        entries = self.get_option("vcenters") or [{}]
        out = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise MirroringError("vcenters entries are mappings of %s, got %r" % (", ".join(vsphere.CONNECTION_KEYS), entry))
            unknown = set(entry) - set(vsphere.CONNECTION_KEYS)
            if unknown:
                raise MirroringError("vcenters entry has unknown keys %s (known: %s)"
                                     % (", ".join(sorted(unknown)), ", ".join(vsphere.CONNECTION_KEYS)))
            conn = dict(top, **{k: v for k, v in entry.items() if v is not None})
            if not conn.get("hostname"):
                raise MirroringError("no vCenter hostname: set hostname in the inventory file or VMWARE_HOST")
            try:
                conn["port"] = int(conn.get("port") or 443)
                conn["timeout"] = int(conn.get("timeout") or vsphere.DEFAULT_TIMEOUT)
            except (TypeError, ValueError):
                raise MirroringError("vCenter %s: port and timeout must be whole numbers, got %r and %r"
                                     % (conn["hostname"], conn.get("port"), conn.get("timeout"))) from None
            # an empty VMWARE_CA_PATH means the system's CA store, not a path
            conn["ca_path"] = os.path.expanduser(conn["ca_path"]) if conn.get("ca_path") else None
            value = conn.get("validate_certs")
            conn["validate_certs"] = vsphere.strict_bool(True if value is None else value,
                                                         "validate_certs of vCenter %s" % conn["hostname"])
            out.append(conn)
        return out

    # -- collect and score ---------------------------------------------------------
    def _collect_all(self, todo, cached, baselines, now):
        """{label: raw data} of the vCenters in `todo`, read at once in up to vcenter_workers processes (parsing their
        answers is bound to one core, so threads would not help). Every vCenter is read to its end: those that failed
        are named together; unreachable ones are skipped with a warning when skip_unreachable_vcenters says so."""
        options = {k: self.get_option(k) for k in COLLECT_OPTIONS}
        workers = self.get_option("vcenter_workers")
        results, failed, skipped = {}, [], []
        if workers == 1 or len(todo) < 2:
            outcomes = [(label, _attempt(conn, options, cached.get(label), baselines, now)) for label, conn in todo]
        else:
            with concurrent.futures.ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                                        mp_context=multiprocessing.get_context("fork")) as pool:
                futures = [(label, pool.submit(_attempt, conn, options, cached.get(label), baselines, now))
                           for label, conn in todo]
                outcomes = [(label, future.result()) for label, future in futures]
        skip = self._switches["skip_unreachable_vcenters"]
        for label, (data, learned, error) in outcomes:
            if error is None:
                baselines.entries.update(learned)
                relearned = data.pop("relearned")
                if relearned:
                    self.display.vvv("vsphere_fps: %s: learned %d baselines from the historical rollups" % (label, relearned))
                results[label] = data
            elif skip and isinstance(error, Unreachable):
                skipped.append(label)
                self.display.warning("vsphere_fps: vCenter %s skipped (skip_unreachable_vcenters): %s; its VMs are not "
                                     "in this inventory, so nothing of theirs is planned or changed" % (label, error))
            else:
                failed.append(str(error))
        if failed:
            raise MirroringError("; ".join(failed) + (" (%d of %d vCenters could not be read)" % (len(failed), len(todo))
                                                      if len(todo) > 1 else ""))
        self.inventory.set_variable("all", "mirroring_vcenters_skipped", skipped)
        return results

    def _populate(self, raw, model, model_path, policy):
        o = self.get_option
        for group in pipeline.GROUPS:
            self.inventory.add_group(group)
        # the same for every host: once, on the all group
        self.inventory.set_variable("all", "fps_model_path", model_path)
        self.inventory.set_variable("all", "fps_model_sha256", model.manifest["sha256"])
        self.inventory.set_variable("all", "mirroring_failover_threshold", policy.failover_threshold)
        results, mirrors = [], []
        for label, data in raw.items():
            vms, perf, events = _from_cache(data)
            for vm in vms:
                vm["vcenter"] = label
                vm["vcenter_instance_uuid"] = data.get("instance_uuid")
            mirrors += [vm for vm in vms if vm["attributes"].get(ATTR_PRIMARY)]
            primaries = [vm for vm in vms if not vm["attributes"].get(ATTR_PRIMARY)]
            results += pipeline.score(primaries, perf, events, model, policy, samples=o("samples"),
                                      event_window_hours=o("event_window_hours"), min_confidence=o("min_confidence"),
                                      baselines_by_moid=data.get("baselines"))
        hosts, why = pipeline.inventory_hosts(results, mirrors, policy, expose_features=self._switches["expose_features"],
                                              data_status=getattr(self, "_data_status", None))
        if why:
            self.display.warning("vsphere_fps: %s" % why)
        for host in hosts:
            self.inventory.add_host(host["name"])
            for k, v in host["vars"].items():
                self.inventory.set_variable(host["name"], k, v)
            for group in host["groups"]:
                self.inventory.add_child(group, host["name"])
            self._place(host["name"], host["vm"])
            self._construct(host["name"], host["vars"], o("strict"))

    def _place(self, host, vm):
        if vm["datacenter"]:
            dc = self.inventory.add_group(group_name("dc_", vm["datacenter"]))
            self.inventory.add_child(dc, host)
        if vm["cluster"]:
            cl = self.inventory.add_group(group_name("cluster_", vm["cluster"]))
            self.inventory.add_child(cl, host)
        app = (vm["attributes"].get(ATTR_APP) or "").strip()
        if app and not vm["attributes"].get(ATTR_PRIMARY):  # a mirror is not a member: its primary is
            self.inventory.add_child(self.inventory.add_group(group_name("app_", app)), host)

    def _construct(self, host, hostvars, strict):
        self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
