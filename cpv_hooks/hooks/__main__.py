"""``python -m cpv_hooks.hooks <hook-name> [args...]``."""

from cpv_hooks.hooks import main

raise SystemExit(main())
