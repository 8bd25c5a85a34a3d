"""Every Python block of the README runs as written, each alone in a fresh process.

A block runs in its own interpreter (so one that calls ``rnnax.set_cpu_device_count`` first
works as a user's script would) with a scratch folder as its working directory. A block preceded
by ``<!-- readme-test: needs torch -->`` runs only where PyTorch is installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
_BLOCK = re.compile(
    r"(?:<!-- readme-test: (?P<marker>[^>]*?) -->\n)?```python\n(?P<code>.*?)```", re.S
)


def _blocks() -> list[tuple[str, str, str]]:
    """(id, marker, code) per Python block; the id is the heading above it and its line."""
    text = README.read_text(encoding="utf-8")
    blocks = []
    for match in _BLOCK.finditer(text):
        line = text.count("\n", 0, match.start("code"))
        headings = re.findall(r"^## (.+)$", text[: match.start()], re.M)
        section = re.sub(r"\W+", "-", headings[-1] if headings else "top").strip("-").lower()
        blocks.append((f"{section}-line{line}", match["marker"] or "", match["code"]))
    return blocks


BLOCKS = _blocks()


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 10


@pytest.mark.parametrize(("marker", "code"), [b[1:] for b in BLOCKS], ids=[b[0] for b in BLOCKS])
def test_readme_block_runs_as_written(marker: str, code: str, tmp_path: Path) -> None:
    if marker == "needs torch" and importlib.util.find_spec("torch") is None:
        pytest.skip("the block needs PyTorch (pip install rnnax[torch])")
    assert marker in ("", "needs torch"), f"unknown readme-test marker {marker!r}"
    environment = {**os.environ, "PYTHONWARNINGS": "error::DeprecationWarning"}
    environment.pop("JAX_NUM_CPU_DEVICES", None)
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, f"the block failed:\n{code}\n--- stderr ---\n{done.stderr[-4000:]}"
