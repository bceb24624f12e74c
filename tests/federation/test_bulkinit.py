"""bulk_init: the fast constructor makes objects equal to the class's own, and refuses classes
whose construction it would get wrong."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from lockgate.federation.bulkinit import bulk_init
from lockgate.federation.keys import AssetKey, CheckKey
from lockgate.federation.specs import AssetSpec, CheckSpec, ColumnSpec, Origin, Severity


def test_the_objects_equal_and_hash_like_those_of_the_generated_init() -> None:
    made = bulk_init(ColumnSpec)(name="id", description="key", data_type="int", tags=("pk",))
    plain = ColumnSpec(name="id", description="key", data_type="int", tags=("pk",))
    assert made == plain and hash(made) == hash(plain) and repr(made) == repr(plain)
    origin = bulk_init(Origin)(system="dbt", adapter="shop", external_id="model.shop.a")
    assert origin == Origin(system="dbt", adapter="shop", external_id="model.shop.a")
    key = CheckKey(asset=AssetKey(("a",)), name="unique")
    check = bulk_init(CheckSpec)(
        key=key,
        origin=origin,
        description="",
        severity=Severity.WARN,
        blocking=False,
        additional_deps=(),
        metadata={},
    )
    assert check == CheckSpec(key=key, origin=origin, severity=Severity.WARN, blocking=False)
    with pytest.raises(AttributeError):
        made.name = "other"  # type: ignore[misc]  # still frozen


def test_every_field_must_be_given_by_keyword() -> None:
    make = bulk_init(AssetSpec)
    with pytest.raises(TypeError, match="missing"):
        make(key=AssetKey(("a",)), origin=Origin(system="dbt", adapter="x", external_id="a"))
    with pytest.raises(TypeError):
        bulk_init(ColumnSpec)("id", "", None, ())


@dataclass(frozen=True)
class Unslotted:
    value: int


@dataclass(slots=True)
class Mutable:
    value: int


def test_classes_it_would_build_wrongly_are_refused() -> None:
    with pytest.raises(TypeError, match="__post_init__"):
        bulk_init(AssetKey)  # validates its parts
    with pytest.raises(TypeError, match="slotted"):
        bulk_init(Unslotted)
    with pytest.raises(TypeError, match="frozen"):
        bulk_init(Mutable)
