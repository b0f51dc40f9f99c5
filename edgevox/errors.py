"""User-facing errors.

Every failure a user can cause or fix (a bad config, a missing model, a corrupt WAV, a malformed
API message) is raised as an :class:`EdgevoxError` whose message says what went wrong and what to
do. The CLI and the daemon print that message as one line; anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class EdgevoxError(Exception):
    """An error whose message is written for the person running edgevox."""


class ConfigError(EdgevoxError):
    """The configuration file, an environment override or a flag is invalid."""


class ModelError(EdgevoxError):
    """A model is missing, corrupted, or cannot be fetched from any of its sources."""


class AudioError(EdgevoxError):
    """An audio file or device cannot be read or written."""


class ToolError(EdgevoxError):
    """A tool definition is invalid, or a tool call failed."""


class LicenceError(EdgevoxError):
    """Commercial mode refused a model that is not cleared for commercial use."""


class BusyError(EdgevoxError):
    """The agent already holds as many waiting turns as it queues; try again after one ends."""
