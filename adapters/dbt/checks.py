"""dbt data tests and unit tests -> CheckSpecs, with the attachment rules for every test shape.

Which asset a test checks (first rule that applies):

1. ``attached_node`` names an asset (generic tests on models, seeds, snapshots, incl.
   ``relationships``): that asset. Its other parents (the ``to`` side) become ``additional_deps``.
2. ``attached_node`` names an ephemeral model: the test is dropped with a warning (there is no
   materialized asset to check).
3. ``attached_node`` is null or absent (source tests, singular tests) or names a node that is not
   in the manifest's enabled nodes (a disabled package model overridden by a root model): the
   test's ``depends_on.nodes`` that are assets decide. One: that asset. Several: the first in the
   order (models/seeds/snapshots before sources, then by unique_id); the others become
   ``additional_deps``. None: dropped with a warning.

Unit tests become checks on their model with ``metadata.check_type = "unit_test"`` (data tests
have ``"data_test"``). Severity ``warn`` gives a non-blocking check; anything else (dbt's default
``ERROR``) a blocking one. The check name is the test's name; a second check with the same name on
the same asset gets the last part of its unique_id appended.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

from lockgate.adapters.dbt.translator import DbtTranslator, Node, config_of, mapping, parents_of
from lockgate.federation.bulkinit import bulk_init
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import CheckSpec, JsonValue, Origin, Severity

_check_spec = bulk_init(CheckSpec)
_check_key = bulk_init(CheckKey)
_origin = bulk_init(Origin)


class CheckFields(NamedTuple):
    """What a check is made of, read from one test node (by the translator, or by the fast path)."""

    uid: str
    parents: list[str]
    attached: Any
    name: str
    severity: str
    test_type: Any
    namespace: Any
    column: Any
    description: str


def _rank(uid: str) -> tuple[int, str]:
    return (0 if not uid.startswith("source.") else 1, uid)


def translator_fields(translator: DbtTranslator) -> Callable[[Node], CheckFields]:
    """Test fields through the translator's ``get_check_*`` methods (any translator)."""

    def fields(test: Node) -> CheckFields:
        config = config_of(test)
        test_meta = mapping(test.get("test_metadata"))
        return CheckFields(
            uid=str(test["unique_id"]),
            parents=parents_of(test),
            attached=test.get("attached_node"),
            name=translator.get_check_name(test),
            severity=str(config.get("severity") or ""),
            test_type=test_meta.get("name"),
            namespace=test_meta.get("namespace"),
            column=test.get("column_name"),
            description=translator.get_check_description(test),
        )

    return fields


def translate_tests(
    tests: Iterable[Node],
    unit_tests: Mapping[str, Any],
    translator: DbtTranslator,
    *,
    adapter: str,
    keys: Mapping[str, AssetKey],
    ephemeral: Mapping[str, list[str]],
    warnings: list[str],
    fields: Callable[[Node], CheckFields] | None = None,
) -> dict[str, CheckSpec]:
    """Check specs by the test's unique_id; dropped tests add a line to ``warnings``.

    ``fields`` reads a data test node (default: through ``translator``); unit tests are always
    read through the translator.
    """
    names: dict[str, set[str]] = {}
    checks: dict[str, CheckSpec] = {}
    on_ephemeral: list[str] = []

    def add(test: CheckFields, target: str, others: list[str], check_type: str) -> None:
        uid = test.uid
        asset = keys[target]
        name = test.name
        taken = names.get(target)  # by unique_id: one asset each, and str hashes are cached
        if taken is None:
            taken = names[target] = set()
        if name in taken:
            base = f"{name}_{uid.rsplit('.', 1)[-1]}"
            name, number = base, 2
            while name in taken:
                name, number = f"{base}_{number}", number + 1
        taken.add(name)
        severity = Severity.WARN if test.severity and test.severity.lower() == "warn" else Severity.ERROR
        metadata: dict[str, JsonValue] = {
            "unique_id": uid,
            "check_type": check_type,
            "test_type": test.test_type or ("unit" if check_type == "unit_test" else "singular"),
        }
        if test.column:
            metadata["column_name"] = test.column
        if test.namespace:
            metadata["namespace"] = test.namespace
        additional = (
            tuple(dict.fromkeys(keys[o] for o in others if o in keys and keys[o] != asset)) if others else ()
        )
        checks[uid] = _check_spec(
            key=_check_key(asset=asset, name=name),
            origin=_origin(system="dbt", adapter=adapter, external_id=uid),
            description=test.description,
            severity=severity,
            blocking=severity is Severity.ERROR,
            additional_deps=additional,
            metadata=metadata,
        )

    def attach(test: CheckFields, attached: str | None, check_type: str) -> None:
        uid, parents = test.uid, test.parents
        if attached and attached in keys:
            single = len(parents) == 1 and parents[0] == attached  # the usual generic test
            others = [] if single else [p for p in parents if p != attached]
            add(test, attached, others, check_type)
            return
        if attached and attached in ephemeral:
            on_ephemeral.append(f"{uid} (on {attached})")
            return
        found = sorted((p for p in parents if p in keys), key=_rank)
        if not found:
            why = (
                "only ephemeral models"
                if any(p in ephemeral for p in parents)
                else "no enabled model, seed, snapshot or source"
            )
            warnings.append(f"dbt test {uid} depends on {why}; the check is dropped")
            return
        add(test, found[0], found[1:], check_type)

    by_translator = translator_fields(translator)
    read = fields or by_translator
    for test in tests:
        found = read(test)
        attach(found, found.attached, "data_test")
    for uid, unit in unit_tests.items():
        if not isinstance(unit, Mapping) or not unit.get("name"):
            warnings.append(f"dbt unit test {uid} has no name; it is ignored")
            continue
        found = by_translator({**unit, "unique_id": uid, "resource_type": "unit_test"})
        attach(found, found.parents[0] if found.parents else None, "unit_test")
    if on_ephemeral:
        shown = ", ".join(on_ephemeral[:10]) + (
            f" and {len(on_ephemeral) - 10} more" if len(on_ephemeral) > 10 else ""
        )
        warnings.append(
            f"{len(on_ephemeral)} dbt test(s) check ephemeral models, which are not assets, and are "
            f"dropped: {shown}. Test the models that select from them instead"
        )
    return checks
