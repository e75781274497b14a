"""Builds numpynn's optional C loops (numpynn/ops/_fused.c); everything else is in pyproject.toml.

The extension is optional: where no C compiler is found the build goes on without it and numpynn runs its
NumPy reference code instead (numpynn.ops.describe() says which is in use).
"""

import sys

from setuptools import Extension, setup

flags = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-math-errno", "-std=c99"]
setup(ext_modules=[Extension("numpynn.ops._fused", ["src/numpynn/ops/_fused.c"], extra_compile_args=flags,
                             optional=True)])
