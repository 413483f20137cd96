"""The cabinet's settings: the workspace's ``Settings`` and what only the web server needs."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from flows.settings import Settings, SettingsError, load_settings


@dataclass(frozen=True)
class WebSettings:
    settings: Settings
    # Secure cookies need HTTPS; a cabinet served behind a TLS proxy sets SBOR_COOKIE_SECURE=1.
    cookie_secure: bool = False
    page_size: int = 50  # schools on a page of the download report (each with all its files)


def load_web_settings(env: Mapping[str, str] | None = None) -> WebSettings:
    """From the environment ``sbor web`` hands to every uvicorn worker."""
    env = os.environ if env is None else env
    raw = env.get("SBOR_COOKIE_SECURE", "0").strip().lower()
    if raw not in ("0", "1", "true", "false", "yes", "no", ""):
        raise SettingsError(f"SBOR_COOKIE_SECURE must be 1 or 0, got {raw!r}")
    return WebSettings(load_settings(env=env), cookie_secure=raw in ("1", "true", "yes"))
