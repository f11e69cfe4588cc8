"""Settings for the whole test suite (tests/ and the doctests of bounds/, empirical/, figures/).

The suite runs in pytest-xdist workers (``-n auto --dist loadscope`` in pyproject.toml), so:

* **Hypothesis draws the same examples in every run, whatever the worker or the order**: the
  ``hsgd`` profile derandomizes (each test's examples are seeded from the test itself, and no
  example database is read or written: derandomize implies ``database=None``) and has no
  deadline (two workers and their process pools share the cores, so an example's wall time says
  nothing). A test's own ``@settings`` still set what they name. To explore new examples, run
  ``python -m pytest --hypothesis-profile=default``.
* **One BLAS thread per process**, as in ``hsgd``'s own pool processes (figures.executor): the
  parallelism is the workers'; two workers each running a two-thread BLAS only fight for the
  cores. Set here, before anything imports numpy; a variable already set is kept.
"""

import os

from hypothesis import settings

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

settings.register_profile("hsgd", derandomize=True, deadline=None)
settings.load_profile("hsgd")
