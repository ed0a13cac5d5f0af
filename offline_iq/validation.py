"""The one check of a config's field values against their annotated types.

Every entry point reaches it: the learners' configs call :func:`check_field_types` first thing in
``__post_init__``, and :func:`offline_iq.learners.make_config` calls it on d3rlpy's own configs
(BC), so ``DiscreteIQLearnConfig(chi2_alpha="abc")`` and
``offline-iq fit ... -o chi2_alpha=abc`` give the same message naming the field and the type.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from typing import Any, Literal

__all__ = ["ConfigFieldError", "check_field_types"]


class ConfigFieldError(TypeError, ValueError):
    """A config field holds a value of the wrong type or outside its allowed values."""


def check_field_types(config: Any) -> None:
    """Raise :class:`ConfigFieldError` naming the first field whose value does not fit its type.

    Checked: ``bool``, ``int``, ``float`` (ints accepted, NaN refused), ``str``, ``Literal``
    choices, and ``X | None`` of those; fields of other types (factories, scalers) are left to
    their own checks.
    """
    hints = _type_hints(type(config))
    for field in dataclasses.fields(config):
        expected = hints.get(field.name, field.type)
        value = getattr(config, field.name)
        wanted = _mismatch(value, expected)
        if wanted is not None:
            raise ConfigFieldError(
                f"{type(config).__name__}.{field.name} must be {wanted}, "
                f"got {value!r} ({type(value).__name__})"
            )


def _type_hints(cls: type) -> dict[str, Any]:
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        try:
            hints.update(typing.get_type_hints(klass))
        except (NameError, TypeError):  # an annotation that does not resolve: skip that class
            continue
    return hints


def _mismatch(value: Any, expected: Any) -> str | None:
    """What ``value`` should have been, or ``None`` if it fits ``expected`` (or is unchecked)."""
    origin = typing.get_origin(expected)
    if origin is Literal:
        choices = typing.get_args(expected)
        return None if value in choices else "one of " + ", ".join(map(repr, choices))
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(expected)
        if value is None and type(None) in options:
            return None
        wants = [_mismatch(value, option) for option in options if option is not type(None)]
        if any(want is None for want in wants):
            return None
        return " or ".join(str(want) for want in wants) + (
            " or None" if type(None) in options else ""
        )
    if expected is bool:
        return None if isinstance(value, bool) else "a bool (true or false)"
    if expected is int:
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if expected is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "a number"
        return "a number, not NaN" if math.isnan(value) else None
    if expected is str:
        return None if isinstance(value, str) else "a string"
    return None
