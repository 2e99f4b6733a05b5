"""The Case Management mock: `create_app(config)` builds it, `python -m mockserver serve` runs it.

`create_proxy_app(config)` builds the validation proxy (`mockserver.proxy`; `python -m mockserver proxy
--upstream URL`). `RateLimit` is `spec.Rate`: one grammar of rates (`60`, `60/min`, `1/s`).

Example:
    >>> from mockserver import MockConfig, create_app
    >>> app = create_app(MockConfig(seed=42))
"""

from __future__ import annotations

from mockserver._app import create_app
from mockserver._config import Latency, MockConfig, ProxyConfig, RateLimit
from mockserver._errors import ConfigError, MockError
from mockserver.proxy import create_proxy_app

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
