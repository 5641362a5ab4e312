import sys

from voiceboard.cli import main

sys.exit(main())
