"""The doctor's run-level rules: what the losses, the data and the norms across epochs say about a whole run.

`data_figures` measures the training data once, before the first step (the inputs' per-feature scale, the
targets' classes or spread); `run_findings` reads those figures and the per-epoch records (loss, val_loss, lr,
probe_accuracy, each layer's norms) and returns a Finding per rule that holds. Each threshold, its source and
its remedy are listed in docs/doctor.md; the thresholds are module constants so the docs and tests name them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

DATA_ROWS = 4096  # rows the data figures are measured on: enough for a feature's scale, cheap once ...
DATA_VALUES = 1 << 22  # ... and at most this many values (a wide input is measured on fewer rows)
STALLED_SHARE = 0.9  # learning_stalled: the last training loss at >= 90 % of the chance-level loss
VANISHING_RATIO = 1e-5  # vanishing_updates: update/weight below this ...
VANISHING_EPOCHS = 3  # ... in this many measured epochs (all of them in a shorter run) at >= LR_SHARE of the peak
LR_SHARE = 0.1  # epochs whose learning rate a schedule has decayed below a tenth of its peak are not counted
EXPLODING_RATIO = 100.0  # exploding_gradients: gradient norm above 100 times the weight norm ...
EXPLODING_GROWTH = 1e3  # ... or grown 1000-fold since the first measured epoch
SCALE_HIGH, SCALE_LOW = 20.0, 1e-2  # unscaled_inputs / unscaled_targets: an RMS above 20 or (all) below 0.01
OVERFIT_RISE = 0.1  # overfitting: validation loss 10 % above its minimum while the training loss fell since
IMBALANCE_SHARE = 0.7  # class_imbalance: the majority class holds >= 70 % of the rows and the accuracy is ...
IMBALANCE_GAIN = 0.2  # ... within a fifth of the gap between always-majority and perfect above that share


@dataclass(frozen=True)
class Finding:
    rule: str
    layer: int | None
    text: str
    remedy: str
    epoch: int | None = None

    def __str__(self) -> str:
        where = f"layer {self.layer}: " if self.layer is not None else ""
        return f"{where}{self.text}; {self.remedy}"


REMEDIES = {
    "learning_stalled": "raise the learning rate (or use Adam, lr about 1e-3), use ReLU with He initialisation "
                        "instead of deep sigmoid stacks, standardise the inputs, and check that labels match rows",
    "vanishing_updates": "raise the learning rate, or use Adam; with sigmoid/tanh, use ReLU and He initialisation, "
                         "or fewer layers",
    "exploding_gradients": "lower the learning rate, clip gradients (clip_norm), and scale inputs and targets to "
                           "about 1",
    "unscaled_inputs": "standardise the features (normalize = standardize, or (X - mean) / std from the training "
                       "rows) so each is about 1 in scale",
    "unscaled_targets": "standardise the target ((y - mean) / std, predictions mapped back), or train with "
                        "`numpynn train`, which starts the output at the target's mean and spread",
    "overfitting": "stop earlier (early_stopping = N keeps the best epoch), add weight decay or dropout, use more "
                   "data or augmentation, or a smaller network",
    "class_imbalance": "weigh the classes (sample_weight inversely to their share) or resample them, and judge "
                       "the model by balanced accuracy or per-class recall, not accuracy",
}


def data_figures(model, X: np.ndarray | None, y: np.ndarray | None) -> dict[str, Any]:
    """Scale figures of the training inputs X (n, d) and targets y: per-feature RMS (largest and which feature),
    and for a classifier the classes, majority share and chance-level loss, for a regression mean and std."""
    out: dict[str, Any] = {}
    if X is not None and len(X) and np.ndim(X) == 2:
        rows = max(64, min(DATA_ROWS, DATA_VALUES // max(1, X.shape[1])))
        x = np.asarray(X[:rows], dtype=np.float64)
        codes = _embedded_columns(model)
        if codes:  # category codes fed to an Embedding are indices, not scaled features
            x = np.delete(x, codes, axis=1)
        if x.shape[1] and np.all(np.isfinite(x)):
            rms = np.sqrt(np.mean(x * x, axis=0))
            j = int(np.argmax(rms))
            out.update(x_rms_max=float(rms[j]), x_rms_feature=int(j), x_rms_median=float(np.median(rms)))
    loss = getattr(model, "loss", None)
    if y is None or loss is None or not len(y):
        return out
    y = np.asarray(y)
    if loss.name == "binary_cross_entropy" and y.ndim == 2 and y.shape[1] > 1:
        return out  # several independent labels: no one class share or chance level
    if loss.is_classification:
        labels = (np.argmax(y, axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)).astype(np.int64)
        k = max(int(getattr(model, "n_outputs", 0) or 0), 2 if loss.name == "binary_cross_entropy" else 0,
                int(labels.max()) + 1)
        share = np.bincount(labels, minlength=k) / len(labels)
        p = share[share > 0]
        out.update(classes=int(k), majority_class=int(np.argmax(share)), majority_share=float(share.max()),
                   chance_loss=float(-np.sum(p * np.log(p))))
    else:
        t = y.astype(np.float64).reshape(len(y), -1)
        if np.all(np.isfinite(t)):
            out.update(y_mean=float(np.max(np.abs(t.mean(axis=0)))), y_std=float(np.max(t.std(axis=0))))
    return out


def _embedded_columns(model) -> list[int]:
    first = model.layers[0] if getattr(model, "layers", None) else None
    return [int(c) for c in getattr(first, "columns", ())] if type(first).__name__ == "Embedding" else []


def run_findings(records: list[dict[str, Any]], data: dict[str, Any] | None,
                 divergence: dict[str, Any] | None = None) -> list[Finding]:
    """The run-level findings of a doctor's records (ordered by epoch) and data figures."""
    data = data or {}
    found: list[Finding] = []
    for rule in (_stalled, _vanishing, _exploding, _inputs, _targets, _overfitting, _imbalance):
        found.extend(rule(records, data, divergence))
    return found


def _f(rule: str, text: str, layer: int | None = None, epoch: int | None = None) -> Finding:
    return Finding(rule, layer, text, REMEDIES[rule], epoch)


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def _stalled(records, data, divergence):
    chance = _num(data.get("chance_loss"))
    losses = [(r["epoch"], _num(r.get("loss"))) for r in records if _num(r.get("loss")) is not None]
    if not chance or not losses or losses[-1][1] < STALLED_SHARE * chance:
        return []
    epoch, last = losses[-1]
    return [_f("learning_stalled", f"the training loss is {last:.3g} after epoch {epoch}, at chance level "
               f"({chance:.3g} = the loss of predicting the class shares of {int(data['classes'])} classes): "
               f"the network has learned nothing beyond the class frequencies", epoch=losses[0][0])]


def _eligible(records) -> list[dict[str, Any]]:
    """Records of epochs whose learning rate is at least LR_SHARE of the run's peak (all, where lr is unknown)."""
    lrs = [_num(r.get("lr")) for r in records]
    peak = max((v for v in lrs if v is not None), default=None)
    if not peak:
        return list(records)
    return [r for r, v in zip(records, lrs, strict=True) if v is None or v >= LR_SHARE * peak]


def _by_layer(records) -> dict[int, list[tuple[int, dict[str, Any]]]]:
    out: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for rec in records:
        for r in rec["layers"]:
            out.setdefault(r["layer"], []).append((rec["epoch"], r))
    return out


def _target_far_from_1(data) -> bool:
    mean, std = _num(data.get("y_mean")), _num(data.get("y_std"))
    return mean is not None and std is not None and not SCALE_LOW <= max(mean, std) <= SCALE_HIGH


def _target_strained(records, data, divergence) -> bool:
    """A target far from 1 that reaches the run: the output layer's gradient norm above 10 times its weight norm
    in some epoch, or a divergence. (`numpynn train` starts a regression's output at the target's mean and
    spread; then its weights carry the scale, its gradients stay below them, and the run trains well.)"""
    if not _target_far_from_1(data):
        return False
    layers = _by_layer(records)
    out_layer = layers[max(layers)] if layers else []
    return divergence is not None or any(
        _num(r.get("grad_norm")) and _num(r.get("weight_norm")) and r["grad_norm"] > 10 * r["weight_norm"]
        for _, r in out_layer)


def _started_at_target_scale(records, data, divergence) -> bool:
    return _target_far_from_1(data) and not _target_strained(records, data, divergence)


def _vanishing(records, data, divergence):
    found = []
    layers = _by_layer(_eligible(records))
    if layers and _started_at_target_scale(records, data, divergence):  # an output layer with the target's
        layers.pop(max(layers))  # scale in its weights takes relative steps that are small by design
    for i, series in sorted(layers.items()):
        ratios = [(e, _num(r.get("update_ratio"))) for e, r in series if _num(r.get("update_ratio")) is not None]
        low = [(e, v) for e, v in ratios if v < VANISHING_RATIO]
        if not ratios or len(low) < min(VANISHING_EPOCHS, len(ratios)):
            continue
        worst = min(v for _, v in low)
        found.append(_f("vanishing_updates", f"one step changes its weights by only {worst:.2g} of their size "
                        f"(below {VANISHING_RATIO:g}) in {len(low)} of {len(ratios)} epochs from epoch {low[0][0]}: "
                        f"it barely learns", i, low[0][0]))
    return found


def _exploding(records, data, divergence):
    found = []
    calm = _started_at_target_scale(records, data, divergence)
    for i, series in sorted(_by_layer(records).items()):
        g = [(e, _num(r.get("grad_norm")), _num(r.get("weight_norm"))) for e, r in series]
        g = [(e, gn, wn) for e, gn, wn in g if gn is not None]
        if not g:
            continue
        # a target far from 1 puts its scale into the hidden layers' gradients even where the output layer was
        # started at that scale and the run trains well: there only the growth counts
        big = [] if calm else [(e, gn, wn) for e, gn, wn in g if wn and gn > EXPLODING_RATIO * wn]
        grown = [(e, gn) for e, gn, _ in g if g[0][1] > 0 and gn > EXPLODING_GROWTH * g[0][1]]
        if big:
            e, gn, wn = max(big, key=lambda t: t[1] / t[2])
            found.append(_f("exploding_gradients", f"its gradient norm reaches {gn:.3g}, {gn / wn:.3g} times its "
                            f"weight norm (above {EXPLODING_RATIO:g}) from epoch {big[0][0]}", i, big[0][0]))
        elif grown:
            e, gn = grown[-1]
            found.append(_f("exploding_gradients", f"its gradient norm grew from {g[0][1]:.3g} (epoch {g[0][0]}) to "
                            f"{gn:.3g} (epoch {e}), more than {EXPLODING_GROWTH:g}-fold", i, grown[0][0]))
    return found


def _inputs(records, data, divergence):
    top, med = _num(data.get("x_rms_max")), _num(data.get("x_rms_median"))
    if top is None:
        return []
    if top > SCALE_HIGH:
        return [_f("unscaled_inputs", f"input feature {int(data.get('x_rms_feature', -1))} has a scale (root mean "
                   f"square) of {top:.3g} (the median feature {med:.3g}); above {SCALE_HIGH:g}, the first layer's "
                   f"pre-activations and gradients are that much larger")]
    if top < SCALE_LOW:
        return [_f("unscaled_inputs", f"every input feature is tiny: the largest root mean square is {top:.3g} "
                   f"(below {SCALE_LOW:g}), so the first layer sees almost no signal")]
    return []


def _targets(records, data, divergence):
    if not _target_strained(records, data, divergence):
        return []
    mean, std = data["y_mean"], data["y_std"]
    return [_f("unscaled_targets", f"the target's mean is {mean:.3g} and its standard deviation {std:.3g}, far "
               f"from 1 (outside {SCALE_LOW:g}-{SCALE_HIGH:g}); the loss's gradients carry that scale")]


def _overfitting(records, data, divergence):
    pts = [(r["epoch"], _num(r.get("loss")), _num(r.get("val_loss"))) for r in records]
    pts = [(e, tr, va) for e, tr, va in pts if tr is not None and va is not None]
    if len(pts) < 3:
        return []
    best = min(range(len(pts)), key=lambda k: pts[k][2])
    e_best, tr_best, va_best = pts[best]
    e, tr, va = pts[-1]
    if best == len(pts) - 1 or va <= (1 + OVERFIT_RISE) * va_best or tr >= tr_best:
        return []
    began = pts[best + 1][0]
    return [_f("overfitting", f"the validation loss rose from {va_best:.3g} (epoch {e_best}) to {va:.3g} (epoch {e}) "
               f"while the training loss fell from {tr_best:.3g} to {tr:.3g}: over-fitting began in epoch {began}",
               epoch=began)]


def _imbalance(records, data, divergence):
    share = _num(data.get("majority_share"))
    accs = [(r["epoch"], _num(r.get("probe_accuracy"))) for r in records if _num(r.get("probe_accuracy")) is not None]
    if share is None or share < IMBALANCE_SHARE or not accs:
        return []
    epoch, acc = accs[-1]
    if acc > share + IMBALANCE_GAIN * (1 - share):
        return []
    return [_f("class_imbalance", f"the accuracy ({100 * acc:.1f} % on the probe rows, epoch {epoch}) is about the "
               f"share of the majority class {int(data.get('majority_class', -1))} ({100 * share:.1f} % of the rows): "
               f"predicting that class for every row would score as well", epoch=epoch)]
