# %% [markdown]
# # 09 · Channel order and colour mode
#
# **What you will see.** The same PNG file, read by two libraries, gives two different arrays:
# Keras and PIL return RGB, OpenCV's `cv2.imread` returns **BGR**. A model trained on one and
# served with the other loses exactly the classes that colour defines; a model trained on
# grayscale keeps only their brightness, and loses accuracy on every class. We write the lesson's images to disk as real PNG
# files, read them back with the real loaders, and train the lessons' from-scratch CNN:
#
# - **Part A · train/serve skew**: trained on images read by Keras (RGB), served images read by
#   `cv2.imread` (BGR). A *channel permutation probe* names the bug;
#   `cv2.cvtColor(img, cv2.COLOR_BGR2RGB)` fixes it.
# - **Part B · colour mode**: `image_dataset_from_directory(..., color_mode="grayscale")` on a task
#   where colour is the class. Also: RGBA, palette and grayscale files mixed in one folder.
# - **Part C · two loaders in one training set**: half the training files read by OpenCV.
#
# Four classes of this dataset differ **only** by colour, and each pair is the other's red/blue
# swap: red vs blue disc, yellow vs cyan square. The other six classes are shapes in random
# colours. We report the recall of the four colour-pair classes separately. (The full profile
# uses this dataset here too: CIFAR-10 has no classes told apart by colour alone.)
#
# **Contents** (three short lessons in one notebook, then one check for all three)
#
# - [Part A · Trained with one loader, served with another](#Part-A-·-Trained-with-one-loader,-served-with-another)
# - [Part B · Colour mode: grayscale when colour is the class](#Part-B-·-Colour-mode:-grayscale-when-colour-is-the-class)
#   and [RGBA, palette and grayscale files in one folder](#RGBA,-palette-and-grayscale-files-in-one-folder)
# - [Part C · One training set, two loaders](#Part-C-·-One-training-set,-two-loaders)
# - [6 · Check: the lesson holds on this run](#6-·-Check:-the-lesson-holds-on-this-run),
#   [7 · Try it yourself](#7-·-Try-it-yourself), [8 · Exercises](#8-·-Exercises),
#   [9 · Takeaways](#9-·-Takeaways)
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
import dataclasses
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from labkit import (evidence, folders, lessondata, panels, plots, reference, report, scratch,
                    shapes, train)
from labkit.lessons import channel_order

lab = labkit.setup()
# Colour must define some classes here, so this lesson uses labkit shapes in every profile
# (CIFAR-10 has no classes told apart by colour alone); the profile still sets the sizes.
data = lessondata.load_lesson_data(dataclasses.replace(lab.profile, dataset="shapes"),
                                   seed=lab.seed)
print(data.describe())
EPOCHS, NAMES = lab.profile.epochs, list(data.class_names)
# The course's CNN and recipe (BatchNorm, Adam with a cosine decay, 18 epochs: see lesson 01):
# the bugs here are in loading the images, not in the network.
FIT = scratch.COURSE_FIT.replace(seed=lab.seed)

# The lesson's images as PNG files, <split>/<class>/<index>.png, in a temporary folder that is
# deleted when the kernel shuts down (or call workdir.cleanup()).
workdir = tempfile.TemporaryDirectory(prefix="labkit-09-")
root = Path(workdir.name)
paths = {split: channel_order.write_png_folder(x, y, NAMES, root / split)
         for split, x, y in (("train", data.x_train, data.y_train),
                             ("val", data.x_val, data.y_val),
                             ("test", data.x_test, data.y_test))}
print("PNG files written:", {split: len(files) for split, files in paths.items()})

# %% [markdown]
# ## Part A · Trained with one loader, served with another
#
# ### 1 · The code as found in the wild
#
# ```python
# # train.ipynb: Keras reads the class folders -> RGB
# train_ds = keras.utils.image_dataset_from_directory("data/train", image_size=(32, 32))
# model.fit(train_ds, epochs=8)
# model.save("model.keras")
#
# # serve.py, written later by someone else: OpenCV reads each uploaded file -> BGR
# img = cv2.imread(path)
# probs = model.predict(img[None])
# ```
#
# Legacy code reads files with `tf.keras.preprocessing.image.load_img` and `img_to_array`
# (deprecated; Keras 3: `keras.utils.load_img` and `keras.utils.img_to_array`): also RGB.
# `labkit.lessons.channel_order.load_folder` is `keras.utils.image_dataset_from_directory(..., shuffle=False)`
# returned as arrays. Pass `class_names=`: without it Keras numbers the class folders in
# alphabetical order, not in your order.

# %%
x_tr, y_tr = channel_order.load_folder(root / "train", "rgb", class_names=NAMES)
x_va, y_va = channel_order.load_folder(root / "val", "rgb", class_names=NAMES)
print("Keras' folder loader gives back the lesson's arrays exactly:",
      np.array_equal(x_tr, data.x_train) and np.array_equal(y_tr, data.y_train))
rgb_data = dataclasses.replace(data, x_train=x_tr, y_train=y_tr, x_val=x_va, y_val=y_va)
rgb_model, rgb_run = scratch.train_scratch(rgb_data, name="RGB (Keras loader)", fit=FIT)

# %% [markdown]
# ### 2 · Run it: serve the test files with each loader
#
# The model stays as trained; only the code that reads the test files changes.

# %%
served_keras = channel_order.load_like_keras(paths["test"])  # keras.utils.load_img(path): RGB
served_cv2 = channel_order.load_like_opencv(paths["test"])  # cv2.imread(path): BGR
keras_scores = train.evaluate(rgb_model, served_keras, data.y_test, data.n_classes)
cv2_scores = train.evaluate(rgb_model, served_cv2, data.y_test, data.n_classes)
print(f"served by keras.utils.load_img: {keras_scores}")
print(f"served by cv2.imread:           {cv2_scores}")
print()
print(channel_order.pair_table({"served by keras.utils.load_img": keras_scores,
                         "served by cv2.imread": cv2_scores}, NAMES))

# %% [markdown]
# The first four columns are the recall of each colour-pair class; "to partner" is the share of
# their images predicted as the other member of the pair (a red disc called a blue disc);
# "other classes" is the mean recall of the six shape classes. See the printed numbers: served
# by `cv2.imread`, the colour-pair classes are (almost) never right, and nearly all of their
# images go to the partner. The shape classes hardly move: their colours are random, so
# swapping red and blue takes nothing away that the model relies on.
#
# ### 3 · Diagnose: the channel permutation probe
#
# Averaged over all images the three channels are about equal (most objects have random
# colours), so look at one class, the red discs, as each loader delivers them:

# %%
red = data.y_test == NAMES.index("red_disc")
print(evidence.input_stats({"red_disc, keras.utils.load_img": served_keras[red],
                            "red_disc, cv2.imread": served_cv2[red]}))

# %% [markdown]
# The first and last channel means trade places. When you cannot read the serving code, a
# **probe** answers the question from a labelled sample of served images: read them as each of
# the six possible channel orders and score the model. The order that restores accuracy is the
# order the images arrive in.

# %%
probe = channel_order.channel_permutation_probe(rgb_model, served_cv2, data.y_test, data.n_classes)
for order, s in probe.items():
    print(f"served images read as {order}: accuracy {s.accuracy:.1%}")
culprit = channel_order.best_order(probe)
print(f"best order: {culprit}: the serving loader delivers {culprit} images")
control = channel_order.best_order(
    channel_order.channel_permutation_probe(rgb_model, served_keras, data.y_test, data.n_classes))
print(f"the same probe on keras.utils.load_img's images picks {control}")
plots.plot_bars({order: s.accuracy for order, s in probe.items()},
                title="Probe: cv2.imread's images read in each channel order",
                ylabel="test accuracy");

# %% [markdown]
# ### 4 · The fix: convert once, or use one loader
#
# ```python
# img = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)      # OpenCV, converted to RGB
# img = keras.utils.img_to_array(keras.utils.load_img(path))    # or the training loader itself
# ```
#
# Better still: one `load_image(path)` function that training **and** serving import, so the two
# cannot drift apart.

# %%
served_fixed = channel_order.load_like_opencv(paths["test"], to_rgb=True)  # + cv2.cvtColor(BGR2RGB)
print("cv2.imread + cvtColor equals keras.utils.load_img pixel for pixel:",
      np.array_equal(served_fixed, served_keras))
fixed_scores = train.evaluate(rgb_model, served_fixed, data.y_test, data.n_classes)
print(f"served by cv2.imread + cvtColor: {fixed_scores}")

# %% [markdown]
# ### 5 · Side by side

# %%
serving = {"keras.utils.load_img": keras_scores, "cv2.imread": cv2_scores,
           "cv2.imread + cvtColor": fixed_scores}
print(channel_order.pair_table(serving, NAMES))
ref = reference.line(data, lab.seed)  # the same CNN and recipe as rgb_model, on the same images
plots.plot_side_by_side({"as found: served by cv2.imread": cv2_scores,
                         "fixed: cv2.imread + cvtColor": fixed_scores}, NAMES, reference=ref,
                        title="Channel order at serving time");
fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
plots.plot_confusion(cv2_scores.confusion, NAMES, title="served by cv2.imread (BGR)", ax=axes[0])
plots.plot_confusion(fixed_scores.confusion, NAMES, title="served by cv2.imread + cvtColor",
                     ax=axes[1])
fig.tight_layout()

# %% [markdown]
# ## Part B · Colour mode: grayscale when colour is the class
#
# ### 1 · The code as found in the wild
#
# ```python
# # legacy (Keras 2, deprecated in Keras 3):
# gen = ImageDataGenerator(rescale=1/255).flow_from_directory("data/train", color_mode="grayscale")
# # Keras 3:
# train_ds = keras.utils.image_dataset_from_directory("data/train", color_mode="grayscale",
#                                                     image_size=(32, 32))
# ```
#
# Grayscale is a fine choice for digits or X-rays, and it makes the inputs three times smaller;
# here it was copied from such a tutorial. The images now have one channel, and the model's input
# follows (`keras.Input((32, 32, 1))`); nothing else changes.

# %%
gray = {split: channel_order.load_folder(root / split, "grayscale", class_names=NAMES)[0]
        for split in paths}
gray_data = dataclasses.replace(data, x_train=gray["train"], x_val=gray["val"],
                                x_test=gray["test"])
print("grayscale training images:", gray_data.x_train.shape)
gray_model, gray_run = scratch.train_scratch(gray_data, name="grayscale", fit=FIT)

# %% [markdown]
# ### 2 · Run it

# %%
gray_scores = train.evaluate(gray_model, gray_data.x_test, data.y_test, data.n_classes)
modes = {"RGB (Part A's model)": keras_scores, "grayscale": gray_scores}
print(channel_order.pair_table(modes, NAMES))
plots.plot_curves([rgb_run, gray_run], metrics=("accuracy",), title="RGB vs grayscale");

# %% [markdown]
# ### 3 · Diagnose: what grayscale keeps of each class colour
#
# A grayscale pixel is one number, a brightness. `color_mode="grayscale"` (like PIL's
# `convert("L")` and OpenCV's `COLOR_BGR2GRAY`) computes it as 0.299 R + 0.587 G + 0.114 B.
# The four class colours:

# %%
for cls in shapes.TARGET_CLASSES:
    if cls.colour is not None:
        pixel = np.round(np.asarray(cls.colour) * 255).astype(np.uint8)[None, None]
        print(f"{cls.name:<14} RGB {str(pixel[0, 0].tolist()):<16} -> gray "
              f"{int(channel_order.to_grayscale(pixel)[0, 0, 0]):>3} (0.299 R + 0.587 G + 0.114 B), "
              f"{int(channel_order.to_grayscale(pixel, 'mean')[0, 0, 0]):>3} (channel mean)")
plots.image_grid(np.repeat(gray_data.x_test, 3, axis=-1), data.y_test, NAMES[:4], per_class=8,
                 title="The colour-pair classes, as the grayscale model sees them");
plots.plot_confusion(gray_scores.confusion, NAMES, title="Trained and tested on grayscale");

# %% [markdown]
# Brightness is all that is left to tell the partners apart. With these weights red is brighter
# than blue and yellow brighter than cyan, and on this course's clean images that difference
# still separates most of them: see the printed recall of the four colour-pair classes, lower
# than with RGB but not lost. That is luck of the colours, not a property of grayscale: with a
# plain channel mean the partners get exactly the same gray (the last column above), and any
# pair of colours with equal luma (many reds and greens) would be lost the same way.
#
# The shape classes do not need colour, yet they do worse on grayscale, and by more (see the
# "other classes" column): an object as bright as its background loses its edges in grayscale,
# and colour gave the RGB model an easy early signal. Grayscale throws away information every
# class can use; the overall test accuracy (first column) is the lesson's verdict.
#
# ### 4 · The fix: keep colour
#
# Keep `color_mode="rgb"` (the default) whenever colour can carry class information; that is Part
# A's model, trained on the same images for the same epochs. If a model must take grayscale (a
# grayscale sensor, a pretrained grayscale network), find the classes that colour defines and
# check their recall, as here. A pretrained RGB base fed grayscale copies
# (`np.repeat(gray, 3, axis=-1)`) runs without error and loses the same information (lesson 01,
# Part B).
#
# ### 5 · Side by side

# %%
recalls = {}
for name, s in modes.items():
    recalls[f"{name}: colour pairs"] = channel_order.pair_recall(s, NAMES)
    recalls[f"{name}: other classes"] = channel_order.other_recall(s, NAMES)
for name, value in recalls.items():
    print(f"{name:<36} mean recall {value:.1%}")
plots.plot_bars(recalls, title="RGB vs grayscale: mean recall", ylabel="recall");

# %% [markdown]
# ### RGBA, palette and grayscale files in one folder
#
# Real folders mix colour modes: screenshots saved as RGBA, palette PNGs, scanned grayscale.
# `image_dataset_from_directory(color_mode="rgb")` and `keras.utils.load_img` turn every file into
# three channels (alpha dropped, palette expanded, gray copied to R, G and B), and so does
# `cv2.imread` (in BGR). The mix still matters: if one class is mostly grayscale, the model can
# learn "gray means that class". `labkit.folders.check_image_folder` counts the modes and warns.
# Here, red discs saved as RGB and blue discs as a mix:

# %%
reds = np.flatnonzero(data.y_test == NAMES.index("red_disc"))[:8]
blues = np.flatnonzero(data.y_test == NAMES.index("blue_disc"))[:8]
idx = np.concatenate([reds, blues])
file_modes = ["RGB"] * 8 + ["RGB", "RGB", "RGBA", "RGBA", "P", "P", "L", "L"]
channel_order.write_png_folder(data.x_test[idx], data.y_test[idx], NAMES, root / "mixed_modes",
                        mode=file_modes)
mixed_report = folders.check_image_folder(root / "mixed_modes")
print(mixed_report)

# %% [markdown]
# ## Part C · One training set, two loaders
#
# ### 1 · The code as found in the wild
#
# ```python
# # old images came through the OpenCV pipeline, new uploads through PIL; merged for training
# x = np.concatenate([np.stack([cv2.imread(p) for p in old_files]),
#                     np.stack([np.asarray(Image.open(p).convert("RGB")) for p in new_files])])
# ```
#
# `labkit.lessons.channel_order.two_loaders` reads a random half of the training files with `cv2.imread` and the
# rest with `keras.utils.load_img`. Validation and test images are read by Keras, as in Part A.

# %%
x_two, by_cv2 = channel_order.two_loaders(paths["train"], fraction=0.5, seed=lab.seed)
print(f"{by_cv2.mean():.0%} of the training images were read by cv2.imread")
two_data = dataclasses.replace(rgb_data, x_train=x_two)
two_model, two_run = scratch.train_scratch(two_data, name="half cv2, half Keras", fit=FIT)

# %% [markdown]
# ### 2 · Run it, 3 · diagnose

# %%
two_scores = train.evaluate(two_model, served_keras, data.y_test, data.n_classes)
loaders = {"one loader (Part A's model)": keras_scores, "half cv2, half Keras": two_scores}
print(channel_order.pair_table(loaders, NAMES))

# %% [markdown]
# See the printed recalls: within each pair, the two recalls now add up to roughly one. In this
# training set a red disc is labelled `red_disc` whether its pixels are red (Keras) or blue
# (OpenCV), and the same for blue discs, so colour no longer separates the pair, and the model
# can only guess within it. No serving fix and no probe can repair this model: the channel order
# is mixed up in its training data.
#
# ### 4 · The fix, 5 · side by side
#
# Read every training file with one loader: that is Part A's model.

# %%
pair_recalls = {name: channel_order.pair_recall(s, NAMES) for name, s in
                {"RGB, one loader": keras_scores, "served by cv2.imread": cv2_scores,
                 "trained on grayscale": gray_scores,
                 "trained half cv2, half Keras": two_scores}.items()}
for name, value in pair_recalls.items():
    print(f"{name:<30} recall of the colour-pair classes {value:.1%}")
plots.plot_bars(pair_recalls, title="Colour-pair recall: three ways to lose colour",
                ylabel="recall");

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margins and prints the RESULT lines for README.
t = lab.profile.threshold
verdict = report.check_lesson(lab, "channel_order", metric="test accuracy",
                              failure=cv2_scores.accuracy, fix=fixed_scores.accuracy)
verdict = report.check_lesson(lab, "colour_mode", case="grayscale", metric="test accuracy",
                              failure=gray_scores.accuracy, fix=keras_scores.accuracy)

# %%
# NBVAL_CHECK_OUTPUT
pair, other = channel_order.pair_recall, channel_order.other_recall
report.claim("cv2.imread returns the PNG files with red and blue swapped",
             np.array_equal(served_cv2, served_keras[..., ::-1]))
drop = t("channel_order.pair_recall_drop")
report.claim(f"served BGR, the colour pairs lose >= {100 * drop:.0f} points of recall",
             pair(keras_scores, NAMES) - pair(cv2_scores, NAMES) >= drop)
report.claim(f"served BGR, >= {100 * t('channel_order.partner_rate'):.0f}% of their images go "
             "to the partner",
             channel_order.partner_rate(cv2_scores, NAMES) >= t("channel_order.partner_rate"))
report.claim(f"served BGR, the shape classes' recall moves < "
             f"{100 * t('channel_order.shape_shift'):.0f} points",
             abs(other(keras_scores, NAMES) - other(cv2_scores, NAMES))
             < t("channel_order.shape_shift"))
report.claim("the probe picks BGR for cv2.imread's images, RGB for Keras'",
             culprit == "BGR" and control == "RGB")
report.claim("cv2.cvtColor(BGR2RGB) restores Keras' pixels and accuracy exactly",
             np.array_equal(served_fixed, served_keras)
             and fixed_scores.accuracy == keras_scores.accuracy)
report.claim("grayscale lowers the colour pairs' recall",
             pair(gray_scores, NAMES) < pair(keras_scores, NAMES))
report.claim("grayscale lowers the other classes' recall too",
             other(gray_scores, NAMES) < other(keras_scores, NAMES))
report.claim("grayscale confuses partners more than RGB does",
             channel_order.partner_rate(gray_scores, NAMES) > channel_order.partner_rate(keras_scores, NAMES))
report.claim(f"half-cv2 training loses >= {100 * t('channel_order.mixed'):.0f} points of "
             "colour-pair recall",
             pair(keras_scores, NAMES) - pair(two_scores, NAMES) >= t("channel_order.mixed"))
report.claim("check_image_folder flags the mixed colour modes",
             any("colour modes differ" in w for w in mixed_report.warnings))
print(f"serving through cvtColor beats raw cv2.imread by >= {100 * t('channel_order'):.0f} "
      "points: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Pick the training images and how the validation images are served, then train. The curves show
# validation accuracy on the served images. Try RGB training served by `cv2.imread`, then the same
# with `cvtColor`; then grayscale, and the two-loader training set.

# %%
# NBVAL_IGNORE_OUTPUT
panels.channel_order_panel(lab, data, {"RGB (one loader)": rgb_data.x_train,
                                "grayscale (color_mode='grayscale')": gray_data.x_train,
                                "half cv2, half Keras (two loaders)": x_two})

# %% [markdown]
# ## 8 · Exercises
#
# The cell before the last deletes the PNG files: re-run the setup cell before an exercise that
# reads them. Predict first, then expand and run the solution cell under each exercise.
#
# 1. Grayscale by channel mean makes each pair's partners the same gray (see the table in Part B).
#    If you trained on `channel_order.to_grayscale(x, method="mean")` for train, val and test,
#    what would happen to the colour-pair recall and the "to partner" column?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1, without training: each colour-pair image, its red and blue channels swapped, looks
# like its partner (red_disc <-> blue_disc, yellow_square <-> cyan_square: the table in Part B).
# Does channel-mean gray still tell the two apart? And luma gray?
pair_classes = [NAMES.index(name) for pair in channel_order.COLOUR_PAIRS for name in pair]
in_pairs = data.x_test[np.isin(data.y_test, pair_classes)]
partner_look = in_pairs[..., ::-1]  # R and B swapped (G stays)
for method in ("mean", "luma"):
    same = np.all(channel_order.to_grayscale(in_pairs, method=method)
                  == channel_order.to_grayscale(partner_look, method=method), axis=(1, 2, 3))
    print(f"gray by {method}: {same.mean():.0%} of the {len(in_pairs)} colour-pair test images "
          "are pixel for pixel the gray of their partner-coloured twin")
# With the channel mean every red disc has a blue-disc twin of exactly the same gray: no model
# can tell the partners apart, so the best it can do on a pair is a coin flip (recall about 50%
# per class, about half of each class "to partner"). Luma weighs R, G and B differently, so the
# partners keep different grays, which is why Part B's luma model still separates them.

# %% [markdown]
# 2. Run `channel_order.two_loaders(paths["train"], fraction=0.1)` instead of 0.5. Does a small
#    share of BGR images in training still cost the colour pairs? (The solution trains one
#    model: about the time of one run above.)

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: 10% of the training files read by cv2.imread, the rest by Keras.
x_ten, by_cv2_ten = channel_order.two_loaders(paths["train"], fraction=0.1, seed=lab.seed)
ten_model, _ = scratch.train_scratch(dataclasses.replace(rgb_data, x_train=x_ten),
                                     name="10% cv2, 90% Keras", fit=FIT)
ten_scores = train.evaluate(ten_model, served_keras, data.y_test, data.n_classes)
print(f"{by_cv2_ten.mean():.0%} of the training images read by cv2.imread")
print(channel_order.pair_table({**loaders, "10% cv2, 90% Keras": ten_scores}, NAMES))
# Compare the colour-pair columns of the three rows. The labels of the BGR tenth contradict the
# rest, but nine images in ten still tie each colour to its class; at one half, colour says
# nothing about which member of a pair an image is. The share decides how much it costs.

# %% [markdown]
# 3. Save the test images as JPEG instead of PNG
#    (`PIL.Image.fromarray(img).save(path, quality=90)`). Are `cv2.imread` + `cvtColor` and
#    `keras.utils.load_img` still equal pixel for pixel? Does it change the accuracy?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the test images as JPEG (quality 90), read by both loaders, served to Part A's model.
from PIL import Image

jpg_paths = []
for i, (image, png) in enumerate(zip(data.x_test, paths["test"], strict=True)):
    jpg = root / "test_jpeg" / Path(png).parent.name / f"{i:05d}.jpg"
    jpg.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(jpg, quality=90)
    jpg_paths.append(jpg)
jpg_keras = channel_order.load_like_keras(jpg_paths)
jpg_cv2 = channel_order.load_like_opencv(jpg_paths, to_rgb=True)
differ = np.abs(jpg_keras.astype(int) - jpg_cv2.astype(int))
print(f"keras.utils.load_img vs cv2.imread + cvtColor on JPEG: equal pixel for pixel "
      f"{np.array_equal(jpg_keras, jpg_cv2)} (largest difference {differ.max()} levels, "
      f"{(differ > 0).mean():.2%} of the values differ)")
print(f"JPEG changed the pixels themselves: mean absolute change "
      f"{np.abs(jpg_keras.astype(int) - data.x_test.astype(int)).mean():.1f} levels")
for name, served in (("PNG, keras.utils.load_img", served_keras),
                     ("JPEG, keras.utils.load_img", jpg_keras),
                     ("JPEG, cv2.imread + cvtColor", jpg_cv2)):
    print(f"{name:<28} accuracy "
          f"{train.evaluate(rgb_model, served, data.y_test, data.n_classes).accuracy:.1%}")
# Two questions, two answers. The two loaders agree with each other on JPEG too, or differ by a
# level where two libjpeg builds round differently (the first line says which). The file format
# is a change of its own: compression moves the pixels (second line) for both loaders alike, and
# a model trained on PNG files and served JPEG ones sees images unlike its training set, a
# domain shift (lesson 12) that can cost accuracy (compare the accuracy lines). Serve the format
# you trained on, or train on the format you will serve.

# %% [markdown]
# 4. Run `channel_order.channel_permutation_probe` on the two-loader model with Keras-served
#    images. Why does no channel order restore the colour pairs?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 4: the probe on Part C's model (half cv2, half Keras), served by Keras.
two_probe = channel_order.channel_permutation_probe(two_model, served_keras, data.y_test)
print(channel_order.pair_table({f"served as {order}": scores
                                for order, scores in two_probe.items()}, NAMES))
# The probe changes what the model is served, not what it learned. Its training data called
# both red and blue pixels red_disc (and both blue_disc), so no channel order of the served
# images separates the pair again: the damage is in the weights. Retrain on one loader.

# %% [markdown]
# ## 9 · Takeaways
#
# - Keras (`keras.utils.load_img`, `image_dataset_from_directory`), PIL and TensorFlow give
#   **RGB**; OpenCV's `cv2.imread` gives **BGR**. Load training and serving images with the same
#   function, or convert with `cv2.cvtColor(img, cv2.COLOR_BGR2RGB)` once, where OpenCV reads.
# - A channel permutation probe (`labkit.lessons.channel_order.channel_permutation_probe`) names the order
#   served images arrive in from a few hundred labelled examples.
# - Channel mistakes hit the classes that colour defines and leave the rest almost untouched:
#   overall accuracy hides how bad it is, per-class recall shows it.
# - `color_mode="grayscale"` removes hue. Use it only when colour cannot matter; check the
#   per-class recall of classes that colour might define.
# - Mixed colour modes in one folder (RGBA, palette, grayscale) load as RGB but can leak the class;
#   `labkit.folders.check_image_folder` flags them. Legacy `ImageDataGenerator(color_mode=...)` and
#   `tf.keras.preprocessing.image` are deprecated: use `keras.utils.image_dataset_from_directory`
#   and `keras.utils.load_img`.
#
# Further reading: [OpenCV: imread (BGR order)](https://docs.opencv.org/4.x/d4/da8/group__imgcodecs.html);
# [OpenCV: cvtColor](https://docs.opencv.org/4.x/d8/d01/group__imgproc__color__conversions.html);
# [Keras: image_dataset_from_directory](https://keras.io/api/data_loading/image/).

# %%
workdir.cleanup()  # delete the lesson's PNG files (re-run the setup cell to write them again)

# %%
print(lab.elapsed())
