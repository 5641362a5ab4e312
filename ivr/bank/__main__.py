"""``python -m ivr.bank``: see ivr.bank.cli."""
import sys

from .cli import main

sys.exit(main())
