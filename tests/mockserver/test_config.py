"""MockConfig and ProxyConfig: one table of settings, `KORE_MOCK_*`/`KORE_PROXY_*` variables, parsers, errors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from mockserver import ConfigError, Latency, MockConfig, ProxyConfig, RateLimit
from mockserver.__main__ import cli
from mockserver._config import (
    SERVER_SETTINGS,
    ServerConfig,
    documented_rate,
    parse_instant,
    parse_latency,
    parse_rate,
    parse_size,
)
from spec import Rate


def test_defaults_bind_loopback_on_4010() -> None:
    config = MockConfig()
    assert (config.host, config.port, config.body_limit) == ("127.0.0.1", 4010, 1024 * 1024)
    assert config.rate_limit is None and config.error_rate == 0 and config.latency == Latency(0, 0)
    assert config.cors_origins == ("*",)


def test_environment_variables_then_overrides() -> None:
    environ = {
        "KORE_MOCK_PORT": "8080",
        "KORE_MOCK_SEED": "42",
        "KORE_MOCK_LATENCY": "100-300",
        "KORE_MOCK_RATE_LIMIT": "60/min",
        "KORE_MOCK_CORS_ORIGINS": "http://localhost:3000, http://127.0.0.1:5173",
        "KORE_MOCK_FREEZE_TIME": "2025-06-04T10:18:00.725Z",
        "KORE_MOCK_BODY_LIMIT": "2MiB",
        "KORE_MOCK_STATE_FILE": "/tmp/x.sqlite3",
        "KORE_MOCK_JWT_SECRET": "",  # empty means unset
    }
    config = MockConfig.from_env(environ, port=9090)
    assert config.port == 9090
    assert config.seed == 42
    assert config.latency == Latency(100, 300)
    assert config.rate_limit == RateLimit(60, 60)
    assert config.cors_origins == ("http://localhost:3000", "http://127.0.0.1:5173")
    assert config.freeze_time == datetime(2025, 6, 4, 10, 18, 0, 725000, tzinfo=UTC)
    assert config.body_limit == 2 * 1024 * 1024
    assert config.state_file == Path("/tmp/x.sqlite3")
    assert config.jwt_secret is None


@pytest.mark.parametrize("config", [MockConfig, ProxyConfig])
def test_every_field_has_exactly_one_setting(config: type[ServerConfig]) -> None:
    fields = [s.field for s in config.SETTINGS]
    assert sorted(fields) == sorted(f.name for f in dataclasses.fields(config))
    assert len(fields) == len(set(fields))


def test_the_server_settings_are_one_table_both_configs_share() -> None:
    shared = {s.field for s in SERVER_SETTINGS}
    assert shared == {f.name for f in dataclasses.fields(ServerConfig)}
    for config in (MockConfig, ProxyConfig):
        assert [s for s in config.SETTINGS if s.field in shared] == list(SERVER_SETTINGS)
    assert {s.env(MockConfig.ENV_PREFIX) for s in SERVER_SETTINGS} >= {
        "KORE_MOCK_PORT",
        "KORE_MOCK_SPEC_PATH",
    }
    assert {s.env(ProxyConfig.ENV_PREFIX) for s in SERVER_SETTINGS} >= {
        "KORE_PROXY_PORT",
        "KORE_PROXY_SPEC_PATH",
    }


@pytest.mark.parametrize(
    ("parse", "raw", "expected"),
    [
        (parse_size, "1048576", 1048576),
        (parse_size, "512KiB", 512 * 1024),
        (parse_size, "1mb", 1024 * 1024),
        (parse_latency, "250", Latency(250, 250)),
        (parse_latency, "100-300", Latency(100, 300)),
        (parse_rate, "60/min", RateLimit(60, 60)),
        (parse_rate, "5/s", RateLimit(5, 1)),
        (parse_rate, "100", RateLimit(100, 60)),
        (parse_rate, "off", None),
        (parse_instant, "2025-06-04T10:18:00", datetime(2025, 6, 4, 10, 18, tzinfo=UTC)),
    ],
)
def test_parsers(parse: object, raw: str, expected: object) -> None:
    assert parse(raw) == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parse", "raw"),
    [
        (parse_size, "lots"),
        (parse_latency, "300-100"),
        (parse_latency, "fast"),
        (parse_rate, "60/fortnight"),
        (parse_rate, "-1/min"),
        (parse_instant, "yesterday"),
    ],
)
def test_bad_values_name_what_is_expected(parse: object, raw: str) -> None:
    with pytest.raises(ValueError) as caught:
        parse(raw)  # type: ignore[operator]
    assert str(caught.value)  # what is expected, for the option's or the variable's error


@pytest.mark.parametrize(
    "changes",
    [{"port": 70000}, {"workers": 0}, {"error_rate": 1.5}, {"journal_size": 0}, {"log_level": "loud"}],
)
def test_config_rejects_impossible_values(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        MockConfig(**changes)  # type: ignore[arg-type]


def test_environment_errors_name_the_variable() -> None:
    with pytest.raises(ConfigError, match="KORE_MOCK_PORT"):
        MockConfig.from_env({"KORE_MOCK_PORT": "eighty"})


@pytest.mark.parametrize(("command", "config"), [("serve", MockConfig), ("proxy", ProxyConfig)])
def test_help_shows_examples_and_every_environment_variable_and_default(
    command: str, config: type[ServerConfig]
) -> None:
    result = CliRunner().invoke(cli, [command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert f"python -m mockserver {command} --" in result.output
    for setting in config.SETTINGS:
        assert setting.option in result.output
        assert setting.env(config.ENV_PREFIX) in result.output
    assert f"default: {config.default('port')}" in result.output


def test_bad_option_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["serve", "--latency", "slow"])
    assert result.exit_code == 2
    assert "--latency" in result.output and "MIN-MAX" in result.output
    from_env = CliRunner().invoke(cli, ["serve"], env={"KORE_MOCK_LATENCY": "slow"})
    assert from_env.exit_code == 2 and "KORE_MOCK_LATENCY" in from_env.output and "MIN-MAX" in from_env.output


def test_token_command_mints_a_platform_jwt() -> None:
    import jwt

    result = CliRunner().invoke(
        cli, ["token", "--app-id", "cs-abc", "--secret", "s" * 40, "--expires-in", "60"]
    )
    assert result.exit_code == 0, result.output
    claims = jwt.decode(result.output.strip(), "s" * 40, algorithms=["HS256"])
    assert claims["appId"] == "cs-abc" and claims["exp"] > claims["iat"]


def test_readme_documents_every_environment_variable() -> None:
    readme = (Path(__file__).resolve().parents[2] / "mockserver" / "README.md").read_text(encoding="utf-8")
    for setting in MockConfig.SETTINGS:
        assert f"`{setting.env(MockConfig.ENV_PREFIX)}`" in readme


def test_options_beat_environment_variables_even_to_turn_a_fault_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import mockserver._serve

    seen: list[MockConfig] = []
    monkeypatch.setattr(mockserver._serve, "serve", lambda config, *_, **__: seen.append(config))
    monkeypatch.setattr(mockserver._serve, "configure_logging", lambda level, file=None: None)
    env = {"KORE_MOCK_RATE_LIMIT": "5/min", "KORE_MOCK_PORT": "5000", "KORE_MOCK_SEED": "3"}
    result = CliRunner().invoke(cli, ["serve", "--rate-limit", "off", "--port", "6000"], env=env)
    assert result.exit_code == 0, result.output
    (config,) = seen
    assert (config.rate_limit, config.port, config.seed) == (None, 6000, 3)


@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_banners_bracket_an_ipv6_host_once(host: str, capsys: pytest.CaptureFixture[str]) -> None:
    from mockserver.__main__ import _banner, _proxy_banner

    _banner(MockConfig(host=host, port=4010))
    _proxy_banner(ProxyConfig(upstream="http://127.0.0.1:8080", host=host, port=4011))
    err = capsys.readouterr().err
    assert "http://[::1]:4010/docs/" in err and "http://[::1]:4011/__admin/requests" in err
    assert "[[" not in err


def test_an_empty_jwt_secret_is_refused() -> None:
    with pytest.raises(ConfigError, match="jwt_secret"):
        MockConfig(jwt_secret="")
    result = CliRunner().invoke(cli, ["serve", "--jwt-secret", ""])
    assert result.exit_code == 2 and "jwt_secret" in result.output


def test_token_refuses_an_empty_secret_and_takes_a_short_one_quietly() -> None:
    empty = CliRunner().invoke(cli, ["token", "--secret", ""])
    assert empty.exit_code == 2 and "the secret is empty" in empty.output and "Traceback" not in empty.output
    short = CliRunner().invoke(cli, ["token", "--secret", "short"])  # filterwarnings=error would fail it
    assert short.exit_code == 0 and short.output.count(".") == 2


@pytest.mark.parametrize("text", ["60", "60/min", "1/s", "3600/h", "2/sec", "off"])
def test_rate_limit_parses_as_the_one_rate_grammar(text: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import mockserver._serve

    seen: list[MockConfig] = []
    monkeypatch.setattr(mockserver._serve, "serve", lambda config, *_, **__: seen.append(config))
    monkeypatch.setattr(mockserver._serve, "configure_logging", lambda level, file=None: None)
    option = CliRunner().invoke(cli, ["serve", "--rate-limit", text])
    variable = CliRunner().invoke(cli, ["serve"], env={"KORE_MOCK_RATE_LIMIT": text})
    assert option.exit_code == variable.exit_code == 0, option.output + variable.output
    expected = Rate.parse(text)
    assert [config.rate_limit for config in seen] == [expected, expected]
    assert MockConfig.from_env({"KORE_MOCK_RATE_LIMIT": text}).rate_limit == expected


def test_sixty_a_minute_is_one_a_second_whichever_way_it_is_written() -> None:
    per_second = {text: parse_rate(text).per_second for text in ("60", "60/min", "1/s", "3600/h")}  # type: ignore[union-attr]
    assert set(per_second.values()) == {1.0}
    assert RateLimit is Rate and str(parse_rate("60")) == "60/min"


def test_a_bad_rate_is_a_usage_error_naming_the_grammar() -> None:
    result = CliRunner().invoke(cli, ["serve", "--rate-limit", "60/fortnight"])
    assert result.exit_code == 2 and "--rate-limit" in result.output and "N/min" in result.output


def test_proxy_options_and_variables_share_the_mocks_table(monkeypatch: pytest.MonkeyPatch) -> None:
    import mockserver._serve

    seen: list[ProxyConfig] = []
    monkeypatch.setattr(mockserver._serve, "serve", lambda config, *_, **__: seen.append(config))
    monkeypatch.setattr(mockserver._serve, "configure_logging", lambda level, file=None: None)
    env = {
        "KORE_PROXY_UPSTREAM": "http://127.0.0.1:9",
        "KORE_PROXY_BODY_LIMIT": "512KiB",
        "KORE_PROXY_CORS_ORIGINS": "http://a.example, http://b.example",
        "KORE_PROXY_STRICT": "yes",
        "KORE_MOCK_PORT": "5000",  # the mock's variables are not the proxy's
    }
    result = CliRunner().invoke(cli, ["proxy", "--timeout", "2.5s"], env=env)
    assert result.exit_code == 0, result.output
    (config,) = seen
    assert (config.upstream, config.port, config.body_limit, config.strict, config.timeout) == (
        "http://127.0.0.1:9",
        4011,
        512 * 1024,
        True,
        2.5,
    )
    assert config.cors_origins == ("http://a.example", "http://b.example")
    assert config == ProxyConfig.from_env(env, timeout=2.5)


def test_the_banner_names_the_platforms_documented_rate_from_the_spec(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from mockserver.__main__ import _banner
    from spec import load_spec

    documented = documented_rate(load_spec())
    assert documented == Rate.parse("60/min")
    _banner(MockConfig())
    assert "rate:     off (the platform documents 60/min: --rate-limit 60/min)" in capsys.readouterr().err
    _banner(MockConfig(rate_limit=documented))
    assert "rate:     60/min\n" in capsys.readouterr().err
