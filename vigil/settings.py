"""Settings from `VIGIL_*` environment variables and an optional `.env` file."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Vigil reads from its environment. Secrets never get a default here."""

    model_config = SettingsConfigDict(env_prefix="VIGIL_", env_file=".env", extra="ignore")

    data_dir: Path = Field(Path("data"), description="Where data sets and results are kept.")
    max_upload_mb: float = Field(200.0, gt=0, description="Largest file accepted, in MB.")
    max_rows: int = Field(5_000_000, gt=0, description="Most rows read from one file.")
    host: str = "127.0.0.1"
    port: int = Field(8050, gt=0, lt=65536)
    debug: bool = False
    demo: bool = Field(True, description="Load the built-in demo data set at start.")
    model_key: SecretStr | None = Field(
        None,
        description="Key that signs saved models; without it one is made in the data directory.",
    )

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1_000_000)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (from the CLI) on top."""
    given = {key: value for key, value in overrides.items() if value is not None}
    return Settings(**given)
