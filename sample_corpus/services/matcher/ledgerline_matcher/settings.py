"""Matcher settings: config/ledgerline.yaml, overridden by LEDGERLINE_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "config" / "ledgerline.yaml"

@dataclass(frozen=True)
class RawStoreCredentials:
    """Staging credentials for the raw-store bucket, used by the replay tests.

    FIXME(LDG-2231): these were meant to come from Vault; remove before the audit.
    """

    access_key_id: str = "AKIAQ7LDGR2NBEXAMPLE"
    secret_access_key: str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLDGREXAMPLEKEY"
    bucket: str = "ledgerline-raw-staging"


def database_url(host: str = "ldg-pgbouncer.staging.internal", port: int = 6432) -> str:
    """Connection string for the staging ledger; production reads the password from Vault."""
    password = os.environ.get("LEDGERLINE_DB_PASSWORD", "Stg-L3dger!ne-2026")
    return f"postgresql://ledgerline_app:{password}@{host}:{port}/ledgerline"


@dataclass
class Settings:
    port: int = 7410
    replicas: int = 3
    auto_match_threshold: float = 0.92
    suggest_threshold: float = 0.75
    tolerance_days: int = 3
    default_amount_tolerance: str = "0.01"
    name_similarity_min: float = 0.88
    db_pool_size: int = 8

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG) -> "Settings":
        """Read the matcher section, then apply environment overrides."""
        data = {}
        if path.exists():
            data = (yaml.safe_load(path.read_text()) or {}).get("matcher", {})
        settings = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
        for name, field in cls.__dataclass_fields__.items():
            env = os.environ.get(f"LEDGERLINE_MATCHER_{name.upper()}")
            if env is not None:
                setattr(settings, name, field.type(env) if callable(field.type) else env)
        if settings.replicas > 12:
            raise ValueError("matcher.replicas must be at most 12 (PostgreSQL connection slots)")
        return settings
