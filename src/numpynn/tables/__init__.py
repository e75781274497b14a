"""Tables: what each column is (schema), what is learned from the training rows (preprocessing, kept as data in
the model file) and its replay on any later table.

    (X, y), (Xt, yt), prep = numpynn.tables.load("penguins.csv")
    numpynn.tables.prepare(df, model.preprocessing)   # a DataFrame, CSV/Parquet path or dict -> model inputs
    table = numpynn.tables.open_stream("big/")          # a Parquet table larger than memory, for model.fit
"""

from ..data.table import Frame, read_table
from .prepare import learn, load, prepare
from .preprocess import embedding_spec, input_names, n_inputs, transform
from .record import check_record
from .schema import ColumnSchema, describe, infer_schema
from .stream import StreamedTable, open_stream, stream_decision

__all__ = ["ColumnSchema", "Frame", "check_record", "describe", "embedding_spec", "infer_schema", "input_names",
           "learn", "load", "n_inputs", "open_stream", "prepare", "read_table", "stream_decision", "StreamedTable",
           "transform"]
