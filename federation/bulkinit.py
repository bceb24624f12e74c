"""Fast keyword constructors for frozen, slotted value dataclasses, for bulk construction.

A frozen dataclass's generated ``__init__`` sets every field through
``object.__setattr__(self, "name", value)``, a generic attribute lookup per field. Reading a
10k-model dbt manifest builds ~100k ``ColumnSpec`` and ~60k other specs that way, a fifth of the
whole read. :func:`bulk_init` builds a function that sets the slots through their descriptors
directly, about 2.5x faster, and returns objects equal to what the class's own ``__init__`` makes.

It refuses classes with a ``__post_init__`` (their checks would be skipped) and classes that are
not slotted, frozen dataclasses, so a later change to a spec class cannot silently break it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def bulk_init(cls: type[T]) -> Callable[..., T]:
    """``make(field1=..., field2=...)`` -> ``cls(field1=..., field2=...)``; every field must be
    given (defaults are not applied)."""
    if not dataclasses.is_dataclass(cls) or "__slots__" not in vars(cls):
        raise TypeError(f"{cls.__name__} is not a slotted dataclass")
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen:
        raise TypeError(f"{cls.__name__} is not a frozen dataclass")
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} validates in __post_init__; construct it normally")
    names = [field.name for field in dataclasses.fields(cls)]
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make(*, {', '.join(names)}):", "    self = _new(_cls)"]
    for name in names:
        namespace[f"_set_{name}"] = getattr(cls, name).__set__
        lines.append(f"    _set_{name}(self, {name})")
    lines.append("    return self")
    # generated from the class's own field names, as dataclasses generates __init__
    exec("\n".join(lines), namespace)
    make: Callable[..., T] = namespace["make"]
    make.__qualname__ = f"bulk_init({cls.__name__})"
    return make
