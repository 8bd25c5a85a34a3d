"""Plumbing of the bad-input fuzz suite: a per-test time limit and a count of the cases.

Every parametrized id under ``tests/fuzz`` is one fuzz case. The count (per file and in total)
is printed at the end of any run that collected fuzz cases::

    python -m pytest tests/fuzz -q          # ... "fuzz cases collected: N (...)"
    python -m pytest tests/fuzz --collect-only -q | tail -1
"""

from __future__ import annotations

import collections
import signal
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).resolve().parent
# No single case may run this long: a case that does is a hang (an error that was never
# raised, a loop that never ends), reported as a failure instead of stalling the suite.
CASE_TIME_LIMIT_S = 60.0

_COUNTS = pytest.StashKey[collections.Counter]()


def _is_fuzz_item(item: pytest.Item) -> bool:
    return FUZZ_DIR in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Counts the collected fuzz cases per file."""
    counts = collections.Counter(Path(str(item.path)).name for item in items if _is_fuzz_item(item))
    config.stash[_COUNTS] = counts


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    counts = config.stash.get(_COUNTS, None)
    if not counts:
        return
    per_file = ", ".join(f"{name}: {count}" for name, count in sorted(counts.items()))
    terminalreporter.write_line(f"fuzz cases collected: {sum(counts.values())} ({per_file})")


@pytest.fixture(autouse=True)
def _case_time_limit(request: pytest.FixtureRequest):
    """Fails a case that runs past ``CASE_TIME_LIMIT_S`` (SIGALRM; the main thread only)."""

    def on_alarm(signum, frame):  # the signal handler's signature
        raise TimeoutError(
            f"{request.node.nodeid} ran past {CASE_TIME_LIMIT_S:.0f} s: a hang on bad input?"
        )

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_TIME_LIMIT_S)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0.0)
        signal.signal(signal.SIGALRM, previous)
