"""``python -m neuronet`` runs the command line (see neuronet.cli)."""
import sys

from .cli import main

sys.exit(main())
