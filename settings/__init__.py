"""Warroom's settings layer: every process reads its environment through it.

One base class (``EnvSettings``: a field per variable, ``from_env`` to read
them), one parser per kind of value (``settings.fields``: ``host:port``, URLs,
durations, flags, whole numbers, files, comma lists) and one error
(``SettingsError``: ``VARIABLE: reason, got 'value'``). The Temporal
connection every process shares lives here too: ``TemporalSettings`` and
``connect``, and so do the providers pages go through (``ContactSettings``).
Imports only ``incident`` of Warroom's packages, so the worker, the hooks,
the CLI and the control plane can all stand on it.
"""

from settings.contact import ContactSettings
from settings.environment import EnvSettings
from settings.errors import SettingsError
from settings.links import LinkSettings
from settings.statuspage import StatuspageSettings
from settings.temporal import (
    DEFAULT_ADDRESS,
    DEFAULT_NAMESPACE,
    DEFAULT_TASK_QUEUE,
    TemporalConnectError,
    TemporalCredentialsRefused,
    TemporalSettings,
    TemporalUnreachable,
    connect,
)
from settings.tickets import TicketSettings

__all__ = [
    "DEFAULT_ADDRESS",
    "DEFAULT_NAMESPACE",
    "DEFAULT_TASK_QUEUE",
    "ContactSettings",
    "EnvSettings",
    "LinkSettings",
    "SettingsError",
    "StatuspageSettings",
    "TemporalConnectError",
    "TemporalCredentialsRefused",
    "TemporalSettings",
    "TemporalUnreachable",
    "TicketSettings",
    "connect",
]
