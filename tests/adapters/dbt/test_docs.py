"""Every YAML example in docs/adapters/dbt.md is valid, and its adapter settings load."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from lockgate.adapters.dbt import plugin

DOC = Path(__file__).resolve().parents[3] / "docs" / "adapters" / "dbt.md"
BLOCKS = re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.DOTALL)


def test_the_doc_has_yaml_examples_and_all_of_them_parse() -> None:
    assert len(BLOCKS) >= 3
    for block in BLOCKS:
        assert isinstance(yaml.safe_load(block), dict)


def test_the_adapter_examples_load_through_the_plugin(tmp_path: Path) -> None:
    loaded = 0
    for block in BLOCKS:
        doc: dict[str, Any] = yaml.safe_load(block)
        for entry in doc.get("adapters", []):
            raw = {k: v for k, v in entry.items() if k not in ("name", "type")}
            config = plugin.load_config(raw, name=entry["name"], where="docs", base_dir=tmp_path)
            assert config.project_dir == tmp_path / "dbt" / "shop"
            loaded += 1
    assert loaded == 2
