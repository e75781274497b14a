"""`python -m numpynn`, as the `numpynn` script."""

import sys

from .cli import main

sys.exit(main())
