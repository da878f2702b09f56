"""``python -m muni_watchdog``: the command line, as the ``muni-watchdog`` script runs it."""

from muni_watchdog.cli.main import main

raise SystemExit(main())
