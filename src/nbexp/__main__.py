"""`python -m nbexp` is the `nbexp` command."""

import sys

from ._cli import main

sys.exit(main())
