# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one error boundary of the collection.

Core code raises these; a module's main() or the inventory plugin catches
MirroringError once and reports its message. Messages say what failed and
what to do about it.
"""

from __future__ import annotations


class MirroringError(Exception):
    """Base of every expected failure. Keyword arguments are returned with the failure (what was done so far)."""

    def __init__(self, message="", **result):
        super().__init__(message)
        self.result = result


class VSphereError(MirroringError):
    """vCenter unreachable, login refused, an object missing, a task failed."""


class Unreachable(VSphereError):
    """vCenter did not answer (refused, timed out, dropped the connection): it is down or cut off, not misconfigured."""


class Gone(VSphereError):
    """The vCenter object is no longer there (ManagedObjectNotFound): removed meanwhile, by us or by someone else."""


class DuplicateName(VSphereError):
    """The name is taken (vCenter's DuplicateName): by another run's object, or by a stranger's."""


class LeaseError(MirroringError):
    """Another run holds the vCenter, or ours was lost."""


class ModelError(MirroringError):
    """Model file missing, hash mismatch, incompatible scikit-learn, bad data."""


class TrainingError(ModelError):
    """A training set that cannot give a trustworthy model."""


class PolicyError(MirroringError):
    """Invalid thresholds, FPS out of range, a refused decision."""


class HistoryError(MirroringError):
    """The history store cannot be opened, read or written."""


class TrafficError(MirroringError):
    """A traffic provider (HAProxy, DNS) refused a change, or its state is not what was asked."""


class ReplicationError(MirroringError):
    """A data provider (PostgreSQL, files) cannot be reached, or its state is not what was asked."""


class DnsError(TrafficError):
    """A DNS server refused or did not answer in time, or a record was not one to send."""


class MissingDependency(MirroringError):
    """A Python library the collection needs is not installed."""


def require(module_name, present, error):
    """Raise MissingDependency naming the pip package when `present` is false."""
    if not present:
        raise MissingDependency(
            "Python library '%s' is required on the controller (pip install -r requirements.txt "
            "from the collection): %s" % (module_name, error))
