"""Every public module, class, function and method of ``offline_iq`` has a docstring."""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import types
from collections.abc import Callable
from typing import Any

import pytest

import offline_iq

SKIPPED_MODULES = {"offline_iq.cli.__main__"}  # runs the CLI on import


def _has_doc(obj: object) -> bool:
    """Whether ``obj`` has a non-empty docstring of its own (not a dataclass/namedtuple one)."""
    doc = obj.__doc__
    if not isinstance(doc, str) or not doc.strip():
        return False
    generated = inspect.isclass(obj) and (dataclasses.is_dataclass(obj) or issubclass(obj, tuple))
    return not (generated and doc.startswith(f"{obj.__name__}("))


def _method_function(member: object) -> Any:
    """The function behind a class attribute if it is a method or property, else ``None``."""
    if inspect.isfunction(member):
        return member
    if isinstance(member, property):
        return member.fget
    if isinstance(member, classmethod | staticmethod):
        return member.__func__
    return None


def undocumented(module: types.ModuleType) -> list[str]:
    """Public names defined in ``module`` (and their own methods) that lack a docstring."""
    missing = [] if _has_doc(module) else [module.__name__]
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module.__name__:
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not _has_doc(obj):
            missing.append(f"{module.__name__}.{name}")
        if not inspect.isclass(obj):
            continue
        for attr, member in vars(obj).items():
            function = _method_function(member)
            if attr.startswith("_") or function is None:
                continue
            if not _has_doc(function):
                missing.append(f"{module.__name__}.{name}.{attr}")
    return missing


def _modules() -> list[str]:
    names = [offline_iq.__name__]
    for info in pkgutil.walk_packages(offline_iq.__path__, f"{offline_iq.__name__}."):
        if info.name not in SKIPPED_MODULES and not info.name.endswith(".__main__"):
            names.append(info.name)
    return names


def test_walk_finds_the_subpackages() -> None:
    names = _modules()
    assert {"offline_iq.algos.iq", "offline_iq.data.buffer", "offline_iq.experts"} <= set(names)
    assert not [name for name in names if name.endswith("__main__")]


def test_every_public_name_has_a_docstring() -> None:
    missing = [gap for name in _modules() for gap in undocumented(importlib.import_module(name))]
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)


@pytest.mark.parametrize("name", offline_iq.__all__)
def test_exported_names_import_and_are_documented(name: str) -> None:
    obj = getattr(offline_iq, name)  # AttributeError if __all__ names something missing
    if name != "__version__":
        assert _has_doc(obj), f"offline_iq.{name} has no docstring"


# The checker itself: each fake module below has exactly one gap, which it must report. ----------


def _function() -> None:
    """Documented."""


def _bare_class() -> type:
    class Bare:
        pass

    return Bare


def _bare_dataclass() -> type:
    @dataclasses.dataclass
    class Data:
        x: int = 0

    return Data


def _class_with(attr: str, member: object) -> type:
    return type("Host", (), {"__doc__": "Documented.", attr: member})


def _bare() -> None:
    pass


def _bare_function() -> Callable[[], None]:
    def bare() -> None:
        pass

    return bare


CASES: dict[str, tuple[Callable[[], object], str]] = {
    "function": (_bare_function, "fake.member"),
    "class": (_bare_class, "fake.member"),
    "dataclass": (_bare_dataclass, "fake.member"),
    "method": (lambda: _class_with("run", _bare), "fake.member.run"),
    "property": (lambda: _class_with("value", property(_bare)), "fake.member.value"),
    "classmethod": (lambda: _class_with("make", classmethod(_bare)), "fake.member.make"),
    "staticmethod": (lambda: _class_with("get", staticmethod(_bare)), "fake.member.get"),
}


@pytest.mark.parametrize("kind", sorted(CASES))
def test_checker_reports_a_missing_docstring(kind: str) -> None:
    make, expected = CASES[kind]
    module = types.ModuleType("fake", "A documented fake module.")
    member = make()
    member.__module__ = "fake"  # type: ignore[attr-defined]
    module.member = member  # type: ignore[attr-defined]
    module.documented = _function  # type: ignore[attr-defined]  # defined elsewhere: ignored
    private = _bare_class()
    private.__module__ = "fake"
    module._private = private  # type: ignore[attr-defined]  # private: ignored
    assert undocumented(module) == [expected]


def test_checker_reports_an_undocumented_module_and_passes_a_documented_one() -> None:
    assert undocumented(types.ModuleType("fake")) == ["fake"]
    module = types.ModuleType("fake", "Documented.")
    member = _class_with("run", _function)
    member.__module__ = "fake"
    module.member = member  # type: ignore[attr-defined]
    assert undocumented(module) == []
