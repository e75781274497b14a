"""`numpynn serve`: a local web app to draw a digit for a trained model and to watch a small network learn.

    from numpynn.serve import LabApp, DrawModel, make_server
    server = make_server(LabApp(DrawModel.load("runs/demo")), port=8000)
    server.serve_forever()
"""

from __future__ import annotations

from .api import LabApp
from .draw import DrawModel, ServeError, locate_model
from .server import LabServer, make_server

__all__ = ["DrawModel", "LabApp", "LabServer", "ServeError", "locate_model", "make_server"]
