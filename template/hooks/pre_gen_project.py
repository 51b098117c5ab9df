"""Reject bad team/model names before anything is written (cookiecutter removes the dir)."""

import json
import sys

CONTEXT = json.loads({{ cookiecutter | jsonify | tojson }})

try:
    from cpv_hooks.errors import CPVError
    from cpv_hooks.repo import validate_name
except ImportError:
    print("cpv: cpv is not installed in the Python running cookiecutter: pip install cpv-hooks there",
          file=sys.stderr)
    sys.exit(1)

try:
    validate_name(CONTEXT["team_name"], "team name")
    validate_name(CONTEXT["model_name"], "model name")
except CPVError as exc:
    print(f"cpv: {exc}", file=sys.stderr)
    sys.exit(1)
