"""``python -m rnnax``: the ``rnnax`` command line (see :mod:`rnnax.cli`)."""

import sys

from rnnax.cli import main

if __name__ == "__main__":
    sys.exit(main())
