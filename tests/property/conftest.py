"""
Hypothesis profiles for the compliance properties.

``ci`` (the default) is derandomized with no example database, so every run
of CI tries the same examples and a failure reproduces exactly; ``dev`` draws
fresh examples each run and remembers failures in ``.hypothesis/``. Choose
with ``HYPOTHESIS_PROFILE=dev``.
"""

import os

from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
    ],
    "print_blob": True,
}
settings.register_profile("ci", derandomize=True, database=None, **_COMMON)
settings.register_profile("dev", **_COMMON)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
