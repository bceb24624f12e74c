"""The workspace file: shape, errors that name file/key/fix, env overrides, secrets."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lockgate.federation.errors import ConfigError, SecretMissingError, UnknownAdapterTypeError
from lockgate.federation.redact import clear_secrets, redact
from lockgate.federation.workspace import DEFAULT_FILE, default_path, load_workspace

SHOP = """\
store: sqlite:///.lockgate/lockgate.db
adapters:
  - name: shop
    type: dbt
    project_dir: examples/shop
"""


@pytest.fixture(autouse=True)
def _forget_secrets() -> Iterator[None]:
    clear_secrets()
    yield
    clear_secrets()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lockgate.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_minimal_workspace_resolves_paths_against_its_folder(tmp_path: Path) -> None:
    ws = load_workspace(write(tmp_path, SHOP), environ={})
    assert ws.path == (tmp_path / "lockgate.yaml").resolve()
    assert ws.store_url == f"sqlite:///{tmp_path.resolve()}/.lockgate/lockgate.db"
    [entry] = ws.adapters
    assert (entry.name, entry.kind) == ("shop", "dbt")
    assert entry.config.project_dir == (tmp_path / "examples" / "shop").resolve()
    assert entry.where.endswith("adapters[0] (shop)")
    assert ws.adapter("shop") is entry
    assert dict(ws.openlineage) == {} and dict(ws.portal) == {} and dict(ws.automation) == {}


def test_defaults_for_an_empty_file(tmp_path: Path) -> None:
    ws = load_workspace(write(tmp_path, ""), environ={})
    assert ws.adapters == ()
    assert ws.store_url.endswith("/.lockgate/lockgate.db")


def test_absolute_and_memory_sqlite_urls_are_kept(tmp_path: Path) -> None:
    assert load_workspace(write(tmp_path, "store: sqlite:////abs/x.db\n"), environ={}).store_url == (
        "sqlite:////abs/x.db"
    )
    assert load_workspace(write(tmp_path, "store: 'sqlite://'\n"), environ={}).store_url == "sqlite://"


def test_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no workspace file at .*lockgate init"):
        load_workspace(tmp_path / "nope.yaml", environ={})


def test_malformed_yaml_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "store: sqlite:///x.db\nadapters:\n  - name: shop\n   type: [dbt\n")
    with pytest.raises(ConfigError) as info:
        load_workspace(path, environ={})
    message = str(info.value)
    assert f"{path}:4:" in message
    assert "not valid YAML" in message and "indentation" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must be a mapping"):
        load_workspace(write(tmp_path, "- a\n- b\n"), environ={})


def test_unknown_top_level_key_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_workspace(write(tmp_path, SHOP + "adapterz: []\n"), environ={})
    message = str(info.value)
    assert "'adapterz'" in message and ":6: adapterz" in message
    assert "store, store_env, adapters, openlineage, portal, automation" in message


def test_unknown_adapter_type_lists_known_types(tmp_path: Path) -> None:
    with pytest.raises(UnknownAdapterTypeError) as info:
        load_workspace(write(tmp_path, SHOP.replace("type: dbt", "type: dbtt")), environ={})
    message = str(info.value)
    assert "'dbtt'" in message and "dbt" in message.split("known types are:")[1]
    assert "adapters[0] (shop)" in message


def test_duplicate_adapter_names_are_refused(tmp_path: Path) -> None:
    text = SHOP + "  - name: shop\n    type: dbt\n    project_dir: other\n"
    with pytest.raises(
        ConfigError, match=r"two adapters are named 'shop' \(adapters\[0\] and adapters\[1\]\)"
    ):
        load_workspace(write(tmp_path, text), environ={})


@pytest.mark.parametrize(
    ("entry", "needle"),
    [
        ("  - name: Shop!\n    type: dbt\n", "adapters[0].name"),
        ("  - type: dbt\n", "adapters[0].name: Missing data"),
        ("  - name: shop\n", "adapters[0].type: Missing data"),
    ],
)
def test_adapter_entry_needs_a_valid_name_and_type(tmp_path: Path, entry: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_workspace(write(tmp_path, "adapters:\n" + entry), environ={})
    assert needle in str(info.value)


def test_a_section_of_the_wrong_type_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="portal: Not a valid mapping"):
        load_workspace(write(tmp_path, "portal: [1, 2]\n"), environ={})


def test_plugin_errors_name_the_adapter_entry(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"adapters\[0\] \(shop\).*projekt_dir"):
        load_workspace(write(tmp_path, SHOP + "    projekt_dir: x\n"), environ={})


def test_env_overrides_beat_the_file_and_flags_beat_env(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + "    target: prod\n")
    env = {"LOCKGATE__STORE": "sqlite:////env.db", "LOCKGATE__ADAPTERS__SHOP__TARGET": "dev"}
    ws = load_workspace(path, environ=env)
    assert ws.store_url == "sqlite:////env.db"
    assert ws.adapter("shop").config.target == "dev"
    ws = load_workspace(
        path, environ=env, overrides={"store": "sqlite:////flag.db", "adapters.shop.target": "ci"}
    )
    assert ws.store_url == "sqlite:////flag.db"
    assert ws.adapter("shop").config.target == "ci"


def test_env_override_sets_nested_sections(tmp_path: Path) -> None:
    ws = load_workspace(write(tmp_path, SHOP), environ={"LOCKGATE__OPENLINEAGE__TRANSPORT__URL": "http://x"})
    assert ws.openlineage == {"transport": {"url": "http://x"}}


@pytest.mark.parametrize(
    ("name", "needle"),
    [
        ("LOCKGATE__ADAPTERS__WAREHOUSE__TARGET", "no adapter by that name (it has: shop)"),
        ("LOCKGATE__ADAPTERS__SHOP", "must name an adapter and a key"),
        ("LOCKGATE__STOER", "unknown section 'stoer'"),
    ],
)
def test_bad_env_overrides_name_the_variable(tmp_path: Path, name: str, needle: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_workspace(write(tmp_path, SHOP), environ={name: "x"})
    assert name in str(info.value) and needle in str(info.value)


def test_secret_from_env_is_resolved_and_redacted(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + "    vars:\n      api_key_env: SHOP_API_KEY\n")
    ws = load_workspace(path, environ={"SHOP_API_KEY": "s3cr3t-value"})
    assert ws.adapter("shop").config.vars == {"api_key": "s3cr3t-value"}
    assert redact("dbt said: bad key s3cr3t-value") == "dbt said: bad key ***"


def test_missing_secret_names_file_key_and_variable(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + "    vars:\n      api_key_env: SHOP_API_KEY\n")
    with pytest.raises(SecretMissingError) as info:
        load_workspace(path, environ={})
    message = str(info.value)
    assert f"{path}:7: adapters[0].vars.api_key_env" in message
    assert "SHOP_API_KEY" in message and "export SHOP_API_KEY" in message


def test_secret_and_plain_value_together_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, SHOP + "    vars:\n      api_key: x\n      api_key_env: K\n")
    with pytest.raises(ConfigError, match="both 'api_key' and 'api_key_env' are set"):
        load_workspace(path, environ={"K": "v"})


def test_store_url_from_variables_has_its_password_redacted(tmp_path: Path) -> None:
    url = "postgresql+psycopg://lockgate:pa55word@db.internal:5432/lockgate"
    ws = load_workspace(write(tmp_path, "store_env: LG_STORE\n"), environ={"LG_STORE": url})
    assert ws.store_url == url
    assert ws.store_display == "postgresql+psycopg://lockgate:***@db.internal:5432/lockgate"
    ws = load_workspace(
        write(tmp_path, "store: postgresql+psycopg://lockgate:${PGPASS}@db/lockgate\n"),
        environ={"PGPASS": "hunter22"},
    )
    assert ws.store_url.endswith(":hunter22@db/lockgate")
    assert "hunter22" not in redact(f"cannot connect: hunter22 rejected by {ws.store_url}")


def test_missing_store_variable(tmp_path: Path) -> None:
    with pytest.raises(SecretMissingError, match=r"store: the store URL uses \$\{PGPASS\}"):
        load_workspace(write(tmp_path, "store: postgresql+psycopg://u:${PGPASS}@db/x\n"), environ={})


def test_store_url_needs_a_scheme(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="has no scheme"):
        load_workspace(write(tmp_path, "store: lockgate.db\n"), environ={})


def test_unknown_adapter_name_lookup(tmp_path: Path) -> None:
    ws = load_workspace(write(tmp_path, SHOP), environ={})
    with pytest.raises(ConfigError, match="no adapter named 'nope'; the workspace has: shop"):
        ws.adapter("nope")


def test_default_path_follows_the_environment() -> None:
    assert default_path({}) == Path(DEFAULT_FILE)
    assert default_path({"LOCKGATE_WORKSPACE": "/x/ws.yaml"}) == Path("/x/ws.yaml")


def test_redact_masks_url_passwords_and_query_tokens() -> None:
    assert redact("postgresql://u:p%40ss@h/db") == "postgresql://u:***@h/db"
    assert redact("http://h/x?token=abc&x=1") == "http://h/x?token=***&x=1"
    assert redact("no secrets here") == "no secrets here"
