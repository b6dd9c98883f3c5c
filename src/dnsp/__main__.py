import sys

from dnsp.cli import main

sys.exit(main())
