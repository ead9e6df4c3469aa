# %% [markdown]
# # 01 · Raw 0-255 pixels and mismatched preprocessing
#
# **What you will see.** Two places where "just feed it the pixels" goes wrong, and one where
# it honestly does not:
#
# - **A from-scratch CNN** fed raw 0-255 pixels: with SGD (momentum 0.9, the classic snippet) it
#   dies at chance level; with Adam it barely cares. We show both, measured.
# - **A pretrained base** (the VGG-style base of this course) fed inputs unlike the ones it was
#   pretrained on: scaled to 0-1 instead of caffe-style, RGB instead of BGR, grayscale, or with
#   preprocessing applied at training time but forgotten at prediction time.
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

from labkit import (evidence, lessondata, models, panels, plots, reference, report, scratch,
                    train, transfer)
from labkit.lessons import preprocessing
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
EPOCHS = lab.profile.epochs
FIT = FitSettings(epochs=EPOCHS, seed=lab.seed)  # Adam, lr 1e-3, batch 64: change per run
CHANCE = 1 / data.n_classes

# %% [markdown]
# ## Part A · A CNN trained from scratch
#
# ### 1 · The code as found in the wild
#
# ```python
# (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()   # uint8, 0-255
# model = keras.Sequential([Conv2D(32, 3, activation="relu"), ..., Dense(10, "softmax")])
# model.compile(optimizer=SGD(learning_rate=0.01, momentum=0.9), loss=..., metrics=[...])
# model.fit(x_train, y_train, epochs=...)        # no scaling anywhere
# ```
#
# labkit's `scratch.FORUM` network is that model (three conv-conv-pool blocks, no
# BatchNorm, global average pooling, softmax); `rescale=False` leaves out the scaling layer.

# %%
sgd_raw_model, sgd_raw = scratch.train_scratch(data, name="SGD, raw 0-255", network=scratch.FORUM,
                                   fit=FIT.replace(lr=0.01, optimizer="sgd"), rescale=False)
_, adam_raw = scratch.train_scratch(data, name="Adam, raw 0-255", network=scratch.FORUM,
                                    fit=FIT.replace(lr=1e-3, optimizer="adam"), rescale=False)

# %% [markdown]
# ### 2 · Run it

# %%
for run in (sgd_raw, adam_raw):
    print(f"{run.name:<18} final val accuracy {run.last('val_accuracy'):.1%}  "
          f"(chance {CHANCE:.0%})")
plots.plot_curves([sgd_raw, adam_raw], title="Raw 0-255 inputs: SGD vs Adam");

# %% [markdown]
# ### 3 · Diagnose
#
# The first convolution multiplies pixels by weights initialised for inputs of size ~1. With
# pixels up to 255, its outputs, and so the first gradients, are ~100x too large: SGD's first
# steps are huge and push most ReLUs to "always off" (a dead network predicts one class). Adam
# divides each step by a running estimate of the gradient's size, so the scale of the inputs
# largely cancels out. Look at what the first layer receives, and inside the SGD network:

# %%
print(evidence.input_stats({"raw pixels": data.x_train[:500],
                            "after Rescaling(1/255)": data.x_train[:500] / 255.0}))
sgd_raw_1, _ = scratch.train_scratch(
    data, name="SGD raw, 1 epoch", rescale=False, network=scratch.FORUM,
    fit=FIT.replace(epochs=1, lr=0.01, optimizer="sgd", progress=False))
print("SGD on raw pixels, predictions per class:",
      evidence.prediction_spread(sgd_raw_1, data.x_val, data.n_classes))
print("dead ReLU channels:", {k: f"{v:.0%}" for k, v in
                              evidence.dead_relu_fraction(sgd_raw_1, data.x_val[:256]).items()})

# %% [markdown]
# ### 4 · The fix: scale inside the model
#
# Put `keras.layers.Rescaling(1/255)` **inside** the model (labkit's `rescale=True`), so
# training, evaluation and any later `model.predict` on raw images all see the same inputs.
# First on the same network, to measure the scaling alone:

# %%
sgd_scaled_model, sgd_scaled = scratch.train_scratch(
    data, name="SGD, Rescaling(1/255)", network=scratch.FORUM,
    fit=FIT.replace(lr=0.01, optimizer="sgd"), rescale=True)
_, adam_scaled = scratch.train_scratch(data, name="Adam, Rescaling(1/255)", network=scratch.FORUM,
                                       fit=FIT.replace(lr=1e-3, optimizer="adam"), rescale=True)

# %% [markdown]
# Scaling makes SGD train, but eight epochs of this small network still leave a model that
# confuses many shapes. A model that works needs the rest of a sound recipe, the one every
# from-scratch fix in this course uses (`scratch.COURSE` and `scratch.COURSE_FIT`):
# BatchNormalization after each convolution, a wider network (32-64-128 filters), and Adam with
# a learning rate that decays along a cosine over 18 epochs, with `Rescaling(1/255)` inside.

# %%
print(f"the course's recipe: {scratch.COURSE}, {scratch.COURSE_FIT}")
fixed_model, fixed_run = scratch.train_scratch(
    data, name="Rescaling + the course's CNN", fit=scratch.COURSE_FIT.replace(seed=lab.seed))
fixed_test = reference.record(data, fixed_model, seed=lab.seed)
print(f"fixed model: {fixed_test}")

# %% [markdown]
# ### 5 · Side by side

# %%
scratch_runs = [sgd_raw, sgd_scaled, adam_raw, adam_scaled, fixed_run]
for run in scratch_runs:
    print(f"{run.name:<30} final val accuracy {run.last('val_accuracy'):.1%}")
sgd_gain = sgd_scaled.last("val_accuracy") - sgd_raw.last("val_accuracy")
adam_gap = abs(adam_scaled.last("val_accuracy") - adam_raw.last("val_accuracy"))
print(f"scaling helps SGD by {100 * sgd_gain:+.1f} points and changes Adam by only "
      f"{100 * adam_gap:.1f} points")
plots.plot_curves(scratch_runs, metrics=("accuracy",), title="Scaling the inputs");

# %%
side = {"as found: raw 0-255, SGD": train.evaluate(sgd_raw_model, data.x_test, data.y_test,
                                                  data.n_classes),
        "Rescaling only (same network)": train.evaluate(sgd_scaled_model, data.x_test,
                                                        data.y_test, data.n_classes),
        "fixed: Rescaling + course's CNN": fixed_test}
for name, scores in side.items():
    print(f"{name:<34} test {scores}")
plots.plot_side_by_side(side, data.class_names, reference=(reference.LABEL, fixed_test.accuracy),
                        title="Raw pixels: as found, scaling alone, fixed");

# %% [markdown]
# Our network ends in global average pooling. Many forum snippets end in `Flatten()` instead,
# which gives every position of the last feature map its own weights into the softmax. Does
# that head make raw pixels hurt under Adam? The same network with `Flatten`
# (`scratch.FORUM_FLATTEN`), raw and scaled:

# %%
flat_runs = {}
for rescale, label in ((False, "raw 0-255"), (True, "Rescaling(1/255)")):
    _, flat_runs[label] = scratch.train_scratch(
        data, name=f"Adam, Flatten head, {label}", network=scratch.FORUM_FLATTEN,
        fit=FIT.replace(lr=1e-3, optimizer="adam", progress=False), rescale=rescale)
flat_gap = abs(flat_runs["Rescaling(1/255)"].last("val_accuracy")
               - flat_runs["raw 0-255"].last("val_accuracy"))
print(f"{'Adam, raw minus scaled, val accuracy':<40}{'raw':>8}{'scaled':>8}{'raw - scaled':>14}")
for head, raw, scaled in (("global average pooling", adam_raw, adam_scaled),
                          ("Flatten", flat_runs["raw 0-255"], flat_runs["Rescaling(1/255)"])):
    raw_acc, scaled_acc = raw.last("val_accuracy"), scaled.last("val_accuracy")
    print(f"{head:<40}{raw_acc:>8.1%}{scaled_acc:>8.1%}{100 * (raw_acc - scaled_acc):>+13.1f}")

# %% [markdown]
# So for this from-scratch CNN with Adam, the raw scale is not what ruins accuracy, with either
# head: raw and scaled end within a few points of each other (the table says by how much, and
# in which direction). Adam divides each step by a running estimate of the gradient's size. With SGD it is the difference between a dead network and a
# working one. The scale still matters for learning-rate choices and above all for pretrained
# models, which is Part B.
#
# ## Part B · A pretrained base fed the wrong inputs
#
# ### 1 · The code as found in the wild
#
# The base (`lab.profile.backbone`) was pretrained on VGG16's caffe-style inputs: 0-255 pixels,
# channels flipped to BGR, ImageNet channel means subtracted
# (`keras.applications.vgg16.preprocess_input`). Code in the wild often does something else:
#
# ```python
# datagen = ImageDataGenerator(rescale=1./255)        # legacy API, and the wrong scaling for VGG16
# img = cv2.imread(path)                              # BGR, then fed as if RGB (or the reverse)
# model.predict(img[None])                            # preprocessing forgotten at prediction time
# ```
#
# And an answer's own "fix", which is itself a bug: the ImageNet mean subtracted by hand from an
# RGB image (the means are VGG16's, listed in R, G, B order; no flip to BGR), so the base gets
# its channels in the wrong order. It is the `RGB order (no BGR flip)` case below:
#
# ```python
# image = tf.cast(tf.image.decode_jpeg(data, channels=3), tf.float32)   # RGB
# image -= np.array([123.68, 116.779, 103.939])                          # "normalize"
# ```
#
# Or ImageNet's mean **and** standard deviation, the PyTorch recipe, fed to a caffe base that
# never saw it (the `ImageNet mean/std (torch-style)` case):
#
# ```python
# image = (image / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]   # RGB, about -2..2
# ```
#
# We resize the images to the resolution the base was trained at (lesson 04 explains why),
# extract features with the frozen base, and train a small softmax head on them.

# %%
base, caffe = transfer.lesson_base(lab.profile)
SIZE = lab.profile.base_size
HEAD_FIT = FitSettings(epochs=lab.profile.head_epochs, seed=lab.seed, progress=False)
right = transfer.features(base, data, caffe, size=SIZE)
head, head_run = transfer.train_head(right, data, name="head on caffe inputs", fit=HEAD_FIT)
right_test = train.evaluate(head, right.test, data.y_test, data.n_classes)
print(f"head trained and tested with the base's own preprocessing: {right_test}")

# %% [markdown]
# ### 2 · Run it: the same head, other preprocessing at prediction time
#
# The head stays as trained; only the preprocessing of the test images changes, as when a
# deployed model gets images prepared by other code.

# %%
mismatch = {}
for name, fn in preprocessing.VARIANTS.items():  # the test images only: the head stays as is
    test_feats = models.extract_features(base, data.x_test, fn, size=SIZE)
    mismatch[name] = train.evaluate(head, test_feats.reshape(len(data.x_test), -1), data.y_test,
                                    data.n_classes)
    print(f"test inputs {name:<30} accuracy {mismatch[name].accuracy:.1%}")
plots.plot_bars({k: v.accuracy for k, v in mismatch.items()},
                title="One head, test images preprocessed six ways", ylabel="test accuracy");

# %% [markdown]
# And the "consistent but wrong" case: scale to 0-1 at training **and** test time. The head can
# adapt, but the frozen base still sees inputs unlike its pretraining.

# %%
wrong = transfer.features(base, data, preprocessing.scale_0_1, size=SIZE)
head_01, head_01_run = transfer.train_head(wrong, data, name="head on 0-1 inputs", fit=HEAD_FIT)
wrong_test = train.evaluate(head_01, wrong.test, data.y_test, data.n_classes)
print(f"0-1 scaling at train and test time: {wrong_test}")
plots.plot_curves([head_run, head_01_run], title="Frozen base + head: caffe vs 0-1 inputs");

# %% [markdown]
# ### 3 · Diagnose: what the base expects versus what it receives
#
# The base's first layer learned its filters on inputs with the statistics in the first row.

# %%
sample = transforms = {name: fn(data.x_train[:256]) for name, fn in preprocessing.VARIANTS.items()}
print(evidence.input_stats({k: np.asarray(v) for k, v in sample.items()}))

# %% [markdown]
# 0-1 inputs vary ~255x less than the inputs the filters were trained on, while the biases stay
# as they were. What reaches each block? Its mean activation, and how much it changes from one
# image to the next (each unit's standard deviation over 256 validation images):

# %%
signal = {name: evidence.image_signal(base, data.x_val[:256], fn, size=SIZE)
          for name, fn in (("caffe", caffe), ("0-1", preprocessing.scale_0_1))}
print(f"{'block':<8}{'mean: caffe':>13}{'0-1':>8}{'spread over images: caffe':>28}{'0-1':>9}")
for block in signal["caffe"]:
    (m_c, s_c), (m_01, s_01) = signal["caffe"][block], signal["0-1"][block]
    print(f"{block:<8}{m_c:>13.3f}{m_01:>8.3f}{s_c:>28.4f}{s_01:>9.4f}")
last_block = list(signal["caffe"])[-1]
spread_ratio = signal["caffe"][last_block][1] / max(signal["0-1"][last_block][1], 1e-12)
print(f"at {last_block}, images differ {spread_ratio:,.0f}x less with 0-1 inputs")

# %% [markdown]
# The activations are not small (the biases keep them going), but they hardly depend on the
# image: with 0-1 inputs every image gets almost the same features, so the head has nothing to
# tell the classes apart by (compare the spreads above). RGB order swaps the means (and the
# colours: this dataset's red disc and blue disc, yellow square and cyan square differ only by
# channel order). Per-class recall shows which classes the RGB mistake hits:

# %%
names = list(data.class_names)
rgb = mismatch["RGB order (no BGR flip)"]
for i, name in enumerate(names):
    print(f"{name:<14} recall: right {right_test.per_class_recall[i]:.0%}  "
          f"RGB order {rgb.per_class_recall[i]:.0%}")
plots.plot_confusion(rgb.confusion, names, title="Test images in RGB order, head trained on BGR");

# %% [markdown]
# ### 4 · The fix
#
# Use the base's own `preprocess_input`, and make it part of the model so no caller can forget
# it. A `keras.layers.Lambda(preprocess_input)` first layer works in a notebook, but a model
# with a Lambda layer does not load back portably: Keras saves a reference to the function
# (or, for an anonymous `lambda`, its bytecode, which the default safe mode refuses to load),
# and saving then serving is exactly where preprocessing gets lost (exercise 2 tries it). Use a small registered layer instead (labkit's `models.caffe_layer()`: a
# `keras.layers.Layer` subclass whose `call` runs `preprocess_input`), or map the function in
# the `tf.data` pipeline that both training and serving use. labkit's `transfer.lesson_base`
# returns the base with its matching function.
#
# `transfer.prepare` + `transfer.fine_tune_after_head` build such a model: it takes the images as
# stored, resizes them and runs the base's own preprocessing inside the model, so a saved copy
# prepares its inputs itself. With the preprocessing right, the recipe's last step (the Keras
# transfer-learning guide's) fine-tunes every block at a low learning rate with the trained head
# on top: the base can then relearn what its frozen features barely keep (here the colours that
# tell the red and blue discs apart).

# %%
images = transfer.prepare(data, caffe, size=SIZE)
tuned_model, tuned_run, tuned = transfer.fine_tune_after_head(lab.profile, head, images, data,
                                                               seed=lab.seed)
print(f"preprocessing inside the model, head then every block fine-tuned: {tuned}")
print("its first layers:", [layer.name for layer in tuned_model.layers[:3]])

# %% [markdown]
# ### 5 · Side by side

# %%
summary = {"caffe at train & test": right_test.accuracy, "0-1 at train & test": wrong_test.accuracy}
summary.update({f"test: {k}": v.accuracy for k, v in mismatch.items() if not k.startswith("caffe")})
for k, v in summary.items():
    print(f"{k:<36} test accuracy {v:.1%}")
worst_name = min(mismatch, key=lambda k: mismatch[k].accuracy)
worst = mismatch[worst_name].accuracy
plots.plot_side_by_side({f"as found: test {worst_name}": mismatch[worst_name],
                         "fixed: caffe at train & test": right_test,
                         "fixed, then fine-tuned": tuned}, data.class_names,
                        reference=(reference.LABEL, fixed_test.accuracy),
                        title="Pretrained base: preprocessing as found vs fixed");

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
t = lab.profile.threshold
verdict = report.check_lesson(lab, "preprocessing", case="SGD", metric="test accuracy",
                              failure=side["as found: raw 0-255, SGD"].accuracy,
                              fix=fixed_test.accuracy)
verdict = report.check_lesson(lab, "preprocessing", case="pretrained", metric="test accuracy",
                              failure=worst, fix=right_test.accuracy)
verdict = report.check_lesson(lab, "preprocessing", case="pretrained, then fine-tuned",
                              metric="test accuracy", failure=worst, fix=tuned.accuracy)

# %%
# NBVAL_CHECK_OUTPUT
report.claim("SGD on raw pixels ends within 5 points of chance",
             sgd_raw.last("val_accuracy") <= CHANCE + 0.05)
report.claim(f"Rescaling alone lifts SGD on the same network by >= "
             f"{100 * t('preprocessing.scaling_alone'):.0f} points",
             sgd_gain >= t("preprocessing.scaling_alone"))
report.claim(f"the fixed model reaches >= {t('fixed_model'):.0%} test accuracy",
             fixed_test.accuracy >= t("fixed_model"))
report.claim(f"the pretrained base, fine-tuned with its own preprocessing, reaches >= "
             f"{t('fixed_model'):.0%} test accuracy", tuned.accuracy >= t("fixed_model"))
report.claim(f"Adam barely cares: raw vs scaled within "
             f"{100 * t('preprocessing.adam_gap'):.0f} points, with either head",
             max(adam_gap, flat_gap) <= t("preprocessing.adam_gap"))
report.claim(f"0-1 inputs to the caffe base lose >= "
             f"{100 * t('preprocessing.consistent'):.0f} points",
             right_test.accuracy - wrong_test.accuracy >= t("preprocessing.consistent"))
report.claim("with 0-1 inputs, images differ >= 100x less at the base's last block",
             spread_ratio >= 100)
report.claim(f"ImageNet mean/std (torch-style) at test time loses >= "
             f"{100 * t('preprocessing.consistent'):.0f} points",
             right_test.accuracy - mismatch["ImageNet mean/std (torch-style)"].accuracy
             >= t("preprocessing.consistent"))
report.claim(f"RGB order at test time loses >= {100 * t('preprocessing.rgb'):.0f} points",
             right_test.accuracy - rgb.accuracy >= t("preprocessing.rgb"))
print("each fix beats its failure by the promised margin: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Retrain the from-scratch CNN: switch the optimizer, the input scale and the learning rate.
# Can you find an SGD learning rate at which raw pixels train? (Hint: divide by ~255.)

# %%
# NBVAL_IGNORE_OUTPUT
panels.scratch_panel(lab, data, title="Input scale x optimizer", optimizer="sgd", lr=0.01,
                     inputs="raw 0-255")

# %% [markdown]
# ## 8 · Exercises
#
# Predict first, then expand and run the solution cell under each exercise.
#
# 1. Train the head on **grayscale** features (train and test; `preprocessing.caffe_gray`,
#    luma as `color_mode="grayscale"` computes it). Which classes lose more recall: the two
#    colour pairs (red/blue disc, yellow/cyan square) or the six shape classes? (The full
#    profile's CIFAR-10 has no colour-pair classes: there the cell prints every class.)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the recall of each class, with colour and without.
from labkit.lessons import channel_order

gray = transfer.features(base, data, preprocessing.caffe_gray, size=SIZE)
gray_head, _ = transfer.train_head(gray, data, name="head on grayscale", fit=HEAD_FIT)
gray_test = train.evaluate(gray_head, gray.test, data.y_test, data.n_classes)
if {n for pair in channel_order.COLOUR_PAIRS for n in pair} <= set(names):  # labkit shapes
    groups = {"colour pairs": channel_order.pair_recall,
              "shape classes": channel_order.other_recall}
    rows = [(group, f(right_test, names), f(gray_test, names)) for group, f in groups.items()]
else:  # no colour-pair classes (CIFAR-10, full profile): one row per class
    rows = [(name, right_test.per_class_recall[i], gray_test.per_class_recall[i])
            for i, name in enumerate(names)]
print(f"{'recall':<16}{'colour':>8}{'grayscale':>11}{'change':>9}")
for label, before, after in rows:
    print(f"{label:<16}{before:>8.0%}{after:>11.0%}{100 * (after - before):>+8.0f}")
print(f"test accuracy: colour {right_test.accuracy:.1%}, grayscale {gray_test.accuracy:.1%}")
# Read the change column. Luma weighs R, G and B differently, so the two classes of a colour
# pair get different grays (lesson 09 prints them) and can stay apart by brightness. The shape
# classes need no colour, yet an object about as bright as its background loses its edges in
# gray.

# %% [markdown]
# 2. Wrap the base so preprocessing is inside the model:
#    `keras.Sequential([keras.Input((64, 64, 3)), models.caffe_layer(), base])`. Save it with
#    `model.save(...)` and load it back: does it still work? Try the same with
#    `keras.layers.Lambda(caffe)`.

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: save and reload both versions.
import tempfile
from pathlib import Path

import keras

for first_layer in ("models.caffe_layer()", "keras.layers.Lambda(caffe)"):
    layer = models.caffe_layer() if first_layer.startswith("models") else keras.layers.Lambda(caffe)
    wrapped = keras.Sequential([keras.Input((SIZE, SIZE, 3)), layer, base])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "wrapped.keras"
        wrapped.save(path)
        failed = report.raised(lambda saved=path: keras.models.load_model(saved), root_cause=True)
    print(f"{first_layer:<28} saved and loaded back: {failed or 'yes'}")
# The registered layer round-trips. The Lambda is saved with a reference to its function only
# (an anonymous `lambda` is saved as bytecode, which Keras' default safe mode refuses to load),
# so the loading code must know the function: that is how preprocessing gets lost on the way
# to serving.

# %% [markdown]
# 3. Test images as raw 0-255 (no mean subtraction, and RGB order: no flip to BGR) scored
#    above 0-1 scaling in section 2. Why? Predict, then compare what reaches the base's last
#    block for the three inputs.

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: mean activation and spread over images at the last block.
signal["raw 0-255"] = evidence.image_signal(base, data.x_val[:256], preprocessing.raw_pixels,
                                            size=SIZE)
for name in ("caffe", "raw 0-255", "0-1"):
    mean, spread = signal[name][last_block]
    print(f"{name:<10} {last_block}: mean {mean:.3f}, spread over images {spread:.4f}")
print(f"test accuracy with the caffe-trained head: raw {mismatch['none (raw 0-255)'].accuracy:.1%}, "
      f"0-1 {mismatch['0-1 scaling'].accuracy:.1%}")
# Raw 0-255 keeps the pixels at the scale the filters were trained on, so images still differ
# at the last block and part of what the head learned still applies; the missing mean
# subtraction and the RGB order shift every activation, and nothing absorbs that shift at test
# time (the base and the head stay as trained), which costs most of the accuracy. 0-1 scaling
# removes the differences between images themselves, which no head can recover.

# %% [markdown]
# ## 9 · Takeaways
#
# - Scale inputs inside the model (`keras.layers.Rescaling`), so every caller gets it.
# - A pretrained base needs **its own** preprocessing (`keras.applications.<model>.preprocess_input`),
#   at training **and** prediction time, in the right channel order: put it inside the model
#   (a registered layer, not a `Lambda`), then fine-tune the base after its head.
# - Legacy code from the wild: `ImageDataGenerator(rescale=1./255)` and
#   `tf.keras.preprocessing.image` are deprecated; use `keras.layers.Rescaling`, augmentation
#   layers, and `keras.utils.image_dataset_from_directory` (see `labkit.folders`).
#
# Further reading: [Keras: VGG16 preprocess_input](https://keras.io/api/applications/vgg/);
# [Keras: preprocessing layers](https://keras.io/api/layers/preprocessing_layers/).

# %%
print(lab.elapsed())
