"""``python -m annie`` runs the ``annie`` command line."""
from .cli import main

raise SystemExit(main())
