"""profiles.yml reading for dataset namespaces (env_var rendering, targets, errors)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lockgate.adapters.dbt.profiles import connection, profile_name, render_env_vars
from lockgate.federation.errors import ConfigError

SHOP = Path(__file__).resolve().parents[3] / "examples" / "shop"
PROFILES = (SHOP / "profiles.yml").read_text()


def test_the_shop_profile_name() -> None:
    assert profile_name((SHOP / "dbt_project.yml").read_text(), path=SHOP / "dbt_project.yml") == "shop"


def test_env_vars_with_defaults_and_filters(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_PG_HOST", "db.internal")
    monkeypatch.delenv("SHOP_PG_PORT", raising=False)
    conn = connection(PROFILES, path=Path("profiles.yml"), profile="shop", target="postgres")
    assert (conn.adapter_type, conn.host, conn.port) == ("postgres", "db.internal", 5432)
    monkeypatch.setenv("SHOP_PG_PORT", "6543")
    monkeypatch.setenv("SHOP_PG_DBNAME", "analytics")
    conn = connection(PROFILES, path=Path("profiles.yml"), profile="shop", target="postgres")
    assert (conn.port, conn.database) == (6543, "analytics")


def test_the_default_target_is_rendered_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOP_TARGET", "duckdb")
    monkeypatch.setenv("SHOP_DUCKDB_PATH", "/data/shop.duckdb")
    conn = connection(PROFILES, path=Path("profiles.yml"), profile="shop", target=None)
    assert (conn.adapter_type, conn.path) == ("duckdb", "/data/shop.duckdb")


def test_a_missing_env_var_without_default_names_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_HOST", raising=False)
    with pytest.raises(ConfigError) as info:
        render_env_vars("{{ env_var('NOPE_HOST') }}", where="profiles.yml: p.outputs.dev.host")
    assert "NOPE_HOST is not set" in str(info.value) and "profiles.yml: p.outputs.dev.host" in str(info.value)


@pytest.mark.parametrize(
    ("text", "target", "expected"),
    [
        ("other: {}", None, "profile 'shop' (named in dbt_project.yml) is not in profiles.yml"),
        ("shop: {target: dev, outputs: {prod: {type: postgres}}}", None, "has no output named 'dev'"),
        ("shop: {outputs: {dev: {host: x}}}", "dev", "the output has no `type:`"),
        ("shop: {outputs: {dev: {type: postgres, port: abc}}}", "dev", "port 'abc' is not a number"),
        ("shop: [unclosed", None, "not valid YAML"),
    ],
)
def test_broken_profiles_are_config_errors(text: str, target: str | None, expected: str) -> None:
    with pytest.raises(ConfigError, match=r"profiles\.yml") as info:
        connection(text, path=Path("/p/profiles.yml"), profile="shop", target=target)
    assert expected in str(info.value)


def test_a_project_without_profile_is_an_error() -> None:
    with pytest.raises(ConfigError, match="has no `profile:`"):
        profile_name("name: x\n", path=Path("dbt_project.yml"))
