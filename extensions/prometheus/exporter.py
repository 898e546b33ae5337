# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Serve predictive.mirroring's metrics from its history store, for Prometheus to scrape (no node_exporter needed).

    PM_HISTORY_DSN='host=db dbname=mirroring user=exporter' \\
        python3 ~/.ansible/collections/ansible_collections/predictive/mirroring/extensions/prometheus/exporter.py \\
        --listen 127.0.0.1:9816

The metrics are the ones run_metrics writes to node_exporter's textfile (docs/observability.md), read from the
store at every scrape, plus predictive_mirroring_store_up (0 when the store did not answer). The DSN is read from
PM_HISTORY_DSN only, never from the command line, where every user of the host could read it; the SQLite store
is --history-path. Give the exporter a database role that can only read (GRANT SELECT).
"""

from __future__ import annotations

import argparse
import os
import sys
import threading


def _collection_root():
    """Put the directory holding ansible_collections/ on sys.path (this file is in
    ansible_collections/predictive/mirroring/extensions/prometheus/)."""
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", "..", "..", "..", ".."))
    if os.path.isdir(os.path.join(root, "ansible_collections")) and root not in sys.path:
        sys.path.insert(0, root)


def main(argv=None):
    _collection_root()
    # pylint: disable=import-outside-toplevel
    from prometheus_client import start_http_server
    from prometheus_client.core import CollectorRegistry

    from ansible_collections.predictive.mirroring.plugins.module_utils import constants, history, metrics

    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--listen", default="127.0.0.1:9816", help="address:port to serve /metrics on (127.0.0.1:9816)")
    parser.add_argument("--history-path", default=os.environ.get(constants.HISTORY_PATH_ENV) or constants.HISTORY_PATH,
                        help="the SQLite history store, when PM_HISTORY_DSN is not set (PM_HISTORY_PATH, else "
                             "%(default)s)")
    args = parser.parse_args(argv)
    host, _sep, port = args.listen.rpartition(":")
    if not port.isdigit() or not host:
        parser.error("--listen is address:port, not %r" % args.listen)
    dsn = os.environ.get(constants.HISTORY_DSN_ENV) or None
    path = os.path.expanduser(args.history_path)
    if not dsn and not os.path.exists(path):
        parser.error("no history store: set PM_HISTORY_DSN or --history-path to an existing file (%s is not)" % path)

    def open_store():
        return history.History(path, dsn=dsn)

    collector = metrics.StoreCollector(open_store)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, _thread = start_http_server(int(port), addr=host.strip("[]"), registry=registry)
    print("predictive.mirroring exporter: serving %s on http://%s/metrics" % (
        history.describe_dsn(dsn) if dsn else path, args.listen), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
