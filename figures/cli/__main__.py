"""``python -m figures.cli``: the ``hsgd`` command (:func:`figures.cli.main`)."""

import sys

from figures.cli import main

sys.exit(main())
