import sys

from dvdgan.cli import main

sys.exit(main())
