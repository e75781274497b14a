"""fit: the classic XOR network, batch modes, validation, callbacks, history, resume and Ctrl-C."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pytest

import numpynn as nn


def test_xor_2_3_1_sigmoid_network_reaches_100_percent(xor):
    X, y = xor
    model = nn.Sequential([nn.Dense(2, 3, "sigmoid"), nn.Dense(3, 1, "sigmoid")], seed=0)
    history = model.fit(X, y, loss="binary_cross_entropy", optimizer=nn.SGD(2.0), epochs=3000,
                        batch_size=None, verbose=0, metrics=["accuracy"])
    assert model.evaluate(X, y)["accuracy"] == 1.0
    assert history["loss"][-1] < 0.05 < history["loss"][0]
    np.testing.assert_array_equal(model.predict(X), y)


def test_a_single_perceptron_cannot_learn_xor(xor):
    X, y = xor
    model = nn.Sequential([nn.Dense(2, 1, "sigmoid")], seed=0)
    model.fit(X, y, optimizer=nn.SGD(2.0), epochs=3000, batch_size=None, verbose=0)
    assert model.evaluate(X, y)["accuracy"] <= 0.75


def test_full_batch_takes_one_step_per_epoch(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    model.fit(X, y, batch_size=None, epochs=4, verbose=0)
    assert model.optimizer.iterations == 4 and len(model.history.batch_loss) == 4
    model2 = nn.Sequential([nn.Dense(4, 3)], seed=0)
    model2.fit(X, y, batch_size=32, epochs=2, verbose=0)
    assert model2.optimizer.iterations == 2 * 5  # ceil(150 / 32)


def test_history_records_train_and_validation_figures(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    h = model.fit(X[:120], y[:120], validation_data=(X[120:], y[120:]), epochs=3, verbose=0,
                  metrics=["accuracy", "top2_accuracy"])
    for name in ("loss", "accuracy", "top2_accuracy", "val_loss", "val_accuracy", "val_top2_accuracy", "lr", "time"):
        assert len(h[name]) == 3, name
    assert len(h.batch_loss) == 3 * 4
    assert h["epoch"] == [1, 2, 3]
    rows = h.to_csv().strip().splitlines()
    assert rows[0].startswith("epoch,loss,accuracy") and len(rows) == 4
    assert nn.History.from_dict(json.loads(h.to_json())).epochs == h.epochs


def test_fit_twice_keeps_one_history_with_an_entry_per_epoch(blobs, tmp_path):
    """A second fit appends to the model's History (the epochs numbered on); a figure a call did not record is
    NaN in its epochs, so every list is as long as `loss`, the CSV's columns line up and the repr is current."""
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    first = model.fit(X, y, validation_split=0.2, epochs=2, metrics=["accuracy"], verbose=0)
    second = model.fit(X, y, epochs=3, verbose=0)  # no validation this time
    assert second is first is model.history and len(second) == 5 and second["epoch"] == [1, 2, 3, 4, 5]
    assert {name: len(v) for name, v in second.epochs.items()} == dict.fromkeys(second.epochs, 5)
    assert np.isfinite(second["val_loss"][:2]).all() and np.isnan(second["val_loss"][2:]).all()
    shown = repr(second)
    assert "5 epochs" in shown and "val_loss" not in shown and f"'loss': {round(second['loss'][-1], 5)}" in shown
    third = model.fit(X, y, validation_data=(X[:30], y[:30]), epochs=1, verbose=0)
    assert len(third["val_loss"]) == len(third["loss"]) == 6 and np.isfinite(third["val_loss"][-1])
    assert f"'val_loss': {round(third['val_loss'][-1], 5)}" in repr(third)
    header, *rows = [r.split(",") for r in third.to_csv().strip().splitlines()]
    assert len(rows) == 6 and all(len(r) == len(header) for r in rows)
    assert float(rows[5][header.index("val_loss")]) == third["val_loss"][-1]
    assert np.isnan(float(rows[3][header.index("val_loss")]))
    late = nn.Sequential([nn.Dense(4, 3)], seed=0)
    late.fit(X, y, epochs=2, verbose=0)
    late.fit(X, y, validation_split=0.2, epochs=1, verbose=0)  # validation first appears in epoch 3
    assert len(late.history["val_loss"]) == 3 and np.isnan(late.history["val_loss"][:2]).all()
    late.save(tmp_path / "late.safetensors")
    loaded = nn.load(tmp_path / "late.safetensors").history
    assert np.isnan(loaded["val_loss"][:2]).all() and loaded["val_loss"][2] == late.history["val_loss"][2]
    assert "<td style=\"text-align:right\">nan</td>" not in late.history._repr_html_()


def test_validation_split_holds_out_the_same_rows(blobs):
    X, y = blobs
    a = nn.Sequential([nn.Dense(4, 3)], seed=5)
    a.fit(X, y, validation_split=0.2, epochs=1, verbose=0)
    b = nn.Sequential([nn.Dense(4, 3)], seed=5)
    b.fit(X, y, validation_split=0.2, epochs=1, verbose=0)
    assert a.history["val_loss"] == b.history["val_loss"]
    assert a.optimizer.iterations == 4  # 120 training rows / 32


def test_early_stopping_restores_the_best_weights(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 32, "relu"), nn.Dense(32, 3)], seed=0)
    seen = {}

    class Spy(nn.Callback):
        def on_epoch_end(self, epoch, logs):
            seen[epoch] = (logs["val_loss"], self.model.get_weights())

    stop = nn.EarlyStopping(patience=2)
    # a large rate makes validation loss bounce so that stopping triggers
    model.fit(X[:100], y[:100], validation_data=(X[100:], y[100:]), optimizer=nn.SGD(3.0), epochs=60,
              batch_size=8, verbose=0, callbacks=[Spy(), stop])
    assert model.history.stopped_early and stop.stopped_epoch < 60
    best_epoch = min(seen, key=lambda e: seen[e][0])
    assert stop.best_epoch == best_epoch
    for key, value in seen[best_epoch][1].items():
        np.testing.assert_array_equal(model.get_weights()[key], value)


def test_reduce_lr_on_plateau_and_scheduler(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    plateau = nn.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0, min_delta=10.0)  # never "improves"
    model.fit(X, y, optimizer=nn.SGD(0.1), epochs=3, verbose=0, callbacks=[plateau])
    assert model.history["lr"] == pytest.approx([0.1, 0.1, 0.05])
    model2 = nn.Sequential([nn.Dense(4, 3)], seed=0)
    model2.fit(X, y, optimizer=nn.SGD(0.1), epochs=3, verbose=0,
               callbacks=[nn.LearningRateScheduler(lambda epoch: 0.1 / epoch)])
    assert model2.history["lr"] == pytest.approx([0.1, 0.05, 0.1 / 3])


def test_loggers_and_plain_progress_lines(blobs, tmp_path, capsys):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    model.fit(X, y, epochs=2, verbose=1, metrics=["accuracy"],
              callbacks=[nn.CSVLogger(tmp_path / "h.csv"), nn.JSONLogger(tmp_path / "h.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and err[0].startswith("epoch 1/2 loss=") and "accuracy=" in err[0]
    assert (tmp_path / "h.csv").read_text().count("\n") == 3
    assert len(json.loads((tmp_path / "h.json").read_text())["epochs"]["loss"]) == 2


def test_resume_from_checkpoint_is_bit_identical(blobs, tmp_path):
    X, y = blobs

    def make():
        return nn.Sequential([nn.Dense(4, 16, "relu"), nn.BatchNorm(), nn.Dropout(0.25), nn.Dense(16, 3)], seed=9)

    straight = make()
    straight.fit(X, y, optimizer=nn.Adam(nn.CosineDecay(1e-2, 100, 5)), epochs=6, batch_size=16, verbose=0,
                 metrics=["accuracy"])
    first = make()
    first.fit(X, y, optimizer=nn.Adam(nn.CosineDecay(1e-2, 100, 5)), epochs=3, batch_size=16, verbose=0,
              metrics=["accuracy"], callbacks=[nn.ModelCheckpoint(tmp_path / "ckpt-{epoch}.safetensors")])
    resumed = nn.load(tmp_path / "ckpt-3.safetensors")
    assert resumed.epoch == 3 and resumed.optimizer.iterations == first.optimizer.iterations
    resumed.fit(X, y, epochs=6, batch_size=16, verbose=0, resume=True)
    for key, value in straight.get_weights().items():
        np.testing.assert_array_equal(resumed.get_weights()[key], value, err_msg=key)
    assert resumed.history["loss"] == straight.history["loss"]
    assert resumed.history.batch_loss == straight.history.batch_loss


def test_ctrl_c_stops_cleanly_keeping_weights_and_history(blobs):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)

    class InterruptInEpoch3(nn.Callback):
        def on_batch_end(self, step, logs):
            if step == 2 * 5 + 2:  # third batch of epoch 3
                os.kill(os.getpid(), signal.SIGINT)

    before = signal.getsignal(signal.SIGINT)  # SIG_IGN when the tests run as a background job
    history = model.fit(X, y, epochs=10, batch_size=32, verbose=0, callbacks=[InterruptInEpoch3()])
    assert history.interrupted and model.epoch == 2 and len(history["loss"]) == 2
    assert len(history.batch_loss) == 12  # the batch in flight finished; nothing after it ran
    assert signal.getsignal(signal.SIGINT) is before  # the caller's handler is back
    assert all(np.isfinite(p).all() for _, p, _ in model.parameters())


def test_throttled_checkpoint_saves_the_last_finished_epoch_on_interrupt(blobs, tmp_path):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    path = tmp_path / "m.safetensors"
    ckpt = nn.ModelCheckpoint(path, every_seconds=3600)
    at_epoch_end = {}

    class Record(nn.Callback):
        def on_epoch_end(self, epoch, logs):
            at_epoch_end[epoch] = self.model.get_weights()

    class InterruptInEpoch4(nn.Callback):
        def on_batch_end(self, step, logs):
            if step == 3 * 5 + 2:
                os.kill(os.getpid(), signal.SIGINT)

    model.fit(X, y, epochs=10, batch_size=32, verbose=0, callbacks=[Record(), ckpt, InterruptInEpoch4()])
    assert ckpt.saved == [str(path), str(path)]  # epoch 1 (first save) and, on interrupt, epoch 3
    loaded = nn.load(path)
    assert loaded.epoch == model.epoch == 3 and len(loaded.history["loss"]) == 3
    assert len(loaded.history.batch_loss) == 15
    for key, value in at_epoch_end[3].items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value)
    # resuming from it continues exactly like an uninterrupted run
    straight = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    straight.fit(X, y, epochs=5, batch_size=32, verbose=0)
    loaded.fit(X, y, epochs=5, batch_size=32, verbose=0, resume=True)
    for key, value in straight.get_weights().items():
        np.testing.assert_array_equal(loaded.get_weights()[key], value)


class _RecordWeights(nn.Callback):
    def __init__(self):
        self.epoch, self.seen = 0, []

    def on_epoch_begin(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, step, logs):
        self.seen.append((self.epoch, self.model.flat.values.copy()))


@pytest.mark.parametrize("decay", [0.9999, 0.6])
def test_weight_average_ends_with_the_running_mean_then_the_ema(blobs, decay):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 8, "relu"), nn.Dense(8, 3)], seed=0)
    record, average = _RecordWeights(), nn.WeightAverage(decay, start_epoch=2)
    history = model.fit(X, y, epochs=3, batch_size=32, verbose=0, callbacks=[record, average])
    weights = [w for epoch, w in record.seen if epoch >= 2]
    expected = weights[0].astype(np.float64)
    for n, w in enumerate(weights[1:], start=2):
        expected += (w - expected) * max(1 - decay, 1 / n)
    assert average.count == len(weights) == 10
    np.testing.assert_allclose(model.flat.values, expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(model.flat.values, record.seen[-1][1])  # not simply the last weights
    if decay > 0.99:  # within its memory the average is the plain mean of the steps
        np.testing.assert_allclose(model.flat.values, np.mean(weights, axis=0), rtol=1e-5, atol=1e-6)
    assert np.isfinite(model.predict_proba(X)).all() and len(history["loss"]) == 3


def test_weight_average_arguments_and_config(tmp_path):
    with pytest.raises(ValueError, match="decay must be in"):
        nn.WeightAverage(1.0)
    with pytest.raises(ValueError, match="start_epoch must be an integer >= 1"):
        nn.WeightAverage(0.99, start_epoch=0)
    from numpynn.config import ConfigError, TrainConfig
    from numpynn.run import build_callbacks

    cbs = build_callbacks(TrainConfig(average_decay=0.999, average_start_epoch=4), tmp_path / "m", True)
    assert any(isinstance(c, nn.WeightAverage) and c.start_epoch == 4 for c in cbs)
    with pytest.raises(ConfigError, match="average_decay"):
        TrainConfig(average_decay=1.5)


def test_numpy_integers_are_integers_everywhere(blobs, tmp_path):
    X, y = blobs
    model = nn.build_mlp(np.int64(4), [np.int32(8)], np.int64(3), seed=np.int64(3))
    es = nn.EarlyStopping(monitor="loss", patience=np.int64(2))
    history = model.fit(X, y, epochs=np.int64(2), batch_size=np.int32(32), verbose=np.int64(0),
                        validation_split=np.float32(0.2), callbacks=[es, nn.WeightAverage(start_epoch=np.uint8(2))])
    assert len(history) == 2 and model.epoch == 2 and es.patience == 2
    assert nn.ReduceLROnPlateau(patience=np.int16(1)).patience == 1
    path = tmp_path / "m.safetensors"
    model.save(path)  # the seed and sizes are plain ints in the file's JSON
    loaded = nn.load(path)
    assert loaded.seed == 3 and loaded.input_shape == (4,)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


@pytest.mark.parametrize("call", [
    lambda m, X, y: m.fit(X, y, epochs=True, verbose=0),
    lambda m, X, y: m.fit(X, y, epochs=2.0, verbose=0),
    lambda m, X, y: m.fit(X, y, epochs=1, batch_size=np.bool_(True), verbose=0),
    lambda m, X, y: m.fit(X, y, epochs=1, batch_size=np.float64(8), verbose=0),
    lambda m, X, y: nn.EarlyStopping(patience=2.5),
    lambda m, X, y: nn.EarlyStopping(patience=True),
    lambda m, X, y: nn.ReduceLROnPlateau(patience=1.5),
    lambda m, X, y: nn.ReduceLROnPlateau(patience=-1),
    lambda m, X, y: nn.WeightAverage(start_epoch=np.float32(2)),
    lambda m, X, y: nn.Sequential([nn.Dense(4, 3)], seed=True),
    lambda m, X, y: nn.Sequential([nn.Dense(4, 3)], seed=2.5),
], ids=["epochs True", "epochs 2.0", "batch_size np.bool_", "batch_size np.float64", "patience 2.5",
        "patience True", "plateau patience 1.5", "plateau patience -1", "start_epoch float32", "seed True",
        "seed 2.5"])
def test_bools_and_floats_are_not_counts(blobs, call):
    X, y = blobs
    model = nn.Sequential([nn.Dense(4, 3)], seed=0)
    with pytest.raises(nn.NumpynnError, match=r"must be (an|a non-negative|a positive) integer.*got .*\(") as caught:
        call(model, X, y)
    assert isinstance(caught.value, ValueError) and model.epoch == 0


def test_a_metric_that_does_not_fit_the_task_is_refused_by_name(blobs):
    X, y = blobs
    clf = nn.build_mlp(4, [8], 3, seed=0)
    clf.fit(X, y, epochs=1, verbose=0)
    with pytest.raises(nn.NumpynnError, match=r"metric 'r2' is for regression, but this model does "
                                              r"classification \(loss 'cross_entropy'\)"):
        clf.evaluate(X, y, metrics=["r2"])
    with pytest.raises(ValueError, match=r"metric 'mae' is for regression"):
        clf.fit(X, y, epochs=1, metrics=["accuracy", "mae"], verbose=0)
    assert clf.epoch == 1  # refused before training
    reg = nn.build_mlp(4, [8], 1, seed=0)
    reg.fit(X, X.sum(axis=1), loss="mse", epochs=1, verbose=0)
    for name in ("accuracy", "top3_accuracy", "ece"):
        with pytest.raises(nn.NumpynnError, match=rf"metric '{name}' is for classification, but this model does "
                                                  rf"regression \(loss 'mse'\); its metrics are 'mae', 'mse', 'r2'"):
            reg.evaluate(X, X.sum(axis=1), metrics=[name])
    assert set(reg.evaluate(X, X.sum(axis=1), metrics=["r2", "mae"])) == {"loss", "r2", "mae"}
