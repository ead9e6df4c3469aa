# %% [markdown]
# # 10 · BatchNorm when fine-tuning
#
# **What you will see.** Most modern bases (ResNet, EfficientNet, MobileNet, ConvNeXt's cousins)
# contain `BatchNormalization` layers. Each keeps *moving statistics* (a mean and a variance per
# channel) learned on the pretraining data. While training, a BatchNorm layer normalises with the
# statistics of the current batch and keeps updating its moving ones; at prediction time it uses
# the moving ones.
#
# The recipe of the Keras transfer-learning guide for fine-tuning such a base says: freeze it,
# train a head, unfreeze it at a very low learning rate, and call the base with `training=False`
# "so BatchNorm stays in inference mode". **In Keras 3.0-3.15 that last line does not do what it
# says inside `fit`** (keras-team/keras#20285): the BatchNorm layers of the unfrozen base
# normalise with batch statistics and overwrite the pretrained ones. Upstream Keras honours
# `training=False` again from 3.16 (keras-team/keras#23364); there the same damage comes from the
# many snippets that call the base plainly (`base(inputs)`, `Sequential([base, head])`). The
# notebook asks the installed Keras which world it is in and runs the failing code of that world.
# We measure what it costs, diagnose it, and fix it the way that works in every Keras 3: by
# freezing the BatchNorm layers themselves.
#
# This lesson's base is the profile's BatchNorm-bearing backbone (`lab.profile.bn_backbone`:
# MiniVGG-BN offline, ResNet50 with ImageNet weights in the full profile). Every number below is
# computed by this notebook when you run it.

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

from labkit import lessondata, models, panels, plots, reference, report, train, transfer
from labkit.lessons import batchnorm
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
LR, BATCH, EPOCHS = 1e-5, 8, 3  # the guides' fine-tuning LR; a small, memory-bound batch
FINE_FIT = FitSettings(epochs=EPOCHS, lr=LR, batch_size=BATCH, seed=lab.seed)  # Adam
SIZE = lab.profile.base_size

def fresh_base():
    """The pretrained BatchNorm base, freshly loaded (each run fine-tunes its own copy)."""
    return transfer.lesson_base(lab.profile, batchnorm=True)

base, caffe = fresh_base()
print(f"{base.name}: {len(models.batchnorm_layers(base))} BatchNormalization layers")

# %% [markdown]
# ## 1 · The code as found in the wild
#
# The fine-tuning recipe of the Keras transfer-learning guide, as it is copied today:
#
# ```python
# base = keras.applications.ResNet50(include_top=False, weights="imagenet")
# base.trainable = False
# inputs = keras.Input((224, 224, 3))
# x = base(inputs, training=False)          # "keeps BatchNorm in inference mode"
#                                           # (or, in many snippets, just base(inputs))
# outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(x))
# model = keras.Model(inputs, outputs)
# model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=..., metrics=["accuracy"])
# model.fit(train_ds, epochs=15)            # stage 1: the head only
#
# base.trainable = True                     # stage 2: fine-tune everything
# model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=..., metrics=["accuracy"])
# model.fit(train_ds.batch(8), epochs=3)    # big images, small GPU: a small batch
# ```
#
# ## 2 · Run it
#
# Stage 1 trains the head on the frozen base's features (cached, so it takes seconds; a frozen
# BatchNorm layer runs in inference mode, so this is exactly what stage 1 above computes).

# %%
feats = transfer.features(base, data, caffe, size=SIZE)
head, head_run = transfer.train_head(
    feats, data, name="head only",
    fit=FitSettings(epochs=lab.profile.head_epochs, seed=lab.seed, progress=False))
head_test = train.evaluate(head, feats.test, data.y_test, data.n_classes)
print(f"stage 1, head on the frozen base: test {head_test}")

# %% [markdown]
# Stage 2: unfreeze and fine-tune. `batchnorm.finetune_with_batchnorm(..., bn="updating")`
# builds the model above, calling the base the way that fails in the installed Keras: with the
# recipe's `training=False` where `fit` ignores it (Keras 3.0-3.15), plainly where `fit` honours
# it. The line it uses here:

# %%
print(f"Keras {keras.__version__}: the code as found calls `{batchnorm.wild_call()}`")
images = transfer.prepare(data, caffe, size=SIZE)

base_a, _ = fresh_base()
updating = batchnorm.finetune_with_batchnorm(
    base_a, models.copy_model(head), images, data, bn="updating", name="fine-tune, BN updating",
    fit=FINE_FIT)
updating_test = train.evaluate(updating.model, images.test, data.y_test, data.n_classes)
print(f"stage 2, BatchNorm updating: test {updating_test}")
print(f"fine-tuning gained {100 * (updating_test.accuracy - head_test.accuracy):+.1f} points "
      "over the head alone")

# %% [markdown]
# Fine-tuning the whole base at the recommended learning rate gained little over the head alone.
# Is fine-tuning useless here, or is something undoing it?
#
# ## 3 · Diagnose
#
# First: does `training=False` keep BatchNorm in inference mode in this Keras? A two-second probe
# (run once, before stage 2 chose its code) builds a one-layer BatchNorm base, calls it with
# `training=False` inside a functional model, fits one epoch, and checks whether the moving mean
# moved:

# %%
ignored = batchnorm.training_false_is_ignored()
print(f"Keras {keras.__version__}: fit overrides base(x, training=False): {ignored}")
print(f"BatchNorm layers still trainable in the fine-tuned base: "
      f"{sum(layer.trainable for layer in models.batchnorm_layers(base_a))}")
print(f"moving variances changed by {updating.drift:.1%} (median over layers) in {EPOCHS} epochs")
plots.plot_bars(updating.drift_by_layer, title="How far each BatchNorm layer's moving variance "
                "moved (BN updating)", ylabel="median relative change", fmt="{:.0%}");

# %% [markdown]
# `fit` calls the model with `training=True`. In Keras 3.0-3.15 a functional model passes that
# value to every layer that takes a `training` argument, nested bases included, overriding the
# `False` recorded when the model was built; a base called plainly gets it in every version. So
# while fine-tuning, whenever the BatchNorm layers are trainable:
#
# - every BatchNorm layer normalises with the statistics of its batch of `BATCH` images, not the
#   pretrained ones the head was trained with, so the features the head sees shift the moment
#   stage 2 starts (the first epoch below is worse than the head alone), and stay noisy from batch
#   to batch;
# - the moving statistics are overwritten step by step, so the network evaluated afterwards is
#   normalised differently again from how it was trained.
#
# The convolutions spend the low learning rate chasing these shifts instead of adapting to the
# new task. Compare the first fine-tuning epoch with where stage 1 ended:

# %%
first_epoch = updating.run.history["val_accuracy"][0]
print(f"val accuracy: end of stage 1 {head_run.last('val_accuracy'):.1%}, "
      f"after the first fine-tuning epoch {first_epoch:.1%}")

# %% [markdown]
# ## 4 · The fix: freeze the BatchNorm layers, train everything else
#
# In Keras 3 a BatchNorm layer with `trainable = False` runs in inference mode (its moving
# statistics, never updated), whatever `training` says. Set it on the BatchNorm layers only,
# after unfreezing the base and before compiling:
#
# ```python
# base.trainable = True
# for layer in base.layers:                 # ResNet50's layers are flat; recurse for nested models
#     if isinstance(layer, keras.layers.BatchNormalization):
#         layer.trainable = False
# model.compile(optimizer=keras.optimizers.Adam(1e-5), loss=..., metrics=["accuracy"])
# ```
#
# `batchnorm.freeze_batchnorm(base)` does that (nested models included); `bn="frozen"` calls it.

# %%
base_b, _ = fresh_base()
frozen = batchnorm.finetune_with_batchnorm(
    base_b, models.copy_model(head), images, data, bn="frozen", name="fine-tune, BN frozen",
    fit=FINE_FIT)
frozen_test = train.evaluate(frozen.model, images.test, data.y_test, data.n_classes)
print(f"stage 2, BatchNorm frozen: test {frozen_test}")
print(f"moving variances changed by {frozen.drift:.1%}")

# %% [markdown]
# ## 5 · Side by side

# %%
gain_updating = updating_test.accuracy - head_test.accuracy
gain_frozen = frozen_test.accuracy - head_test.accuracy
summary = {"head only (stage 1)": head_test.accuracy,
           "fine-tune, BN updating": updating_test.accuracy,
           "fine-tune, BN frozen": frozen_test.accuracy}
for name, value in summary.items():
    print(f"{name:<24} test accuracy {value:.1%}")
print(f"fine-tuning gain over the head: {100 * gain_updating:+.1f} points with BatchNorm "
      f"updating, {100 * gain_frozen:+.1f} with it frozen")
plots.plot_side_by_side({"as found: BN updating": updating_test, "fixed: BN frozen": frozen_test},
                        data.class_names, reference=reference.line(data, lab.seed),
                        title=f"Fine-tuning a BatchNorm base (batch {BATCH}, Adam {LR:g})");
for result in (updating, frozen):
    print(f"{result.run.name:<24} last epoch: train accuracy {result.run.last('accuracy'):.1%}, "
          f"val accuracy {result.run.last('val_accuracy'):.1%}")
plots.plot_curves([updating.run, frozen.run], title="Stage 2: BatchNorm updating vs frozen");

# %% [markdown]
# Note the odd training curve of the updating run: its *training* accuracy ends below its
# validation accuracy (see the printed figures). Training-mode accuracy is measured with the
# statistics of each batch of `BATCH` images, validation with the moving statistics: the network
# behaves differently in the two modes, the signature of this failure.
#
# How much this costs depends on the batch size, the learning rate and how far the new data's
# statistics are from the pretraining data's: small batches and low learning rates hurt most.
# With larger learning rates the convolutions adapt to the batch statistics faster and the gap
# shrinks (try it in the panel below). Freezing BatchNorm is also what detection and
# segmentation codebases do ("FrozenBN"), because their batches are tiny.
#
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
t = lab.profile.threshold
verdict = report.check_lesson(lab, "batchnorm", metric="test accuracy",
                              failure=updating_test.accuracy, fix=frozen_test.accuracy)

# %%
# NBVAL_CHECK_OUTPUT
report.claim(f"with the idiom, the moving variances move >= {t('batchnorm.min_drift'):.0%}",
             updating.drift >= t("batchnorm.min_drift"))
report.claim("with the BatchNorm layers frozen, they do not move at all", frozen.drift == 0.0)
report.claim("with BN updating, the first fine-tuning epoch ends below stage 1 (val accuracy)",
             first_epoch < head_run.last("val_accuracy"))
report.claim("with BN updating, training accuracy ends below validation accuracy",
             updating.run.last("accuracy") < updating.run.last("val_accuracy"))
report.claim("with BatchNorm frozen, fine-tuning gains over the head alone", gain_frozen > 0)
report.claim(f"the fixed model reaches >= {t('fixed_model'):.0%} test accuracy",
             frozen_test.accuracy >= t("fixed_model"))
print(f"BN frozen beats BN updating by >= {100 * verdict.min_margin:.0f} points: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Fine-tune a fresh copy of the base and the stage-1 head with BatchNorm updating or frozen.
# Raise the batch size or the learning rate: when does the gap close?

# %%
# NBVAL_IGNORE_OUTPUT
panels.batchnorm_panel(lab, data, images, head, lr=LR, batch_size=BATCH)

# %% [markdown]
# ## 8 · Exercises
#
# 1. Fine-tune with `bn="updating"` at batch 64 instead of 8. Does the gap to `bn="frozen"` grow
#    or shrink, and why? (Use the panel: batch 64, both modes. Bigger batches give steadier
#    batch statistics, and the moving averages track them.)
# 2. Evaluate a copy of `updating.model` on the test set in training mode, batch by batch
#    (`model(x, training=True)`, batches of `BATCH`), and compare with its test accuracy above
#    (inference mode). Which mode scores higher, and why? (Why a copy?) Predict, then run.

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: the updating run's model, scored in training mode, batch by batch, on a copy.
import numpy as np

twin = models.copy_model(updating.model)
preds = np.concatenate([keras.ops.convert_to_numpy(twin(images.test[i:i + BATCH], training=True))
                        for i in range(0, len(images.test), BATCH)]).argmax(1)
print(f"test accuracy, training mode (batches of {BATCH}): {(preds == data.y_test).mean():.1%}; "
      f"inference mode: {updating_test.accuracy:.1%}")
# In training mode each image is normalised with the statistics of the BATCH images it happens
# to share a batch with, so its features depend on its neighbours: that noise is what the
# updating run trained through. A copy, because a training-mode call of a trainable BatchNorm
# layer also updates its moving statistics.

# %% [markdown]
# 3. Unfreeze only the top two blocks (`labkit.models.unfreeze_top_blocks(base, 2)`) with the
#    BatchNorm layers of those blocks updating. Which BatchNorm layers move now? (Only those of
#    block4 and block5: a layer with `trainable=False` runs in inference mode in Keras 3. Check
#    with `batchnorm.moving_statistics` before and after, and `batchnorm.statistics_drift`.)

# %% [markdown]
# ## 9 · Takeaways
#
# - In Keras 3.0-3.15, `base(x, training=False)` inside a functional model does **not** keep
#   BatchNorm in inference mode during `fit` (keras-team/keras#20285); from 3.16 it does, but a
#   base called plainly never does. What works in every Keras 3: `layer.trainable = False` on each
#   BatchNorm layer (or on the whole base, for stage 1).
# - When fine-tuning a BatchNorm base, unfreeze the convolutions and keep BatchNorm frozen,
#   especially with small batches and low learning rates.
# - Check it, don't trust it: compare `moving_mean`/`moving_variance` before and after a fit
#   (`labkit.lessons.batchnorm.moving_statistics`).
# - `labkit.doctor.diagnose` warns when a trainable base has trainable BatchNorm layers.
#
# Further reading: [Keras guide: transfer learning & fine-tuning](https://keras.io/guides/transfer_learning/);
# [Keras: BatchNormalization](https://keras.io/api/layers/normalization_layers/batch_normalization/);
# [keras-team/keras#20285](https://github.com/keras-team/keras/issues/20285).

# %%
print(lab.elapsed())
