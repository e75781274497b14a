"""Training: the fit loop, History, callbacks and metrics."""
