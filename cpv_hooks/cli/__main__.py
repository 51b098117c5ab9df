"""``python -m cpv_hooks.cli [args...]``: the ``cpv`` command."""

import sys

from cpv_hooks.cli import main

sys.exit(main())
