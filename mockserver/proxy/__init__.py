"""The validation proxy: forwards every request to a real implementation and judges both directions.

`create_proxy_app(config)` builds it (`python -m mockserver proxy --upstream URL` serves it). Requests are
judged as the mock judges them, answers by the one judge, `spec.ContractJudge`.
"""

from __future__ import annotations

from mockserver._config import ProxyConfig
from mockserver.proxy._app import PROXY_SERVER, VIOLATIONS_HEADER, create_proxy_app

__all__ = ["PROXY_SERVER", "VIOLATIONS_HEADER", "ProxyConfig", "create_proxy_app"]
