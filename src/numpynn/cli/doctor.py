"""`numpynn doctor RUN_DIR`: the training doctor's findings for a run, and its last per-layer figures."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("doctor", help="what went wrong in a training run and what to change (stalled "
                                        "learning, vanishing or exploding updates, unscaled data, over-fitting, ...)")
    p.add_argument("run_dir", type=Path, help="a run folder written by `numpynn train`")
    p.add_argument("--json", action="store_true", help="the findings and records as JSON")


def run(args) -> int:
    from ..training.doctor import load_doctor

    doc = load_doctor(args.run_dir)
    findings = doc["findings"]
    if args.json:
        print(json.dumps({"findings": [vars(f) for f in findings], "divergence": doc.get("divergence"),
                          "data": doc.get("data")}))
        return 0
    if doc["records"]:
        last = doc["records"][-1]
        print(f"epoch {last['epoch']}, per layer:")
        print("layer  weight norm  grad norm  update/weight  act mean  act std  dead/saturated")
        for r in last["layers"]:
            unhealthy = r.get("dead_fraction", r.get("saturated_fraction"))
            print(f"{r['layer']:>5}  {_g(r.get('weight_norm')):>11}  {_g(r.get('grad_norm')):>9}  "
                  f"{_g(r.get('update_ratio')):>13}  {_g(r.get('act_mean')):>8}  {_g(r.get('act_std')):>7}  "
                  f"{'' if unhealthy is None else f'{100 * unhealthy:.0f} %':>14}")
    if not findings:
        print("no findings: learning moved off chance, no dead or saturated layers, updates and gradients in "
              "range, data scaled, no over-fitting or hidden class imbalance, nothing non-finite")
    for f in findings:
        where = f"layer {f.layer}: " if f.layer is not None else ""
        print(f"- {where}{f.text}\n  what to change: {f.remedy}")
    return 0


def _g(v) -> str:
    return "" if v is None or v != v else f"{v:.3g}"
