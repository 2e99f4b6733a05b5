"""The Create a task mock: `create_app(config)` builds it, `python -m mockserver serve` runs it.

Example:
    >>> from mockserver import MockConfig, create_app
    >>> app = create_app(MockConfig(seed=42))
"""

from __future__ import annotations

from mockserver._app import create_app
from mockserver._config import Latency, MockConfig, RateLimit
from mockserver._errors import ConfigError, MockError

__all__ = [
    "ConfigError",
    "Latency",
    "MockConfig",
    "MockError",
    "RateLimit",
    "create_app",
]
