# %% [markdown]
# # 03 · A learning rate too high (and too low)
#
# **What you will see.** The same small CNN trained three times, changing only the learning rate:
# too high, it stalls at chance level (for 10 classes, ~10%; people training on 4 classes report
# "stuck at 25%" for the same reason); too low, it crawls. Then the fix: an **LR range test**
# (loss against learning rate, pick from the plot) and **ReduceLROnPlateau**.
#
# Every number below is computed by this notebook when you run it.

# %% jupyter={"source_hidden": true}
# Makes labkit importable: Colab installs it from the course repository; locally, `make lab` did.
import sys

try:
    import labkit
except ModuleNotFoundError:
    REPOSITORY = None  # [project.urls] Repository in pyproject.toml
    if "google.colab" in sys.modules and REPOSITORY:
        import importlib
        import subprocess

        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                        f"labkit @ git+{REPOSITORY}"], check=True)
        importlib.invalidate_caches()
        import labkit
    else:
        if "google.colab" in sys.modules:
            print("labkit declares no public repository URL yet, so Colab cannot install it.")
        print("labkit is not installed in this kernel. From a checkout of the course repository, "
              "run `make lab`: it installs everything and opens the course with its kernel.")
        raise
if "google.colab" in sys.modules:
    import labkit.colab

    labkit.colab.prepare()

# %%
import labkit  # first: keeps TensorFlow's C++ log lines out of this notebook
import keras
import numpy as np

from labkit import evidence, lessondata, panels, plots, report, scratch, train
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
EPOCHS = lab.profile.epochs
FIT = FitSettings(epochs=EPOCHS, seed=lab.seed)  # Adam, lr 1e-3, batch 64: change per run
CHANCE = 1 / data.n_classes

# %% [markdown]
# ## 1 · The code as found in the wild
#
# "Adam is adaptive, so a bigger learning rate just trains faster", and the snippet
# `model.compile(optimizer=Adam(learning_rate=0.01), ...)`. labkit's `scratch.train_scratch`
# builds a plain CNN (`Rescaling(1/255)` → three conv-conv-pool blocks → global average pooling →
# softmax) and calls `model.fit`; only the learning rate changes between runs.

# %%
TOO_HIGH, TOO_LOW = 1e-2, 1e-5
_, run_high = scratch.train_scratch(data, name=f"Adam lr={TOO_HIGH:g}",
                                    fit=FIT.replace(lr=TOO_HIGH))
model_low, run_low = scratch.train_scratch(data, name=f"Adam lr={TOO_LOW:g}",
                                           fit=FIT.replace(lr=TOO_LOW))

# %% [markdown]
# ## 2 · Run it: the numbers and the curves

# %%
print(f"chance level for {data.n_classes} classes: {CHANCE:.1%}")
for run in (run_high, run_low):
    print(f"{run.name}: final val accuracy {run.last('val_accuracy'):.1%}, "
          f"final train loss {run.last('loss'):.3f}")
plots.plot_curves([run_high, run_low], title="Learning rate too high vs too low");

# %% [markdown]
# ## 3 · Diagnose
#
# A training loss stuck at exactly ln(number of classes) means the network outputs the same
# uniform guess for every image. Is the too-high run's network dead? Retrain it for one epoch
# and look inside: how many images go to each class, and how many ReLU channels never fire.

# %%
print(f"ln({data.n_classes}) = {np.log(data.n_classes):.3f}; "
      f"too-high run's train loss: {run_high.last('loss'):.3f}")
model_high, _ = scratch.train_scratch(data, name="too high, 1 epoch",
                                      fit=FIT.replace(epochs=1, lr=TOO_HIGH, progress=False))
print("predictions per class (too high):", evidence.prediction_spread(model_high, data.x_val,
                                                                     data.n_classes))
print("dead ReLU channels per layer (too high):",
      {k: f"{v:.0%}" for k, v in evidence.dead_relu_fraction(model_high, data.x_val[:256]).items()})
print("predictions per class (too low):", evidence.prediction_spread(model_low, data.x_val,
                                                                    data.n_classes))

# %% [markdown]
# Too high: the first large steps push the ReLUs into a region where they output zero for every
# input; their gradients are then zero, so they never recover, and the network predicts almost
# one class for everything. Too low: nothing is broken, the weights just move too little in the
# epochs we can afford; the loss barely leaves its starting value.
#
# ## 4 · The fix: measure the learning rate, then decay it
#
# An **LR range test** (Leslie Smith, 2015) trains for one short pass while the learning rate
# grows exponentially each batch, and records the loss. Pick a rate about ten times below the
# point where the loss is lowest (just before it explodes). Then train with that rate and let
# `ReduceLROnPlateau` cut it when the validation loss stops improving.

# %%
fresh = scratch.build_scratch(data, lr=1e-3, seed=lab.seed)
lrs, losses = train.lr_range_test(fresh, data.x_train, data.y_train, min_lr=1e-6, max_lr=1.0,
                                  steps=100, seed=lab.seed)
suggested = train.suggest_lr(lrs, losses)
print(f"LR range test: lowest smoothed loss at lr={lrs[np.argmin(losses)]:.2g}; "
      f"suggested lr = {suggested:.2g}")
plots.plot_lr_range(lrs, losses, suggested);

# %%
plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=1)
model_fix, run_fix = scratch.train_scratch(data, name=f"Adam lr={suggested:.2g} + plateau",
                                           fit=FIT.replace(lr=suggested, callbacks=[plateau]))

# %% [markdown]
# ## 5 · Run it: side by side

# %%
runs = [run_high, run_low, run_fix]
for run in runs:
    print(f"{run.name:<32} final val accuracy {run.last('val_accuracy'):.1%}")
test_fix = train.evaluate(model_fix, data.x_test, data.y_test, data.n_classes)
print(f"fixed model on the held-out test set: {test_fix}")
plots.plot_curves(runs, title="Three learning rates, one model");

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
verdict = report.check_lesson(lab, "learning_rate", metric="val accuracy",
                              failure=run_high.last("val_accuracy"),
                              fix=run_fix.last("val_accuracy"))

# %%
# NBVAL_CHECK_OUTPUT
report.claim("too-high LR ends within 5 points of chance",
             run_high.last("val_accuracy") <= CHANCE + 0.05)
report.claim("too-low LR ends below the fix by >= 15 points",
             run_fix.last("val_accuracy") - run_low.last("val_accuracy") >= 0.15)
report.claim("suggested LR lies between the two failures", TOO_LOW < suggested < TOO_HIGH)
print(f"fix beats too-high LR by >= {100 * verdict.min_margin:.0f} points: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Pick a learning rate on the log slider, click **Train** and watch the curves live; **Stop**
# ends a run after the current batch. Every run lands in the table and in the overlay. Try the
# suggested rate with and without the schedule, and SGD at the same rates.

# %%
# NBVAL_IGNORE_OUTPUT
panels.scratch_panel(lab, data, title="Learning rate", lr=suggested, schedule=True)

# %% [markdown]
# ## 8 · Exercises
#
# 1. Re-run the range test with `optimizer="sgd"` (use `keras.optimizers.SGD(momentum=0.9)` in
#    `compile`). Is its suggested rate the same as Adam's? Why not?
# 2. In the panel, find the largest learning rate that still learns. How close is it to the
#    point where the range-test curve turns up?
# 3. Replace `ReduceLROnPlateau` with `keras.optimizers.schedules.CosineDecay`. Which ends higher
#    in 8 epochs?

# %% jupyter={"source_hidden": true}
# Solutions (expand to read).
# 1. SGD's useful range sits about 10x higher than Adam's: Adam divides each step by a running
#    estimate of the gradient's size, so its step is roughly lr per weight, while SGD's step is
#    lr x gradient. The range test finds each optimizer's own scale; that is its point.
# 2. Usually within a factor of 2-3 of the curve's minimum: beyond it the loss explodes and the
#    ReLUs die, as in section 3.
# 3. schedule = keras.optimizers.schedules.CosineDecay(suggested, decay_steps=EPOCHS * 32)
#    then compile with Adam(learning_rate=schedule); expect results close to the plateau run.

# %% [markdown]
# ## 9 · Takeaways
#
# - A loss frozen at ln(classes) and accuracy at chance is the signature of an LR too high
#   (dead ReLUs), not of a bad dataset. A loss that barely moves is an LR too low.
# - Measure the LR with a range test instead of copying one; decay it with
#   `ReduceLROnPlateau` or a schedule.
# - Legacy code from the wild: `Adam(lr=0.01)` (the `lr` argument was removed in Keras 3, use
#   `learning_rate=`) and `keras.callbacks.LearningRateScheduler` still work; Keras 3 prefers
#   schedules from `keras.optimizers.schedules`.
#
# Further reading: Smith, *Cyclical Learning Rates for Training Neural Networks* (2015);
# [Keras: ReduceLROnPlateau](https://keras.io/api/callbacks/reduce_lr_on_plateau/).

# %%
print(lab.elapsed())
