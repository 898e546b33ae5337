# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment:
    # The history store on PostgreSQL (the SQLite file is each plugin's history_path).
    DOCUMENTATION = r"""
options:
  history_dsn:
    description:
      - The history store on PostgreSQL, as a libpq connection string (C(host=db.example.com dbname=mirroring
        user=mirroring sslmode=verify-full)) or a C(postgresql://) URI. When set it is used instead of O(history_path).
      - The store for AWX (whose jobs start in fresh containers) and for several controllers; the schema is created and
        migrated on first use. Keep the password out of playbooks - in C(~/.pgpass), E(PGPASSWORD) or an AWX credential
        that injects E(PM_HISTORY_DSN). It is never printed, and errors name only the host, port, database and user.
      - Falls back to E(PM_HISTORY_DSN).
    type: str
"""

    PLUGIN = r"""
options:
  history_dsn:
    description:
      - The history store on PostgreSQL, as a libpq connection string or a C(postgresql://) URI; used instead of
        O(history_path) when set. The tuned failover threshold is read from it, and C(model_path=store:latest) loads the
        model promoted last in its registry.
      - Keep the password out of the inventory file (C(~/.pgpass), E(PGPASSWORD), or an AWX credential that injects
        E(PM_HISTORY_DSN)). It is never printed.
    type: str
    env:
      - name: PM_HISTORY_DSN
"""
