"""``python -m nn_core.train``: the command line of ``nn_core.cli``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
