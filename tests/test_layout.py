"""The folder layout is the architecture: these import rules are checked, not just documented."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ("baselines", "catseg", "ov2vss", "ov2vss_lite", "sanseg")
NEUTRAL = ("clip_toolkit",)


def imported_modules(package: str) -> dict[str, set[str]]:
    """Every absolute module each file of ``package`` imports (top level or inside functions)."""
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def top(module: str) -> str:
    return module.split(".")[0]


@pytest.mark.parametrize("package", PLUGINS + NEUTRAL)
def test_model_packages_reach_ovbench_only_through_its_api_and_never_import_each_other(package):
    for path, modules in imported_modules(package).items():
        others = {m for m in modules if top(m) in PLUGINS and top(m) != package}
        assert not others, f"{path} imports another model package: {sorted(others)}"
        harness = {m for m in modules if top(m) == "ovbench" and m != "ovbench.api"}
        assert not harness, f"{path} imports ovbench beyond ovbench.api: {sorted(harness)}"


def test_the_harness_imports_no_model_package():
    for path, modules in imported_modules("ovbench").items():
        models = {m for m in modules if top(m) in PLUGINS + NEUTRAL}
        assert not models, f"{path} imports a model package: {sorted(models)}"


def test_the_harness_names_no_model():
    """No string in ``ovbench/`` names a registered model or a model package (``clip`` is left out: in
    the harness it is a video clip)."""
    from importlib.metadata import entry_points

    names = {ep.name for ep in entry_points(group="ovbench.models")} - {"clip"}
    names |= set(PLUGINS + NEUTRAL) | {"catseg-frame"}
    pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, sorted(names, key=len, reverse=True))) + r")(?![\w-])")
    for path in sorted((ROOT / "ovbench").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found = pattern.search(node.value)
                assert found is None, f"{path.relative_to(ROOT)}:{node.lineno} names {found.group(1)!r}"


def test_the_api_names_exist():
    import ovbench.api as api

    for name in api.__all__:
        assert getattr(api, name) is not None, name
