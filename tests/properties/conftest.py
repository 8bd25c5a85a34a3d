"""Hypothesis profiles for the property tests (``tests/properties``).

``rnnax-properties`` (the default) is what CI runs: a fixed, derandomized set of examples per
property, so every run tests the same cases, no example database written into the checkout,
and no deadline (the first example of a new shape pays JAX's compile time). Set
``RNNAX_PROPERTIES=thorough`` for a randomized search with ten times the examples, e.g. before
a release: ``RNNAX_PROPERTIES=thorough python -m pytest tests/properties``.

The profiles are registered here but applied per test (``strategies.property_settings``), not
loaded globally, so they never change the settings of property tests elsewhere in the suite.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_COMMON = dict(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)

settings.register_profile("rnnax-properties", derandomize=True, **_COMMON)
settings.register_profile("rnnax-properties-thorough", derandomize=False, **_COMMON)
