"""The public surface: ``vp.__all__``, the typing marker and the docstrings."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from pathlib import Path

import pytest

import vecpipe as vp

SUBMODULES = sorted(
    f"vecpipe.{info.name}"
    for info in pkgutil.iter_modules(vp.__path__)
    if not info.name.startswith("_")
)


def isort_order(name: str) -> tuple[int, str]:
    """Ruff's order for ``__all__`` (RUF022): CONSTANTS, then Classes, then the rest."""
    if len(name) > 1 and name.isupper():
        return 0, name
    if name[:1].isupper():
        return 1, name
    return 2, name


def public_callables() -> list[tuple[str, object]]:
    return [(name, getattr(vp, name)) for name in vp.__all__ if callable(getattr(vp, name))]


def public_members() -> list[tuple[str, object]]:
    """Methods and properties that the public classes define themselves."""
    classes = [obj for _, obj in public_callables() if inspect.isclass(obj)]
    classes.append(type(vp.wisdom))
    members = []
    for cls in classes:
        if issubclass(cls, BaseException):
            continue
        for attr, value in vars(cls).items():
            if attr.startswith("_"):
                continue
            if isinstance(value, staticmethod | classmethod):
                value = value.__func__
            if inspect.isfunction(value) or isinstance(value, property):
                members.append((f"{cls.__name__}.{attr}", value))
    return members


def test_all_is_sorted():
    assert vp.__all__ == sorted(vp.__all__, key=isort_order)


def test_all_has_no_duplicates():
    assert len(vp.__all__) == len(set(vp.__all__))


@pytest.mark.parametrize("name", vp.__all__)
def test_every_name_in_all_is_importable(name: str):
    namespace: dict[str, object] = {}
    exec(f"from vecpipe import {name}", namespace)
    assert namespace[name] is getattr(vp, name)


def test_star_import_gives_all_names():
    namespace: dict[str, object] = {}
    exec("from vecpipe import *", namespace)
    assert set(vp.__all__) <= set(namespace)


@pytest.mark.parametrize("module", SUBMODULES)
def test_every_name_in_a_submodules_all_exists(module: str):
    mod = importlib.import_module(module)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing


def test_py_typed_marker_exists():
    assert (Path(vp.__file__).parent / "py.typed").is_file()


def test_version_is_a_string():
    assert isinstance(vp.__version__, str)
    assert vp.__version__


@pytest.mark.parametrize(("name", "obj"), public_callables(), ids=lambda v: str(v)[:40])
def test_public_callable_has_a_docstring(name: str, obj: object):
    assert (inspect.getdoc(obj) or "").strip(), f"vp.{name} has no docstring"


@pytest.mark.parametrize(
    ("name", "member"), public_members(), ids=[name for name, _ in public_members()]
)
def test_public_method_has_a_docstring(name: str, member: object):
    assert (inspect.getdoc(member) or "").strip(), f"{name} has no docstring"
