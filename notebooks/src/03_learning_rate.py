# %% [markdown]
# # 03 · A learning rate too high (and too low)
#
# **What you will see.** The same small CNN trained three times, changing only the learning rate:
# too high, it stalls at chance level (for 10 classes, ~10%; people training on 4 classes report
# "stuck at 25%" for the same reason); too low, it crawls. Then the fix: an **LR range test**
# (loss against learning rate, pick from the plot) and a **cosine decay** of the rate, first on
# the same CNN (the learning rate alone), then on the course's CNN (a model that works).
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
import numpy as np

from labkit import evidence, lessondata, panels, plots, reference, report, scratch, train
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
# `model.compile(optimizer=Adam(learning_rate=0.03), ...)`. labkit's `scratch.FORUM` network
# is the plain CNN such snippets build (`Rescaling(1/255)` → three conv-conv-pool blocks, no
# BatchNorm → global average pooling → softmax); only the learning rate changes between runs.

#
# Older snippets write `Adam(lr=0.03)`. Keras 3 no longer takes `lr=`:

# %%
import keras

print("keras.optimizers.Adam(lr=0.03):", report.raised(lambda: keras.optimizers.Adam(lr=0.03)))

# %%
TOO_HIGH, TOO_LOW = 3e-2, 1e-5
model_wild, run_high = scratch.train_scratch(data, name=f"Adam lr={TOO_HIGH:g}",
                                             network=scratch.FORUM, fit=FIT.replace(lr=TOO_HIGH))
model_low, run_low = scratch.train_scratch(data, name=f"Adam lr={TOO_LOW:g}",
                                           network=scratch.FORUM, fit=FIT.replace(lr=TOO_LOW))

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
model_high, _ = scratch.train_scratch(data, name="too high, 1 epoch", network=scratch.FORUM,
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
# point where the loss is lowest (just before it explodes). Then train with that rate as the
# peak of a **cosine decay** (`keras.optimizers.schedules.CosineDecay`): the rate falls smoothly
# to zero over the run, so the last epochs take small steps. (A `ReduceLROnPlateau` callback
# only acts when the validation loss stops improving, which in a short run may never happen.)

# %%
fresh = scratch.build_scratch(data, network=scratch.FORUM, fit=FIT.replace(seed=lab.seed))
lrs, losses = train.lr_range_test(fresh, data.x_train, data.y_train, min_lr=1e-6, max_lr=1.0,
                                  steps=100, seed=lab.seed)
suggested = train.suggest_lr(lrs, losses)
print(f"LR range test: lowest smoothed loss at lr={lrs[np.argmin(losses)]:.2g}; "
      f"suggested lr = {suggested:.2g}")
plots.plot_lr_range(lrs, losses, suggested);

# %% [markdown]
# First the same network at the measured rate, with the cosine decay: that isolates the
# learning rate. Then the course's CNN (`scratch.COURSE`: BatchNorm, 32-64-128 filters,
# 18 epochs, `scratch.COURSE_FIT`: a cosine decay from 3e-3): a model that works. Its own range
# test says whether 3e-3 is a sensible peak.

# %%
model_fix, run_fix = scratch.train_scratch(
    data, name=f"same CNN, lr={suggested:.2g} cosine", network=scratch.FORUM,
    fit=FIT.replace(lr=suggested, schedule="cosine"))
course = scratch.build_scratch(data, fit=scratch.COURSE_FIT.replace(seed=lab.seed,
                                                                  schedule="constant"))
course_lrs, course_losses = train.lr_range_test(course, data.x_train, data.y_train, min_lr=1e-6,
                                                max_lr=1.0, steps=100, seed=lab.seed)
course_low, course_min = train.suggest_lr(course_lrs, course_losses), course_lrs[np.argmin(course_losses)]
PEAK = scratch.COURSE_FIT.lr
print(f"course CNN range test: suggested {course_low:.2g}, lowest loss at {course_min:.2g}; "
      f"the course's peak {PEAK:g} lies below the lowest-loss rate: {PEAK < course_min}")
model_fixed, run_fixed = scratch.train_scratch(
    data, name=f"course CNN, lr={PEAK:g} cosine", fit=scratch.COURSE_FIT.replace(seed=lab.seed))

# %% [markdown]
# ## 5 · Run it: side by side

# %%
runs = [run_high, run_low, run_fix, run_fixed]
for run in runs:
    print(f"{run.name:<36} final val accuracy {run.last('val_accuracy'):.1%}")
print("learning rate per epoch, cosine run:",
      ", ".join(f"{lr:.1e}" for lr in run_fixed.history["learning_rate"]))
plots.plot_curves(runs, title="Learning rates: too high, too low, measured");
side = {f"as found: Adam {TOO_HIGH:g}": train.evaluate(model_wild, data.x_test, data.y_test,
                                                       data.n_classes),
        "measured LR, same CNN": train.evaluate(model_fix, data.x_test, data.y_test,
                                                data.n_classes),
        "fixed: measured LR, course CNN": train.evaluate(model_fixed, data.x_test, data.y_test,
                                                         data.n_classes)}
for name, scores in side.items():
    print(f"{name:<32} test {scores}")
plots.plot_side_by_side(side, data.class_names, reference=reference.line(data, lab.seed),
                        title="Learning rate: as found, measured, fixed");

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
fixed_test = side["fixed: measured LR, course CNN"]
verdict = report.check_lesson(lab, "learning_rate", metric="test accuracy",
                              failure=side[f"as found: Adam {TOO_HIGH:g}"].accuracy,
                              fix=fixed_test.accuracy)

# %%
# NBVAL_CHECK_OUTPUT
report.claim("too-high LR ends within 5 points of chance",
             run_high.last("val_accuracy") <= CHANCE + 0.05)
report.claim("too-low LR ends below the fix by >= 15 points",
             run_fix.last("val_accuracy") - run_low.last("val_accuracy") >= 0.15)
report.claim("suggested LR lies between the two failures", TOO_LOW < suggested < TOO_HIGH)
report.claim("the course's peak LR lies below its range test's lowest-loss rate",
             PEAK < course_min)
report.claim("the measured LR alone beats the too-high one by >= 25 points (same CNN)",
             run_fix.last("val_accuracy") - run_high.last("val_accuracy") >= 0.25)
report.claim(f"the fixed model reaches >= {lab.profile.threshold('fixed_model'):.0%} "
             "test accuracy", fixed_test.accuracy >= lab.profile.threshold("fixed_model"))
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
# Predict first, then expand and run the solution cell under each exercise.
#
# 1. Re-run the range test on the same fresh network compiled with SGD (momentum 0.9). Is its
#    suggested rate the same as Adam's? Higher or lower, and by how much?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the same range test, the network compiled with SGD.
sgd_fresh = scratch.build_scratch(data, network=scratch.FORUM,
                                  fit=FIT.replace(seed=lab.seed, optimizer="sgd"))
sgd_lrs, sgd_losses = train.lr_range_test(sgd_fresh, data.x_train, data.y_train, min_lr=1e-6,
                                          max_lr=1.0, steps=100, seed=lab.seed)
sgd_suggested = train.suggest_lr(sgd_lrs, sgd_losses)
print(f"suggested lr: Adam {suggested:.2g}, SGD {sgd_suggested:.2g} "
      f"(SGD's is {sgd_suggested / suggested:.0f}x Adam's)")
plots.plot_lr_range(sgd_lrs, sgd_losses, sgd_suggested);
# Adam divides each step by a running estimate of the gradient's size, so its step is roughly
# lr per weight; SGD's step is lr x gradient (plus momentum), so its useful rate depends on how
# large the gradients are. Each optimizer has its own scale: a rate copied from one to the
# other is a guess, the range test a measurement.

# %% [markdown]
# 2. In the panel, find the largest learning rate that still learns. How close is it to the
#    lowest-loss rate of the range test (section 4)?
# 3. Replace the cosine decay with `keras.callbacks.ReduceLROnPlateau(patience=1)` and a
#    constant rate. Does the callback ever cut the rate in this run? Predict, then look at
#    `run.history["learning_rate"]`.

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the plateau callback on a constant rate; the rate of every epoch.
plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.3, patience=1)
_, plateau_run = scratch.train_scratch(
    data, name="plateau", network=scratch.FORUM,
    fit=FIT.replace(lr=suggested, callbacks=(plateau,), progress=False))
rates = plateau_run.history["learning_rate"]
print("learning rate per epoch:", ", ".join(f"{lr:.1e}" for lr in rates))
print("validation loss per epoch:", ", ".join(f"{v:.3f}" for v in plateau_run.history["val_loss"]))
print(f"the callback cut the rate {sum(b < a for a, b in zip(rates, rates[1:], strict=False))} time(s)")
# It cuts only after an epoch whose validation loss did not improve on the best so far; in a
# short run whose validation loss keeps falling it never acts. A schedule always does.

# %% [markdown]
# ## 9 · Takeaways
#
# - A loss frozen at ln(classes) and accuracy at chance is one common sign of an LR too high
#   (dead ReLUs); raw pixels with SGD (lesson 01) and a wrong head (lesson 08) can look the
#   same. A loss that barely moves is an LR too low.
# - Measure the LR with a range test instead of copying one, and decay it with a schedule
#   (`keras.optimizers.schedules.CosineDecay`).
# - Legacy code from the wild: `Adam(lr=0.01)` raises an error in Keras 3 (the argument is
#   `learning_rate=`); `keras.callbacks.LearningRateScheduler` still works, but Keras 3 prefers
#   schedules from `keras.optimizers.schedules`.
#
# Further reading: Smith, *Cyclical Learning Rates for Training Neural Networks* (2015);
# [Keras: ReduceLROnPlateau](https://keras.io/api/callbacks/reduce_lr_on_plateau/).

# %%
print(lab.elapsed())
