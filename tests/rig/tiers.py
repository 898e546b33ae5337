"""A three-tier application's real parts (issue 17): a web tier and an application tier, each a web server and its
mirror's behind HAProxy, and a PostgreSQL database tier with a standby directory; the web tier's name in a real
BIND 9. The three VMs are one application in the simulator (custom attributes mirroring.app and mirroring.depends_on:
web on app, app on the database), and every VM's guest reports an address in 10.1.0.0/24, which the re-IP rule moves
to 10.2.0.0/24 on its mirror. `routes` is the network this machine does not have: the web VM's address leads to the
primary site's HAProxy frontend, its mirror's address to the mirror's web server itself, so a client still on the old
address (within the TTL) is served through the primary site's pool and one that followed the name goes straight to
the mirror."""
from __future__ import annotations

import json
import os
import tempfile


from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_APP, ATTR_DEPENDS_ON
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy as RuntimeAPI

from .bind import Bind
from .haproxy import HAProxy
from .site import Site
from .web import Web

APP = "shop"
NAME = "www"
ZONE = "app.example"


def primary_address(n):
    return "10.1.0.%d" % n


def mirror_address(n):
    return "10.2.0.%d" % n


class ThreeTier(Site):
    """db, app, web: the three VMs' names; their guests' addresses 10.1.0.11, .12 and .13."""

    def __init__(self, sim, tmp_path, db, app, web):  # pylint: disable=super-init-not-called
        self.sim = sim
        self.dir = tmp_path
        self.vm = db  # Site.degrade: the database is the one whose disk fails
        self.tiers = {"db": db, "app": app, "web": web}
        self.number = {db: 11, app: 12, web: 13}
        self.store = self.history_dsn = None
        self.job_leftovers = []
        self.job_env = {}
        self.webs = {}
        self.bind = self.ha = self.db = None
        self.standby_dir = tempfile.mkdtemp(prefix="pg-standby-")
        try:
            self._start()
        except BaseException:
            self.close()
            raise

    def _start(self):
        db, app, web = (self.tiers[t] for t in ("db", "app", "web"))
        for name in ("web-primary", "web-mirror", "app-primary", "app-mirror", "drill"):
            self.webs[name] = Web(name, delay=0.005 if name != "drill" else 0.0).start()
        self.primary_web, self.mirror_web, self.drill_web = (self.webs[n] for n in ("web-primary", "web-mirror", "drill"))
        self.ha = HAProxy({"web": [(web, self.webs["web-primary"].address, "weight 100")],
                           "app": [(app, self.webs["app-primary"].address, "weight 100")], "drill": []},
                          workdir=str(self.dir / "haproxy"))
        os.makedirs(self.ha.workdir)
        self.ha.config_extra = ["    timeout server 3s"]
        self.ha.start()
        self.routes = {primary_address(self.number[web]): "127.0.0.1:%d" % self.ha.frontends["web"],
                       mirror_address(self.number[web]): self.webs["web-mirror"].address}
        self.bind = Bind(zone=ZONE, workdir=str(self.dir / "bind")).start()
        self.start_database()
        self.history = str(self.dir / "history.sqlite")
        for vm, n in self.number.items():
            self.sim.set_guest_address(vm, primary_address(n))
        self.set_attribute(web, ATTR_DEPENDS_ON, app)
        self.set_attribute(app, ATTR_DEPENDS_ON, db)
        for vm in (db, app, web):
            self.set_attribute(vm, ATTR_APP, APP)
        self.inventory = self.write_inventory()

    def write_inventory(self):
        db, app, web = (self.tiers[t] for t in ("db", "app", "web"))
        inv = self.dir / "inventory"
        (inv / "host_vars").mkdir(parents=True)
        (inv / "group_vars").mkdir()
        (inv / "fleet.vsphere_fps.yml").write_text(json.dumps(dict(
            plugin="predictive.mirroring.vsphere_fps", datacenters=["DC0"], history_path=self.history,
            groups={"mirroring_services": "vm_name in %s" % json.dumps(sorted(self.tiers.values()))})))
        (inv / "group_vars" / "all.json").write_text(json.dumps({
            "mirroring_history_path": self.history, "mirroring_secondary_datacenter": "DC1",
            "mirroring_reip_rules": [{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "gateway": "10.2.0.1"}],
        }))
        local = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
        (inv / "host_vars" / (db + ".json")).write_text(json.dumps(dict(local, **self.database_vars(db))))
        (inv / "host_vars" / (app + ".json")).write_text(json.dumps(dict(
            local, mirroring_lb_socket=self.ha.socket, mirroring_lb_backend="app",
            mirroring_lb_mirror_address=self.webs["app-mirror"].address, mirroring_lb_drain_timeout=10,
            mirroring_mirror_health_url="http://%s/health" % self.webs["app-mirror"].address)))
        (inv / "host_vars" / (web + ".json")).write_text(json.dumps(dict(
            local, mirroring_lb_socket=self.ha.socket, mirroring_lb_backend="web",
            mirroring_lb_mirror_address=self.webs["web-mirror"].address, mirroring_lb_drain_timeout=10,
            mirroring_mirror_health_url="http://%s/health" % self.webs["web-mirror"].address,
            mirroring_drill_backend="drill", mirroring_drill_address=self.webs["drill"].address,
            mirroring_drill_url="http://127.0.0.1:%d/" % self.ha.frontends["drill"],
            mirroring_dns_server="127.0.0.1", mirroring_dns_port=self.bind.port, mirroring_dns_zone=ZONE,
            mirroring_dns_name=NAME, mirroring_dns_primary_address=primary_address(self.number[web]),
            mirroring_dns_key_name=self.bind.key_name, mirroring_dns_key_secret=self.bind.key_secret,
            mirroring_dns_ttl_by_level={"full": 5})))
        return str(inv)

    def pools(self):
        """{backend: {server: (state, weight)}} of the two tiers behind HAProxy."""
        api = RuntimeAPI(self.ha.socket)
        return {b: {name: (s["state"], s["weight"]) for name, s in api.servers(b).items()} for b in ("web", "app")}

    def production(self):
        """Site's view (the database's replication, every VM) with both tiers' pools."""
        return json.dumps({"site": json.loads(super().production()), "pools": self.pools()}, sort_keys=True)

    def close(self):
        if self.db is not None:
            super().close()  # the database, the standby directory, HAProxy and the three web servers it knows
        elif self.ha is not None:
            self.ha.stop()
        for web in self.webs.values():
            web.stop()
        if self.bind is not None:
            self.bind.remove()
