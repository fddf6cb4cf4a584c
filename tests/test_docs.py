"""The documentation site: ``mkdocs build --strict`` succeeds and the API pages are complete.

Builds the site (mkdocs + mkdocstrings' Python handler, which reads the source with
griffe and imports nothing) into a temporary directory, then checks that the API pages
have an entry (an HTML anchor ``id="jaxsched.<namespace>.<name>"``) for every public name
of every namespace. A new public function or class therefore needs a docstring that
renders without warnings, and, for the top level, a line in ``docs/api/jaxsched.md``.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("mkdocs", reason="the docs extra is not installed")
pytest.importorskip("mkdocstrings_handlers.python", reason="the docs extra is not installed")
pytest.importorskip("material", reason="the docs extra is not installed")

ROOT = Path(__file__).resolve().parents[1]

# API page (docs/api/<page>.md -> <page>.html) -> namespaces documented there.
PAGES = {
    "jaxsched": ["jaxsched"],
    "optimizers": ["jaxsched.optimizers"],
    "transforms": ["jaxsched.transforms"],
    "schedules": ["jaxsched.schedules"],
    "torch": ["jaxsched.torch", "jaxsched.torch.lr_scheduler"],
    "keras": ["jaxsched.keras", "jaxsched.keras.schedules"],
    "hf": ["jaxsched.hf"],
    "timm": ["jaxsched.timm"],
    "pytorch_optimizer": ["jaxsched.pytorch_optimizer"],
}
# Top-level names documented on another page (or not jaxsched's own).
TOP_LEVEL_ELSEWHERE = ("optimizers", "schedules", "transforms")
NOT_OURS = {"apply_updates", "chain"}  # optax's, re-exported


def _module_file(module: str, base: Path = ROOT) -> Path:
    parts = module.split(".")
    package = base.joinpath(*parts, "__init__.py")
    return package if package.exists() else base.joinpath(*parts[:-1], parts[-1] + ".py")


def public_names(namespace: str) -> dict[str, Path | None]:
    """Public name -> the file it is imported from (None if defined here or external).

    Read statically: ``__all__`` when the module defines it, else the redundant aliases
    ``from m import x as x`` and the module's own top-level functions and classes (the
    rule mkdocstrings applies, docs/_mkdocs/griffe_public_aliases.py). Submodules are
    left out: they have their own section.
    """
    here = _module_file(namespace)
    tree = ast.parse(here.read_text())
    imported: dict[str, Path | None] = {}
    redundant: set[str] = set()
    defined: set[str] = set()
    exported: list[str] | None = None
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            source = None
            if node.level and node.module:
                base = here.parents[node.level - 1]
                source = _module_file(node.module, base)
            for alias in node.names:
                imported[alias.asname or alias.name] = source
                if alias.asname == alias.name:
                    redundant.add(alias.name)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not node.name.startswith("_"):
            defined.add(node.name)
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            exported = list(ast.literal_eval(node.value))
    names = exported if exported is not None else sorted(redundant | defined)
    return {
        name: imported.get(name)
        for name in names
        if not _module_file(f"{namespace}.{name}").exists()  # a submodule
    }


def _undocumented_class(source: Path | None, name: str) -> bool:
    """Whether ``name`` is a class defined in ``source`` without a docstring.

    Such classes (the building blocks' state NamedTuples) are not rendered; everything
    else public must be.
    """
    if source is None or not source.is_file():
        return False
    for node in ast.parse(source.read_text()).body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            return ast.get_docstring(node) is None
    return False


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    output = f"{result.stdout}\n{result.stderr}"
    assert result.returncode == 0, f"mkdocs build --strict failed:\n{output}"
    return out


def _anchors(site: Path, page: str) -> set[str]:
    html = (site / "api" / f"{page}.html").read_text()
    return set(re.findall(r'id="(jaxsched[\w.]*)"', html))


def test_site_has_guide_pages(site: Path) -> None:
    for page in ["index", "optimizers", "schedule-guide", "schedules", "examples", "gallery"]:
        assert (site / f"{page}.html").exists(), page
    index = (site / "index.html").read_text()
    assert "Hyperparameters are data" in index and "images/compare_optimizers.png" in index
    # guide pages include the README's sections (docs/_mkdocs/hooks.py)
    assert "OneCycleLR" in (site / "schedule-guide.html").read_text()
    assert "Where the libraries differ" in (site / "optimizers.html").read_text()
    assert "Reduce the learning rate on a plateau" in (site / "strategies.html").read_text()
    assert "<!-- README:" not in index


def test_api_pages_name_known_functions(site: Path) -> None:
    expected = {
        "optimizers": ["jaxsched.optimizers.adam", "jaxsched.optimizers.sgd"],
        "torch": ["jaxsched.torch.Adam", "jaxsched.torch.lr_scheduler.OneCycleLR"],
        "keras": ["jaxsched.keras.Adam", "jaxsched.keras.schedules.CosineDecay"],
        "schedules": ["jaxsched.schedules.exponential_decay", "jaxsched.schedules.one_cycle"],
        "jaxsched": ["jaxsched.partition", "jaxsched.hyperparams", "jaxsched.reduce_on_plateau"],
        "transforms": ["jaxsched.transforms.scale_by_adam"],
        "hf": ["jaxsched.hf.get_cosine_schedule_with_warmup"],
        "timm": ["jaxsched.timm.CosineLRScheduler"],
        "pytorch_optimizer": ["jaxsched.pytorch_optimizer.Prodigy"],
    }
    for page, ids in expected.items():
        anchors = _anchors(site, page)
        for anchor in ids:
            assert anchor in anchors, f"{anchor} not in api/{page}.html"
    # A docstring rendered with its sections: arguments and an example as code.
    adam = (site / "api" / "optimizers.html").read_text()
    assert "learning_rate" in adam and "&gt;&gt;&gt;" in adam
    assert ":func:" not in adam, "Sphinx roles should be rendered as code"


@pytest.mark.parametrize("page", sorted(PAGES))
def test_every_public_name_is_documented(site: Path, page: str) -> None:
    all_anchors = set().union(*(_anchors(site, p) for p in PAGES))
    anchors = _anchors(site, page)
    missing = []
    for namespace in PAGES[page]:
        for name, source in public_names(namespace).items():
            if namespace == "jaxsched" and name in NOT_OURS:
                continue
            if _undocumented_class(source, name):
                continue
            elsewhere = source.parent.name if source is not None else ""
            if namespace == "jaxsched" and elsewhere in TOP_LEVEL_ELSEWHERE:
                if f"jaxsched.{elsewhere}.{name}" not in all_anchors:
                    missing.append(f"jaxsched.{elsewhere}.{name}")
                continue
            if f"{namespace}.{name}" not in anchors:
                missing.append(f"{namespace}.{name}")
    assert not missing, (
        f"public names without an entry in api/{page}.html (a docstring that griffe "
        f"renders; top-level names are listed in docs/api/jaxsched.md): {missing}"
    )
