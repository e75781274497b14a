"""`numpynn inspect TABLE`: the columns of a table as numpynn reads them, and what training would do to each."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("inspect", help="show a table's columns (CSV/TSV, Parquet, Feather): kinds, missing cells, "
                                       "and what training does to each")
    p.add_argument("table", type=Path)
    p.add_argument("--label-column", help="the label column (default: as `numpynn train` chooses it)")
    p.add_argument("--categorical", help="columns read as categories, comma-separated")
    p.add_argument("--numeric", help="columns read as numbers, comma-separated")
    p.add_argument("--drop", help="columns left out, comma-separated")
    p.add_argument("--delimiter", help="the field delimiter (default: sniffed)")
    p.add_argument("--json", action="store_true", help="the schema and the preprocessing as JSON")


def _list(text: str | None) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()] if text else []


def run(args) -> int:
    from ..data.table import label_of, read_table
    from ..tables import describe, learn, n_inputs

    frame = read_table(args.table, delimiter=args.delimiter)
    label, how = label_of(frame, args.label_column or None)
    record, schema = learn(frame, label=label, categorical=_list(args.categorical), numeric=_list(args.numeric),
                           drop=_list(args.drop))
    if args.json:
        print(json.dumps({"rows": frame.n_rows, "label": label, "schema": [c.__dict__ for c in schema],
                          "preprocessing": record}))
        return 0
    print(f"{args.table}: {frame.n_rows:,} rows, {len(frame.names):,} columns; {how}")
    print(describe(schema, label, record))
    used = sum(c.used for c in schema)
    print(f"the model gets {used} of the {len(schema)} feature columns as {n_inputs(record)} inputs "
          "(statistics from all rows here; training learns them from its training split)")
    return 0
