"""The Create a task mock: `create_app(config)` builds it, `python -m mockserver serve` runs it.

`create_proxy_app(config)` builds the validation proxy (`python -m mockserver proxy --upstream URL`).

Example:
    >>> from mockserver import MockConfig, create_app
    >>> app = create_app(MockConfig(seed=42))
"""

from __future__ import annotations

from mockserver._app import create_app
from mockserver._config import Latency, MockConfig, RateLimit
from mockserver._errors import ConfigError, MockError
from mockserver._proxy import create_proxy_app
from mockserver._proxy_config import ProxyConfig

__all__ = [
    "ConfigError",
    "Latency",
    "MockConfig",
    "MockError",
    "ProxyConfig",
    "RateLimit",
    "create_app",
    "create_proxy_app",
]
