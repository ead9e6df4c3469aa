"""labkit.train: metrics on a hand-made example, Run records, fit settings, fit, the LR range
test."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import dataclasses  # noqa: E402
import math  # noqa: E402

from labkit import train  # noqa: E402
from labkit.train import FitSettings  # noqa: E402

RNG = np.random.default_rng(0)
X = RNG.normal(size=(32, 4)).astype("float32")
Y = (X[:, 0] > 0).astype("int64")


def tiny_model(lr: float = 1e-2):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(6, activation="relu"),
                              keras.layers.Dense(2, activation="softmax")])
    model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


# ---- metrics ---------------------------------------------------------------------------------
def test_score_hand_made_example():
    #            class:  0  0  0  1  1  2
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    s = train.score(y_true, y_pred)
    np.testing.assert_array_equal(s.confusion, [[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    assert s.accuracy == pytest.approx(4 / 6)
    assert s.per_class_recall == pytest.approx((2 / 3, 1 / 2, 1.0))
    assert s.balanced_accuracy == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)  # 13/18
    # precision 1, 1/2, 1/2 -> F1 4/5, 1/2, 2/3
    assert s.macro_f1 == pytest.approx((4 / 5 + 1 / 2 + 2 / 3) / 3)  # 59/90
    assert str(s) == "accuracy 66.7%, balanced accuracy 72.2%, macro F1 0.656"


def test_score_absent_class_is_left_out_of_the_averages():
    s = train.score([0, 0, 1, 1], [0, 0, 1, 0], n_classes=4)
    assert s.confusion.shape == (4, 4)
    assert s.per_class_recall == pytest.approx((1.0, 0.5, 0.0, 0.0))
    assert s.balanced_accuracy == pytest.approx(0.75)  # mean over classes 0 and 1 only
    assert s.macro_f1 == pytest.approx((0.8 + 2 / 3) / 2)
    assert s.accuracy == pytest.approx(0.75)


def test_score_accepts_column_vectors_and_perfect_predictions():
    y = np.array([[0], [1], [2], [1]])
    s = train.score(y, y.ravel())
    assert s.accuracy == s.balanced_accuracy == s.macro_f1 == 1.0
    np.testing.assert_array_equal(s.confusion, np.diag([1, 2, 1]))


def test_score_mismatched_lengths():
    with pytest.raises(ValueError, match="y_true has 3 labels but y_pred has 2"):
        train.score([0, 1, 1], [0, 1])


# ---- runs and fit ----------------------------------------------------------------------------
def test_run_last_and_best():
    run = train.Run("r", {"loss": [1.0, 0.5, 0.7], "val_accuracy": [0.2, 0.6, 0.4]})
    assert run.last("loss") == 0.7 and run.best("loss") == 0.5
    assert run.last("val_accuracy") == 0.4 and run.best("val_accuracy") == 0.6
    with pytest.raises(KeyError):
        run.last("accuracy")


def test_run_epochs_and_diverged():
    run = train.Run("r", {"loss": [1.0, 0.5, 0.7], "val_accuracy": [0.2, 0.6]})
    assert run.epochs == 3 and not run.diverged
    assert train.Run("empty").epochs == 0
    assert train.Run("nan", {"loss": [1.0, math.nan]}).diverged
    assert train.Run("inf", {"loss": [math.inf]}).diverged


# ---- fit settings ----------------------------------------------------------------------------
def test_fit_settings_defaults_replace_and_callbacks():
    fit = FitSettings()
    assert (fit.epochs, fit.lr, fit.optimizer, fit.batch_size, fit.seed, fit.progress,
            fit.callbacks) == (5, 1e-3, "adam", 64, 0, True, ())
    with pytest.raises(dataclasses.FrozenInstanceError):
        fit.lr = 0.1
    sgd = fit.replace(lr=0.01, optimizer="sgd", callbacks=["a"])
    assert (sgd.lr, sgd.optimizer, sgd.callbacks, sgd.epochs) == (0.01, "sgd", ("a",), 5)
    assert fit.lr == 1e-3  # unchanged
    assert sgd.with_callbacks("b").callbacks == ("a", "b")


@pytest.mark.parametrize("changes, match", [
    ({"epochs": 0}, "epochs must be an integer >= 1, got 0"),
    ({"epochs": 1.5}, "epochs must be an integer >= 1"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
    ({"lr": math.nan}, "lr must be a finite number > 0, got nan"),
    ({"lr": -0.1}, "lr must be a finite number > 0, got -0.1"),
    ({"lr": "fast"}, "lr must be a number > 0, got 'fast'"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of \\['adam', 'sgd'\\]"),
    ({"schedule": "linear"}, "schedule must be one of \\['constant', 'cosine'\\]"),
    ({"feed": "generator"}, "feed must be one of \\['arrays', 'pipeline'\\]"),
])
def test_fit_settings_refuse_settings_that_cannot_train(changes, match):
    with pytest.raises(ValueError, match=match):
        FitSettings(**changes)


def test_a_pipeline_feed_trains_the_same_batches_deterministically():
    fit = FitSettings(epochs=2, batch_size=8, progress=False, feed="pipeline", seed=3)
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(0)
        runs.append(train.fit_with(tiny_model(), X, Y, fit, name="p",
                                   validation_data=(X[:8], Y[:8]),
                                   class_weight={c: 1.0 + c for c in range(int(Y.max()) + 1)}))
    assert runs[0].history == runs[1].history and runs[0].epochs == 2
    assert "val_accuracy" in runs[0].history


def test_a_pipeline_feed_leaves_what_it_cannot_take_to_keras():
    fit = FitSettings(epochs=1, batch_size=8, progress=False, feed="pipeline")
    one_hot = np.eye(int(Y.max()) + 1, dtype="float32")[Y]
    model = tiny_model()
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    assert train.fit_with(model, X, one_hot, fit, name="o").epochs == 1  # one-hot: arrays
    run = train.fit_with(tiny_model(), X, Y, fit, name="s", validation_split=0.25)
    assert "val_loss" in run.history  # validation_split needs arrays: Keras gets them


def test_check_lr():
    assert train.check_lr(1e-3) == 1e-3
    with pytest.raises(ValueError, match="^base_lr must be a finite number > 0, got inf"):
        train.check_lr(math.inf, "base_lr")


def test_fit_with_uses_the_settings(capsys):
    seen = []

    class Count(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)

    fit = FitSettings(epochs=2, batch_size=8, progress=False, callbacks=[Count()])
    run = train.fit_with(tiny_model(), X, Y, fit, name="w", validation_data=(X[:8], Y[:8]))
    assert capsys.readouterr().out == ""
    assert run.name == "w" and run.epochs == 2 and "val_loss" in run.history
    assert len(seen) == 2 * len(X) // 8


def test_fit_returns_run_and_prints_one_line_per_epoch(capsys):
    model = tiny_model()
    run = train.fit(model, X[:24], Y[:24], name="tiny", epochs=2, batch_size=8,
                    validation_data=(X[24:], Y[24:]))
    assert run.name == "tiny" and run.seconds > 0
    assert set(run.history) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 2 for v in run.history.values())
    assert all(isinstance(v, float) for vals in run.history.values() for v in vals)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("  [tiny] epoch 1/2: ") and "loss " in lines[0]
    assert lines[1].startswith("  [tiny] epoch 2/2: ") and "val_accuracy" in lines[1]
    assert lines[1].endswith(" s)")


def test_fit_quiet_and_bad_epochs(capsys):
    run = train.fit(tiny_model(), X, Y, epochs=1, progress=False)
    assert capsys.readouterr().out == ""
    assert set(run.history) >= {"loss", "accuracy"} and "val_loss" not in run.history
    for epochs in (0, -3):
        with pytest.raises(ValueError, match=f"epochs must be >= 1, got {epochs}"):
            train.fit(tiny_model(), X, Y, epochs=epochs)


def test_evaluate_and_predict_classes():
    model = tiny_model()
    pred = train.predict_classes(model, X)
    assert pred.shape == (32,) and set(np.unique(pred)) <= {0, 1}
    s = train.evaluate(model, X, Y, n_classes=2)
    assert s.accuracy == pytest.approx(float((pred == Y).mean()))


# ---- learning rate ---------------------------------------------------------------------------
def test_lr_range_test_restores_weights_and_lr():
    model = tiny_model(lr=1e-3)
    before = [w.copy() for w in model.get_weights()]
    lrs, losses = train.lr_range_test(model, X, Y, min_lr=1e-4, max_lr=10.0, steps=12,
                                      batch_size=8)
    assert 1 <= len(lrs) <= 12 and len(lrs) == len(losses)
    assert lrs[0] == pytest.approx(1e-4)
    assert np.all(np.diff(lrs) > 0)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)


def test_lr_range_test_rejects_bad_range():
    with pytest.raises(ValueError, match="min_lr < max_lr"):
        train.lr_range_test(tiny_model(), X, Y, min_lr=1.0, max_lr=0.1)
    with pytest.raises(ValueError, match="0 < min_lr"):
        train.lr_range_test(tiny_model(), X, Y, min_lr=0.0, max_lr=0.1)


def test_suggest_lr():
    lrs = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    assert train.suggest_lr(lrs, np.array([2.0, 1.0, 0.5, 3.0])) == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="empty"):
        train.suggest_lr(np.array([]), np.array([]))


def test_optimizer_for_builds_the_schedule_and_fit_logs_the_rate():
    constant = train.optimizer_for(FitSettings(lr=0.01, optimizer="sgd"), 100)
    assert isinstance(constant, keras.optimizers.SGD) and constant.momentum == 0.9
    cosine = FitSettings(epochs=3, lr=0.01, batch_size=8, schedule="cosine", progress=False)
    model = tiny_model()
    model.compile(optimizer=train.optimizer_for(cosine, len(X)),
                  loss="sparse_categorical_crossentropy")
    run = train.fit_with(model, X, Y, cosine, name="cos")
    rates = run.history["learning_rate"]
    assert len(rates) == 3 and rates[0] < 0.01 and rates == sorted(rates, reverse=True)
    assert rates[-1] == pytest.approx(0.0, abs=1e-7)  # 3 epochs x 4 steps: decayed to zero
    with pytest.raises(ValueError, match="constant learning rate"):
        train.lr_range_test(model, X, Y)


def test_run_followed_by_joins_two_stages():
    first = train.Run("a", {"loss": [3.0, 2.0], "learning_rate": [1e-3, 1e-3]}, seconds=2.0)
    second = train.Run("b", {"loss": [1.0], "val_loss": [1.5]}, seconds=1.0)
    joined = first.followed_by(second)
    assert joined.name == "a" and joined.seconds == 3.0 and joined.epochs == 3
    assert joined.history == {"loss": [3.0, 2.0, 1.0], "learning_rate": [1e-3, 1e-3],
                              "val_loss": [1.5]}
    assert first.history["loss"] == [3.0, 2.0]  # unchanged


def test_a_pipeline_feed_keeps_one_iterator_per_run(monkeypatch):
    seen = {}
    model = tiny_model()
    real_fit = model.fit

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(model, "fit", spy)
    fit = FitSettings(epochs=2, batch_size=8, progress=False, feed="pipeline")
    run = train.fit_with(model, X, Y, fit, name="p", validation_data=(X[:9], Y[:9]))
    assert seen["steps_per_epoch"] == -(-len(Y) // 8) and seen["validation_steps"] == 2
    assert run.epochs == 2 and len(run.history["val_loss"]) == 2
