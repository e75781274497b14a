"""`python -m numpynn.cli`, as the `numpynn` script."""

import sys

from . import main

sys.exit(main())
