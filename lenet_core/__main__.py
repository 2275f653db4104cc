"""`python -m lenet_core`: the command line without the GUI."""

import sys

from lenet_core.cli import main

sys.exit(main())
