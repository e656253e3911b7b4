"""Every ```python block of README.md and docs/*.md runs as written, in page order.

A page's blocks share one namespace, as a reader's session would: a block may use what an
earlier block of the same page defined, never what another page did. The namespace is a
module registered under a name of its own (``vecpipe_docs_<page>``), so stages defined on
a page resolve by module and name, as Dask and worker processes find them. Blocks run in
a fresh folder per page, so the files they write land there.

A block that cannot run as written (a user's own module, a cluster address) says so in
its info string, as pytest-markdown-docs marks it: ```` ```python notest ````. Blocks of
other languages (``sh``, plain output) are not run.

Tracebacks point at the page's own lines: each block is compiled with the page as its
file name and its first line where it stands on the page (``inspect.getsource`` then
finds the functions a page defines, as vecpipe's source hashes need).
"""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# An opening fence: three or more backticks, the info string; the block ends at the next
# line holding only a fence of at least as many backticks.
_OPENING = re.compile(r"^(?P<fence>`{3,})(?P<info>[^`\n]*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its page, the line its code starts on, info string and code."""

    page: Path
    line: int
    info: tuple[str, ...]
    code: str

    @property
    def runs(self) -> bool:
        return bool(self.info) and self.info[0] == "python" and "notest" not in self.info[1:]

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced blocks of a Markdown page, in order."""
    found: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        opening = _OPENING.match(lines[i])
        if opening is None:
            i += 1
            continue
        fence, info = opening["fence"], tuple(opening["info"].split())
        end = i + 1
        while end < len(lines) and not (
            lines[end].startswith(fence) and lines[end].strip() == "`" * len(lines[end].strip())
        ):
            end += 1
        found.append(Block(page, i + 2, info, "\n".join(lines[i + 1 : end]) + "\n"))
        i = end + 1
    return found


def _module_name(page: Path) -> str:
    return "vecpipe_docs_" + re.sub(r"\W", "_", page.stem.lower())


@dataclass
class _Page:
    module: types.ModuleType
    done: int = 0  # blocks run so far
    failed: str | None = None


_RUN: dict[Path, _Page] = {}


def _close_clusters(module: types.ModuleType) -> None:
    """Close the Dask clients and clusters a page started (and did not close itself)."""
    if "distributed" not in sys.modules:
        return
    from distributed import Client, LocalCluster

    values = list(vars(module).values())
    for kind in (Client, LocalCluster):
        for value in values:
            if isinstance(value, kind) and value.status not in ("closed", "closing"):
                value.close()


@pytest.fixture(scope="module", autouse=True)
def _pages() -> Iterator[None]:
    yield
    for page in _RUN.values():
        _close_clusters(page.module)
        sys.modules.pop(page.module.__name__, None)
    _RUN.clear()


def _run_until(page: Path, runnable: list[Block], count: int) -> None:
    """Run the page's first ``count`` runnable blocks (those not run yet)."""
    state = _RUN.get(page)
    if state is None:
        module = types.ModuleType(_module_name(page))
        module.__file__ = str(page)
        sys.modules[module.__name__] = module
        state = _RUN[page] = _Page(module)
    while state.done < count:
        if state.failed is not None:
            pytest.fail(f"an earlier block of the page failed: {state.failed}")
        block = runnable[state.done]
        source = "\n" * (block.line - 1) + block.code
        try:
            exec(compile(source, str(block.page), "exec"), vars(state.module))
        except BaseException:
            state.failed = block.id
            raise
        finally:
            state.done += 1
    if count == len(runnable):
        _close_clusters(state.module)


def _cases() -> list[pytest.param]:
    cases = []
    for page in PAGES:
        runnable = [b for b in blocks(page) if b.runs]
        for position, block in enumerate(runnable):
            cases.append(pytest.param(page, runnable, position + 1, id=block.id))
    return cases


@pytest.fixture(scope="module")
def _folders(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    return {page: tmp_path_factory.mktemp(page.stem) for page in PAGES}


@pytest.mark.parametrize(("page", "runnable", "count"), _cases())
def test_the_block_runs_as_written(
    page: Path,
    runnable: list[Block],
    count: int,
    _folders: dict[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(_folders[page])
    _run_until(page, runnable, count)


def test_the_readmes_test_suite_example_passes(
    _folders: dict[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """README's ``parametrize_with_checks`` block: its ids are unique and every check passes."""
    page = ROOT / "README.md"
    monkeypatch.chdir(_folders[page])
    runnable = [b for b in blocks(page) if b.runs]
    _run_until(page, runnable, len(runnable))
    test = vars(_RUN[page].module)["test_variants"]
    (mark,) = test.pytestmark
    checks = mark.args[1]
    ids = [repr(check) for check in checks]
    assert len(set(ids)) == len(ids) >= 3
    for check in checks:
        test(check)


def test_only_a_few_blocks_are_marked_not_to_run() -> None:
    marked = [b.id for page in PAGES for b in blocks(page) if b.info[:1] == ("python",)]
    skipped = [
        b.id for page in PAGES for b in blocks(page) if b.info[:1] == ("python",) and not b.runs
    ]
    assert len(marked) >= 20
    assert len(skipped) <= 3, skipped
