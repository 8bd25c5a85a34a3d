"""The ``rnnax`` command's help needs no JAX, ``import rnnax`` is lazy, and ``rnnax bench``
works from an installed wheel (outside any source checkout)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import rnnax

_ROOT = Path(__file__).resolve().parent.parent


def _fresh_python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def test_import_rnnax_and_bench_help_start_no_jax() -> None:
    result = _fresh_python(
        """
        import contextlib, io, sys
        import rnnax, rnnax.cli
        assert "jax" not in sys.modules, "import rnnax imported JAX"
        with contextlib.redirect_stdout(io.StringIO()) as out:
            assert rnnax.cli.main(["bench", "--help"]) == 0
        assert out.getvalue().startswith("usage: rnnax bench"), out.getvalue()[:80]
        assert "jax" not in sys.modules, "rnnax bench --help imported JAX"
        """
    )
    assert result.returncode == 0, result.stderr


def test_help_builds_the_parser_without_jax() -> None:
    result = _fresh_python(
        """
        import contextlib, io, sys
        import rnnax.cli
        rnnax.cli.build_parser()
        for argv in (["--help"], ["compare", "--help"]):
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                rnnax.cli.main(argv)
        assert "jax" not in sys.modules, sorted(m for m in sys.modules if m.startswith("jax"))
        """
    )
    assert result.returncode == 0, result.stderr


def test_forecast_help_needs_no_jax() -> None:
    result = _fresh_python(
        """
        import contextlib, io, sys
        import rnnax.cli
        with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.suppress(SystemExit):
            rnnax.cli.main(["forecast", "--help"])
        assert out.getvalue().startswith("usage: rnnax forecast"), out.getvalue()[:80]
        assert "jax" not in sys.modules, sorted(m for m in sys.modules if m.startswith("jax"))
        import rnnax.pipeline
        assert "jax" not in sys.modules, "import rnnax.pipeline imported JAX"
        """
    )
    assert result.returncode == 0, result.stderr


def test_lazy_core_lists_exactly_all() -> None:
    """``rnnax._CORE`` (where each name lives) and ``__all__`` name the same things."""
    lazy = {name for names in rnnax._CORE.values() for name in names}
    assert lazy == set(rnnax.__all__)
    assert set(rnnax.__all__) <= set(dir(rnnax))
    namespace: dict[str, object] = {}
    exec("from rnnax import *", namespace)
    assert set(rnnax.__all__) <= set(namespace)


def test_registry_has_the_built_in_cells_without_the_package() -> None:
    result = _fresh_python(
        """
        from rnnax._protocol import get_cell, registered_cells
        assert {"lstm", "gru", "mingru", "elman"} <= set(registered_cells())
        assert get_cell("minlstm").name == "minlstm"
        """
    )
    assert result.returncode == 0, result.stderr


def test_bench_from_an_installed_wheel(tmp_path: Path) -> None:
    """Builds a wheel, installs it into a fresh venv (the test environment's packages
    visible), and runs ``rnnax bench --help`` from outside the checkout."""
    source = tmp_path / "source"  # a copy: the build leaves nothing in the checkout
    shutil.copytree(_ROOT / "rnnax", source / "rnnax", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(_ROOT / name, source / name)
    wheels = tmp_path / "wheels"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-w", str(wheels), str(source)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = wheels.glob("rnnax-*.whl")
    environment = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(environment)
    python = environment / ("Scripts" if os.name == "nt" else "bin") / "python"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--force-reinstall", "--ignore-installed", str(wheel)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr[-2000:]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [str(environment / "bin" / "rnnax"), "bench", "--help"],
        capture_output=True, text=True, timeout=120, cwd=outside, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: rnnax bench"), result.stdout[:200]
    located = subprocess.run(
        [str(python), "-c", "import rnnax._bench, rnnax; print(rnnax.__file__)"],
        capture_output=True, text=True, timeout=120, cwd=outside, env=env,
    )  # fmt: skip
    assert located.returncode == 0, located.stderr
    assert str(environment) in located.stdout  # the wheel's copy, not the checkout's
