"""Rate limits, loopback detection, the token bucket and Retry-After."""

from __future__ import annotations

import pytest

from contract_tests._config import ContractConfig, rate_option
from contract_tests._errors import ConfigError
from contract_tests._pacing import TokenBucket, is_loopback, parse_rate_limit, retry_after_seconds


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("1/s", 1.0),
        ("60/m", 1.0),
        ("120/min", 2.0),
        ("60", 1.0),
        ("3600/h", 1.0),
        ("0.5/s", 0.5),
        ("none", None),
        ("0", None),
    ],
)
def test_rate_limits_parse(text: str, rate: float | None) -> None:
    assert parse_rate_limit(text) == rate


@pytest.mark.parametrize(
    ("text", "fields"),
    [(None, (None, False)), ("2/s", (2.0, False)), ("none", (None, True)), ("0", (None, True))],
)
def test_the_rate_option_gives_both_config_fields(
    text: str | None, fields: tuple[float | None, bool]
) -> None:
    assert rate_option(text) == fields


def test_a_bare_number_is_per_minute_as_everywhere_else() -> None:
    from spec import Rate

    rate = Rate.parse("60")
    assert rate is not None and parse_rate_limit("60") == rate.per_second == 1.0


def test_a_malformed_rate_limit_says_what_is_expected() -> None:
    with pytest.raises(ConfigError, match="a bare N is per minute"):
        parse_rate_limit("fast")


@pytest.mark.parametrize(
    ("url", "loopback"),
    [
        ("http://127.0.0.1:4010", True),
        ("http://127.8.9.10", True),
        ("http://localhost:8080", True),
        ("http://api.localhost", True),
        ("http://[::1]:4010", True),
        ("https://platform.kore.ai", False),
        ("http://10.0.0.1", False),
        ("http://127.0.0.1.example.com", False),
    ],
)
def test_loopback_is_decided_without_dns(url: str, loopback: bool) -> None:
    assert is_loopback(url) is loopback


def test_default_pacing_is_unlimited_on_loopback_and_one_a_second_elsewhere() -> None:
    assert ContractConfig(base_url="http://127.0.0.1:1", stream_id="st-1", jwt="t").rate is None
    remote = ContractConfig(base_url="https://staging.example", stream_id="st-1", jwt="t", allow_writes=True)
    assert remote.rate == 1.0
    paced = ContractConfig(base_url="http://127.0.0.1:1", stream_id="st-1", jwt="t", rate_limit=5.0)
    assert paced.rate == 5.0


def test_the_token_bucket_spaces_requests_without_bursts() -> None:
    now = [100.0]
    bucket = TokenBucket(2.0, clock=lambda: now[0])
    assert [bucket.delay(), bucket.delay(), bucket.delay()] == [0.0, 0.5, 1.0]
    now[0] = 110.0
    assert bucket.delay() == 0.0
    assert TokenBucket(None).delay() == 0.0


def test_retry_after_is_honoured_and_backs_off_without_it() -> None:
    assert retry_after_seconds("3", 0) == 3.0
    assert retry_after_seconds(None, 0) == 1.0
    assert retry_after_seconds(None, 3) == 8.0
    assert retry_after_seconds("Thu, 01 Jan 1970 00:00:00 GMT", 0) == 0.0
