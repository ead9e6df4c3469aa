# %% [markdown]
# # 08 · A head or a loss that does not match the task
#
# **What you will see.** Four things must agree in a classifier: the last layer's **units**, its
# **activation**, the **loss** (and its `from_logits`), and the **label format**; a fifth, the
# **metric**, decides what you are told. We train the same frozen pretrained base with a series
# of heads and losses found in the wild and print, for each, what Keras *reported* next to the
# **true** test accuracy (the top output against the label). You will see:
#
# - a model whose reported "accuracy" (binary accuracy, the classic of binary cross-entropy
#   with 10 classes) is far above how often it is right, and where 90% is what a head that
#   always says "no" would score;
# - a `from_logits` mismatch that silently costs many points, and a copied binary head stuck at
#   chance;
# - three mismatches that, measured, do **not** hurt in Keras 3 with TensorFlow, why, and what
#   one of them (a softmax applied twice) costs when nothing repairs it;
# - errors Keras raises for the wrong label format or too few units, caught and explained.
#
# Every number below is computed by this notebook when you run it.
#
# **Contents**
#
# - [1 · The code as found in the wild](#1-·-The-code-as-found-in-the-wild) (every variant)
# - [2 · Run it: what Keras reported and what is true](#2-·-Run-it:-what-Keras-reported-and-what-is-true)
# - [3 · Diagnose](#3-·-Diagnose): what binary accuracy counts; sigmoid vs softmax outputs; a
#   linear head with `from_logits=False`; a one-unit sigmoid head; the errors Keras raises
# - [4 · The fix](#4-·-The-fix), [5 · Side by side](#5-·-Side-by-side),
#   [6 · Check: the lesson holds on this run](#6-·-Check:-the-lesson-holds-on-this-run)
# - [7 · Try it yourself](#7-·-Try-it-yourself), [8 · Exercises](#8-·-Exercises),
#   [9 · Takeaways](#9-·-Takeaways)

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

from labkit import lessondata, panels, plots, reference, report, transfer
from labkit.lessons import head_and_loss
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
EPOCHS = lab.profile.head_epochs
HEAD_FIT = FitSettings(epochs=EPOCHS, seed=lab.seed, progress=False)  # Adam, lr 1e-3, batch 64
CHANCE = 1 / data.n_classes
base, caffe = transfer.lesson_base(lab.profile)
feats = transfer.features(base, data, caffe, size=lab.profile.base_size)
print(f"frozen-base features per image: {feats.train.shape[1]}; each head trains on these")

# %% [markdown]
# ## 1 · The code as found in the wild
#
# ```python
# model.add(Dense(10, activation="sigmoid"))                  # "sigmoid gives probabilities"
# model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
# model.fit(x, keras.utils.to_categorical(y), ...)            # "accuracy: 0.91"
#
# model.add(Dense(10))                                         # logits: no activation
# model.compile(loss="sparse_categorical_crossentropy", ...)  # but from_logits defaults to False
#
# model.add(Dense(1, activation="sigmoid"))                   # copied from a cats-vs-dogs tutorial
# ```
#
# Each variant below is one head (a single `Dense` layer on the frozen base's features, so each
# trains in seconds) compiled and fitted the way its name says. **Ported to Keras 3:** in Keras up
# to 2.3 (and `tf.keras` in TensorFlow 1), `metrics=["accuracy"]` with
# `loss="binary_crossentropy"` silently meant *binary* accuracy; `tf.keras` in TensorFlow 2 and
# Keras 3 pick the accuracy from the shapes instead. So the binary cross-entropy variants ask for `"binary_accuracy"` by name,
# which is what that old code computed; section 3 shows what Keras 3's `"accuracy"` gives.

# %%
WILD = [name for name, v in head_and_loss.HEAD_VARIANTS.items() if not v.matches]
for name in WILD:
    variant = head_and_loss.HEAD_VARIANTS[name]
    print(f"{name}: {variant.what}\n    {variant.code(data.n_classes)}")

# %% [markdown]
# ## 2 · Run it: what Keras reported and what is true
#
# "Keras' metric" is `model.evaluate(x_test, y_test)` with the metric the variant compiled with;
# "true accuracy" is the share of test images whose highest output is the right class
# (`labkit.train.evaluate`). A variant Keras refuses shows the error it raised.

# %%
wild = head_and_loss.train_variants(feats, data, WILD, fit=HEAD_FIT)
head_and_loss.plot_reported_vs_true(wild, title="Heads and losses from the wild (test set)");

# %% [markdown]
# ## 3 · Diagnose
#
# ### What binary accuracy counts
#
# `binary_accuracy` thresholds each of the 10 outputs at 0.5 and compares it with the one-hot
# label, so it scores 10 yes/no answers per image. Nine of the ten answers are "no" for every
# image: a head that always says "no" already scores 90%.

# %%
bce = wild["sigmoid + binary CE"]
probs = bce.head.predict(feats.test, verbose=0)
onehot = head_and_loss.labels_as(data.y_test, "one-hot", data.n_classes)
always_no = head_and_loss.binary_accuracy(onehot, np.zeros_like(probs))
print(f"binary accuracy of the trained head:              {head_and_loss.binary_accuracy(onehot, probs):.1%}")
print(f"binary accuracy of a head that always says 'no':  {always_no:.1%}")
print(f"arg-max accuracy of the trained head:             {head_and_loss.argmax_accuracy(data.y_test, probs):.1%}")
above = (probs > 0.5).sum(axis=1)
print(f"test images with no output above 0.5: {np.mean(above == 0):.0%}, "
      f"with exactly one: {np.mean(above == 1):.0%}, with several: {np.mean(above > 1):.0%}")
bce.head.compile(loss="binary_crossentropy", metrics=["accuracy"])  # same weights, Keras 3 'accuracy'
keras3 = bce.head.evaluate(feats.test, onehot, verbose=0, return_dict=True)["accuracy"]
print(f"Keras 3 metrics=['accuracy'] on the same head (picked from the shapes): {keras3:.1%}")

# %% [markdown]
# The head itself is not bad: trained as ten yes/no problems, its arg-max is about as good as a
# softmax head's (section 5). What is wrong is the number you were shown. Keras 3 chooses
# categorical accuracy for 10 outputs and one-hot labels, so `"accuracy"` is honest there; name
# the metric you mean anyway (`SparseCategoricalAccuracy`, `CategoricalAccuracy`).
#
# ### Sigmoid outputs are not a distribution; softmax outputs are

# %%
sigmoid_sparse = wild["sigmoid + sparse CE"]
for name, outputs in {
    "sigmoid + sparse CE": sigmoid_sparse.head.predict(feats.test, verbose=0),
    "softmax + binary CE": wild["softmax + binary CE"].head.predict(feats.test, verbose=0),
}.items():
    summary = head_and_loss.output_summary(outputs)
    print(f"{name:<22} row sums: min {summary['sum min']:.2f}, mean {summary['sum mean']:.2f}, "
          f"max {summary['sum max']:.2f}")

# %% [markdown]
# The sigmoid head's ten outputs do not sum to 1, yet sparse cross-entropy treats them as one
# distribution, and the forums say this ruins training. Here it did not (section 2): **Keras 3 on
# TensorFlow** keeps the logits under every `softmax` and `sigmoid` it computes, and its
# cross-entropies use those logits when they find them. So the three "rescued" mismatches train
# exactly like right pairings: sigmoid + sparse CE and the double softmax like a softmax + sparse
# CE head (section 5), softmax + binary CE like sigmoid + binary CE. Compare the training losses:

# %%
pairs = [("sigmoid + sparse CE", "softmax + sparse CE(from_logits=True)"),
         ("softmax + binary CE", "sigmoid + binary CE")]
for a, b in pairs:
    la, lb = wild[a].run.history["loss"], wild[b].run.history["loss"]
    print(f"{a:<38} train loss {la[0]:.3f} -> {la[-1]:.3f}")
    print(f"{b:<38} train loss {lb[0]:.3f} -> {lb[-1]:.3f}   identical: {np.allclose(la, lb)}")

# %% [markdown]
# The rescue depends on the tensor reaching the loss: the same probabilities as a plain array, or
# as the output of any layer placed after the softmax, get no rescue, and a softmax applied twice
# caps how low the loss can go. Keras' JAX and PyTorch backends do not look for cached logits at
# all (we read their source; this notebook runs TensorFlow only).

# %%
logits = keras.ops.convert_to_tensor(np.array([[9.0] + [0.0] * 9], "float32"))
softmaxed = keras.activations.softmax(logits)  # a tensor that still carries its logits
double = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
label = np.array([0])
print(f"probability of the right class: {float(softmaxed[0, 0]):.3f}")
print(f"from_logits=True on the softmax tensor (rescued):  loss {float(double(label, softmaxed)):.4f}")
print(f"from_logits=True on the same values as an array:   "
      f"loss {float(double(label, keras.ops.convert_to_numpy(softmaxed))):.4f}")
floor = float(double(label, np.eye(1, data.n_classes, dtype='float32')))
print(f"double softmax, even a perfect prediction [1, 0, ..., 0] costs {floor:.3f}: the floor")

# %% [markdown]
# The variant "no rescue" in section 2 is the same double softmax with one no-op layer
# (`Rescaling(1.0)`) after it, so the loss gets plain probabilities, as it would on JAX or
# PyTorch. Its loss can never reach zero (the floor printed above):

# %%
norescue = wild["softmax + sparse CE(from_logits=True), no rescue"]
rescued = wild["softmax + sparse CE(from_logits=True)"]
print(f"no rescue: train loss {norescue.run.history['loss'][0]:.3f} -> "
      f"{norescue.run.last('loss'):.3f} (floor {floor:.3f}); "
      f"true test accuracy {norescue.true_accuracy:.1%}")
print(f"rescued:   train loss {rescued.run.history['loss'][0]:.3f} -> "
      f"{rescued.run.last('loss'):.3f}; true test accuracy {rescued.true_accuracy:.1%}")

# %% [markdown]
# A second softmax squeezes every output into a narrow range (the largest possible probability
# for 10 classes is e / (e + 9)), so the loss never gets near 0 and the gradients that would
# separate the classes are small: the head learns, slowly. Compare the two test accuracies
# above: on these features the slow head still ends close to the fix after this many epochs,
# so the cost shows in the loss and in the probabilities (useless as confidences), more than in
# the arg-max.

# %% [markdown]
# ### A linear head with `from_logits=False`: the loss clips the logits

# %%
linear = wild["linear + sparse CE(from_logits=False)"]
labkit.config.seed_everything(lab.seed)  # the same initial weights as the run in section 2
untrained = head_and_loss.build_head(feats.train.shape[1], data.n_classes, linear.variant)
for when, head in (("before training", untrained), ("after training", linear.head)):
    share = head_and_loss.output_summary(head.predict(feats.test, verbose=0))["outside (0, 1)"]
    print(f"{when}: {share:.1%} of the outputs lie outside (1e-7, 1 - 1e-7), "
          "where the clip passes no gradient")
print(f"train loss {linear.run.history['loss'][0]:.3f} -> {linear.run.last('loss'):.3f}; "
      f"true test accuracy {linear.true_accuracy:.1%}")

# %% [markdown]
# With `from_logits=False` the loss assumes probabilities and clips them into [1e-7, 1 - 1e-7]
# before the log. Raw logits are mostly negative or above 1: they are clipped, their gradient is
# zero, and the head learns only from the few outputs that happen to land inside the interval,
# fewer and fewer as training pushes them out. Keras finds no cached logits to rescue here: the
# head has no activation.
#
# ### A one-unit sigmoid head for 10 classes: a negative loss

# %%
single = wild["Dense(1, sigmoid) + binary CE"]
print(f"train loss {single.run.history['loss'][0]:.1f} -> {single.run.last('loss'):.1f} "
      "(a cross-entropy can never be negative)")
print("predictions per class:", np.bincount(single.head.predict(feats.test, verbose=0)
                                             .argmax(-1), minlength=data.n_classes).tolist())
print(f"Keras' 'accuracy' here is binary accuracy (one output): {single.reported:.1%}; "
      f"share of class-1 test images: {np.mean(data.y_test == 1):.1%}")
print(f"true accuracy {single.true_accuracy:.1%}, chance {CHANCE:.0%}")

# %% [markdown]
# Binary cross-entropy expects targets of 0 or 1. With integer labels up to 9 its
# `-(y log p + (1 - y) log(1 - p))` has no minimum: the loss falls for ever as the single output
# goes to 1 (its logit grows without bound) for every image. The arg-max of one column is always
# class 0. The binary accuracy Keras reports compares each label with the output rounded to 0 or
# 1; with the output at 1 for every image, only the images labelled 1 count as right.
#
# ### The errors Keras raises, caught

# %%
for name in ("one-hot labels + sparse CE", "int labels + categorical CE", "Dense(9) for 10 classes"):
    print(f"{name}:\n    {wild[name].error or 'no error: ' + wild[name].line()}")

# %% [markdown]
# - **One-hot labels with sparse CE**: "sparse" means one integer per image, shape `(n,)`; a
#   one-hot `(n, 10)` label has one dimension too many. Use `categorical_crossentropy`, or keep
#   integer labels.
# - **Integer labels with categorical CE**: the reverse; pass `keras.utils.to_categorical(y)` or
#   switch to `sparse_categorical_crossentropy`.
# - **`Dense(9)` for 10 classes**: label 9 asks for output number 9 of 0..8. On a CPU,
#   TensorFlow's sparse cross-entropy raises as soon as a batch holds a 9. On a GPU it does not
#   check: TensorFlow's documentation of `sparse_softmax_cross_entropy_with_logits` says invalid
#   labels give a NaN loss there. This notebook ran on the device printed in the first cell.
#   The same happens with labels numbered 1..10 and `Dense(10)`.
#
# ## 4 · The fix
#
# One probability per class (`Dense(n_classes)`), a loss that matches the labels, and a metric
# named for what you mean:
#
# ```python
# Dense(n_classes, activation="softmax")
# model.compile(loss="sparse_categorical_crossentropy",            # integer labels 0..n-1
#               metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
# # or: Dense(n_classes) + SparseCategoricalCrossentropy(from_logits=True)  (logits out)
# # one-hot labels: categorical_crossentropy + CategoricalAccuracy
# ```

# %%
fixed = head_and_loss.train_variants(feats, data, head_and_loss.FIXES, fit=HEAD_FIT)
fix = fixed["softmax + sparse CE"]
print(fix.line())

# %% [markdown]
# A head on frozen features is where the transfer recipe starts, not where it ends. Its weak
# spot here is the colour pairs (red vs blue disc, yellow vs cyan square): the base was
# pretrained on shapes in random colours, so its last block barely keeps colour. The recipe's
# last step (the Keras transfer-learning guide's) fine-tunes every block at a low learning rate
# with the trained head on top, so the base can relearn what this task needs. Two epochs:

# %%
images = transfer.prepare(data, caffe, size=lab.profile.base_size)
tuned_model, tuned_run, tuned = transfer.fine_tune_after_head(lab.profile, fix.head, images, data,
                                                               seed=lab.seed)
names = list(data.class_names)
print(f"softmax head on frozen features: test accuracy {fix.true_accuracy:.1%}")
print(f"then every block fine-tuned at {transfer.FINE_TUNE_FIT.lr:g} for "
      f"{transfer.FINE_TUNE_FIT.epochs} epochs: {tuned}")
for i in range(4):  # the colour pairs
    print(f"  {names[i]:<14} recall: head only {fix.scores.per_class_recall[i]:.0%}, "
          f"fine-tuned {tuned.per_class_recall[i]:.0%}")

# %% [markdown]
# ## 5 · Side by side

# %%
everything = {**fixed, **wild}
for result in everything.values():
    print(result.line())
head_and_loss.plot_reported_vs_true(everything, title="All heads and losses (test set)")
show = ["softmax + sparse CE", "linear + sparse CE(from_logits=False)",
        "softmax + sparse CE(from_logits=True), no rescue", "sigmoid + binary CE"]
plots.plot_curves([everything[n].run for n in show], metrics=("true_accuracy", "binary_accuracy"),
                  title="True accuracy per epoch (left); what Keras printed for sigmoid + binary CE"
                        " (right)");
plots.plot_side_by_side({"as found: linear + from_logits=False": linear.scores,
                         "fixed: softmax + sparse CE": fix.scores,
                         "fixed, then fine-tuned": tuned}, data.class_names,
                        reference=reference.line(data, lab.seed),
                        title="Wrong head or loss vs the fix (test set)");

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
t = lab.profile.threshold
verdict = report.check_lesson(lab, "head_and_loss", metric="test accuracy",
                              failure=linear.true_accuracy, fix=fix.true_accuracy)
report.check_lesson(lab, "head_and_loss", case="fixed, then fine-tuned", metric="test accuracy",
                    failure=linear.true_accuracy, fix=tuned.accuracy)
reported_gap = bce.reported - bce.true_accuracy
rescued_gap = max(abs(wild[a].true_accuracy - fix.true_accuracy)
                  for a in ("sigmoid + sparse CE", "softmax + sparse CE(from_logits=True)"))
print(f"binary accuracy over-reports by {100 * reported_gap:.1f} points; "
      f"rescued variants within {100 * rescued_gap:.1f} points of the fix")

# %%
# NBVAL_CHECK_OUTPUT
report.claim(f"binary_accuracy over-reports the true accuracy by >= "
             f"{100 * t('head_and_loss.reported_gap'):.0f} points",
             reported_gap >= t("head_and_loss.reported_gap"))
report.claim("a head that always says 'no' scores 90% binary accuracy",
             abs(always_no - (1 - CHANCE)) < 1e-6)
report.claim("double softmax without the rescue ends at a higher training loss than the fix",
             norescue.run.last("loss") > fix.run.last("loss"))
report.claim("Dense(1, sigmoid) + binary CE ends within 5 points of chance",
             single.true_accuracy <= CHANCE + 0.05)
report.claim(f"Keras 3 (TF) rescues sigmoid + sparse CE and double softmax: within "
             f"{100 * t('head_and_loss.rescued_gap'):.0f} points of the fix",
             rescued_gap <= t("head_and_loss.rescued_gap"))
report.claim("one-hot labels with sparse CE raise ValueError",
             (wild["one-hot labels + sparse CE"].error or "").startswith("ValueError"))
report.claim("integer labels with categorical CE raise ValueError",
             (wild["int labels + categorical CE"].error or "").startswith("ValueError"))
nine = wild["Dense(9) for 10 classes"]
report.claim("Dense(9) for 10 classes raises, or trains to a NaN loss",
             nine.failed or not np.isfinite(nine.run.last("loss")))
report.claim(f"the fixed head on frozen features reaches >= {t('fixed_model.frozen_head'):.0%} "
             "test accuracy", fix.true_accuracy >= t("fixed_model.frozen_head"))
report.claim(f"fine-tuned after the head, the fixed model reaches >= {t('fixed_model'):.0%} test "
             "accuracy", tuned.accuracy >= t("fixed_model"))
print(f"fix beats linear + from_logits=False by >= {100 * verdict.min_margin:.0f} points: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Pick a head + loss, click **Train**. The curves show the **true** (arg-max) validation
# accuracy whatever the variant reports; a variant Keras refuses stops with its error in the
# status line. Try the linear head with `from_logits=False` at a 10x larger learning rate: does
# it catch up?

# %%
# NBVAL_IGNORE_OUTPUT
panels.head_and_loss_panel(lab, data, feats, variant="linear + sparse CE(from_logits=False)")

# %% [markdown]
# ## 8 · Exercises
#
# Predict first, then expand and run the solution cell under each exercise.
#
# 1. Train `"sigmoid + binary CE"` and compile it with `metrics=["accuracy", "binary_accuracy"]`.
#    Which number matches section 2's true (arg-max) accuracy?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: one head, both metrics, and the arg-max truth.
from labkit import train
from labkit.config import seed_everything

seed_everything(lab.seed)
variant = head_and_loss.HEAD_VARIANTS["sigmoid + binary CE"]
two_metrics = head_and_loss.build_head(feats.train.shape[1], data.n_classes, variant)
two_metrics.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                    loss="binary_crossentropy", metrics=["accuracy", "binary_accuracy"])
two_metrics.fit(feats.train, head_and_loss.labels_as(data.y_train, "one-hot", data.n_classes),
                epochs=EPOCHS, batch_size=64, verbose=0)
logged = two_metrics.evaluate(feats.test,
                              head_and_loss.labels_as(data.y_test, "one-hot", data.n_classes),
                              verbose=0, return_dict=True)
truth = train.evaluate(two_metrics, feats.test, data.y_test, data.n_classes).accuracy
print(f"test: 'accuracy' {logged['accuracy']:.1%}, 'binary_accuracy' "
      f"{logged['binary_accuracy']:.1%}, arg-max truth {truth:.1%}")
# With 10 outputs and one-hot labels, Keras 3 resolves "accuracy" to categorical accuracy (the
# arg-max against the label); binary_accuracy thresholds each output on its own (section 3).

# %% [markdown]
# 2. What is the lowest loss a double softmax allows for 2 classes, and for 100? Why does the
#    mistake hurt more with more classes?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: a perfect prediction [1, 0, ..., 0] through a second softmax, then its loss.
for n in (2, 10, 100):
    perfect = np.eye(n, dtype="float32")[:1]
    twice = keras.ops.convert_to_numpy(keras.ops.softmax(perfect))
    floor = float(keras.losses.sparse_categorical_crossentropy(np.array([0]), twice)[0])
    print(f"{n:>3} classes: the lowest loss is {floor:.3f} "
          f"(log(1 + (n - 1) / e) = {np.log1p((n - 1) / np.e):.3f}); the right class gets "
          f"{twice[0, 0]:.1%} at best")
# The second softmax turns [1, 0, ..., 0] into e / (e + n - 1) for the right class: with many
# classes that is almost uniform, so the gradient separating the right class almost vanishes.

# %% [markdown]
# 3. Labels numbered 1..10 (`y + 1`) with `Dense(10)`: what happens, and what two fixes exist?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: fit on labels 1..10.
one_based = head_and_loss.build_head(feats.train.shape[1], data.n_classes,
                                     head_and_loss.HEAD_VARIANTS["softmax + sparse CE"])
print("labels 1..10, Dense(10):", report.raised(
    lambda: one_based.fit(feats.train, data.y_train + 1, epochs=1, batch_size=64, verbose=0)))
# Label 10 has no output. On a CPU the loss raises (on a GPU it can give NaN losses instead).
# Fixes: subtract 1 from the labels (best), or use Dense(11) and never predict output 0.

# %% [markdown]
# ## 9 · Takeaways
#
# - Multi-class, one label per image: `Dense(n_classes, "softmax")` +
#   `sparse_categorical_crossentropy` on integer labels (or `categorical_crossentropy` on one-hot
#   labels), or a linear `Dense(n_classes)` + `from_logits=True`.
# - Sigmoid + binary cross-entropy is for **multi-label** tasks (several yes/no per image); its
#   binary accuracy is ~90% for 10 classes before learning anything. Judge a classifier by the
#   arg-max accuracy, and name the metric (`SparseCategoricalAccuracy`) instead of `"accuracy"`.
# - A linear head needs `from_logits=True`. A loss below zero means the labels are not what the
#   loss expects.
# - The right head on frozen features is the start of the transfer recipe; fine-tuning every
#   block at a low learning rate after it ends at a model that works (section 4).
# - Keras 3 with TensorFlow quietly rescues some mismatches (it keeps the logits under softmax
#   and sigmoid, and warns on `from_logits=True` after a softmax); do not rely on it: other
#   backends and other code paths do not.
# - Errors about `target.shape`/`output.shape` or `indices[...] = 9 is not in [0, 9)` mean the
#   labels, the loss and the number of units disagree.
#
# Further reading: [Keras losses](https://keras.io/api/losses/probabilistic_losses/);
# [Keras accuracy metrics](https://keras.io/api/metrics/accuracy_metrics/);
# [tf.nn.sparse_softmax_cross_entropy_with_logits](https://www.tensorflow.org/api_docs/python/tf/nn/sparse_softmax_cross_entropy_with_logits)
# (CPU raises, GPU returns NaN for a label without an output; see also
# [tensorflow#8484](https://github.com/tensorflow/tensorflow/issues/8484)).

# %%
print(lab.elapsed())
