"""The one exception configuration raises, so the CLI can print it as bad input (exit 2)."""

from __future__ import annotations


class ConfigError(ValueError):
    """A configuration file or setting is malformed; the message names file, key and line."""
