"""`numpynn serve`: a local web app to draw a digit for a trained model (or fill in a row of a table for a model
trained on one) and to watch a small network learn.

    from numpynn.serve import LabApp, DrawModel, make_server
    server = make_server(LabApp(DrawModel.load("runs/demo")), port=8000)   # or LabApp(FormModel.load(...))
    server.serve_forever()
"""

from __future__ import annotations

from .api import LabApp
from .draw import DrawModel, ServeError, locate_model
from .form import FormModel, load_served
from .server import LabServer, make_server

__all__ = ["DrawModel", "FormModel", "LabApp", "LabServer", "ServeError", "load_served", "locate_model", "make_server"]
