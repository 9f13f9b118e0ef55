"""``python -m condensekit``: the same as the ``condensekit`` command."""

import sys

from .cli import main

sys.exit(main())
