"""Turn the generated files into a working model repo: git, DVC, remote, hooks, first commit."""

import json
import os
import sys

CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})

from cpv_hooks.hooks import report  # noqa: E402
from cpv_hooks.scaffold import finish  # noqa: E402

sys.exit(report(lambda: finish(os.getcwd(), CONTEXT) and 0))
