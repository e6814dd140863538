"""Building blocks of the config schema: strict models and references to secrets."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(Strict):
    """Where a secret lives: an environment variable or a file (first line, stripped)."""

    env: str | None = None
    file: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of `env` (environment variable) or `file` (path)")
        return self
