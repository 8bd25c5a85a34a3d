"""Progress for the terminal: tqdm bars on stderr (or a silent stand-in) and one-line notes."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any


class _Silent:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def update(self, count: int = 1) -> None:
        pass

    def set_postfix_str(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


@contextlib.contextmanager
def progress_bar(enabled: bool, **kwargs: Any) -> Iterator[Any]:
    """A tqdm bar on stderr, or a silent stand-in (progress off, or tqdm not installed)."""
    bar: Any = _Silent()
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:  # pragma: no cover - tqdm is a dependency of the command
            pass
        else:
            bar = tqdm(file=sys.stderr, dynamic_ncols=True, leave=True, **kwargs)
    try:
        yield bar
    finally:
        bar.close()


def log(progress: bool, message: str) -> None:
    """Prints ``message`` on stderr when progress is shown."""
    if progress:
        print(message, file=sys.stderr, flush=True)
