"""``python -m edgevox`` runs the command line."""

import sys

from edgevox.cli import main

sys.exit(main())
