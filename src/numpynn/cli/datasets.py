"""`numpynn datasets`: list, locate, download or verify the datasets numpynn knows."""

from __future__ import annotations

import sys

from ..errors import NumpynnError


def add_parser(sub) -> None:
    p = sub.add_parser("datasets", help="list, locate, download or verify datasets")
    p.add_argument("action", choices=("list", "locate", "download", "verify"))
    p.add_argument("name", nargs="?")
    p.add_argument("--path", help="a folder holding the files (IDX .gz or uncompressed, Kaggle's names, a torchvision "
                                  "root or raw folder), or one .npz (Keras) or .csv (OpenML mnist_784) file")


def run(args) -> int:
    from .. import data

    if args.action == "list":
        for name, spec in sorted(data.DATASETS.items()):
            print(f"{name:<15} {spec.description}")
        print(f"\ncache folder: {data.cache_dir()} (set NUMPYNN_DATA to change it)")
        return 0
    if not args.name:
        raise NumpynnError(f"`numpynn datasets {args.action}` needs a dataset name")
    spec = data.get_spec(args.name)
    if spec.loader is not None:
        print(f"{args.name} is bundled with numpynn: nothing to locate or download")
        return 0
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    files = data.locate(args.name, path=args.path, download_missing=args.action == "download", log=log)
    from ..data.copies import check, describe

    bad = 0
    for split, path in files.items():
        why, how = check(path, spec.files[split])  # locate verified it; verify says so from a second reading
        bad += why is not None
        status = f"verified ({how})" if why is None else f"NOT VERIFIED: {why}"
        print(f"{split:<13} {path}  ({describe(path)})  {status}")
    return 1 if bad else 0
