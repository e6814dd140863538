"""Configuration: YAML files validated by pydantic, turned into `netmon.model` records."""

from netmon.config.loader import Config, load_config
from netmon.config.schema import ConfigFile

__all__ = ["Config", "ConfigFile", "load_config"]
