"""The version of numpynn, in a module of its own so that anything (the file layer, the CLI, reports) can read it
without importing the package's top."""

__version__ = "0.2.0"  # 0.2: numpynn.ops; Adam state is the paper's m and v
