# %% [markdown]
# # 06 · `validation_split` on data sorted by class
#
# **What you will see.** Images often arrive sorted by class: read folder by folder, or
# concatenated class by class. `model.fit(x, y, validation_split=0.2)` then validates on
# classes the model never trains on, because Keras takes the **last** 20% of the arrays
# *before* it shuffles anything. Validation accuracy sits at zero while the model is fine on
# the classes it saw, and the real model is missing whole classes. The fix: shuffle (better:
# a stratified split) before holding out validation data.
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

from labkit import lessondata, panels, plots, reference, report, scratch, splits, train

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
FRACTION = 0.2
# The course's CNN and recipe (BatchNorm, Adam with a cosine decay, 18 epochs: see lesson 01):
# the bug here is in the split, not in the network, so both runs train the same good model.
FIT = scratch.COURSE_FIT.replace(seed=lab.seed)

# %% [markdown]
# ## 1 · The code as found in the wild
#
# ```python
# x, y = load_images_folder_by_folder("data/")          # class 0 first, then class 1, ...
# model.fit(x, y, epochs=8, validation_split=0.2)        # shuffle=True shuffles the training part only
# ```
#
# We pool the lesson's training and validation images and sort them by class, as a folder-by-
# folder loader would.

# %%
x_sorted, y_sorted = data.pooled_by_class()  # train + val, class 0 first, then class 1, ...
print(f"{len(y_sorted)} images, labels start {y_sorted[:5].tolist()} ... end {y_sorted[-5:].tolist()}")
wild_model, wild_run = scratch.train_scratch(
    data, name="validation_split=0.2 on sorted data", fit=FIT, x_train=x_sorted,
    y_train=y_sorted, validation_split=FRACTION)

# %% [markdown]
# ## 2 · Run it

# %%
print(f"final train accuracy {wild_run.last('accuracy'):.1%}, "
      f"final val accuracy {wild_run.last('val_accuracy'):.1%}")
plots.plot_curves([wild_run], title="validation_split on sorted data");

# %% [markdown]
# ## 3 · Diagnose: which classes ended up where?
#
# Keras cuts the arrays at `int(len(x) * (1 - validation_split))`: everything after it is the
# validation set. Count the classes on each side of the cut.

# %%
cut = int(len(y_sorted) * (1 - FRACTION))
train_counts = splits.class_counts(y_sorted[:cut], data.n_classes)
val_counts = splits.class_counts(y_sorted[cut:], data.n_classes)
for name, n_tr, n_va in zip(data.class_names, train_counts, val_counts, strict=True):
    print(f"{name:<14} train {n_tr:>4}   validation {n_va:>4}")
missing = [data.class_names[c] for c in range(data.n_classes) if train_counts[c] == 0]
print(f"classes never seen in training: {missing}")
wild_test = train.evaluate(wild_model, data.x_test, data.y_test, data.n_classes)
print(f"on the balanced test set: {wild_test}")
for c, name in enumerate(data.class_names):
    if name in missing:
        print(f"  recall of {name}: {wild_test.per_class_recall[c]:.0%}")

# %% [markdown]
# The validation set holds only classes the model never trained on, so validation accuracy
# measures nothing useful; and the model itself cannot recognise those classes at all.
# `shuffle=True` (the default) does not help: Keras splits first, then shuffles the training
# part each epoch.
#
# ## 4 · The fix: shuffle, or better, a stratified split
#
# `labkit.splits.stratified_split` shuffles with a seed and keeps every class's share the same in
# both parts (scikit-learn's `train_test_split(..., stratify=y)` does the same).

# %%
x_tr, y_tr, x_va, y_va = splits.stratified_split(x_sorted, y_sorted, FRACTION, seed=lab.seed)
print("validation images per class:", splits.class_counts(y_va, data.n_classes).tolist())
fixed = lessondata.LessonData(x_tr, y_tr, x_va, y_va, data.x_test, data.y_test,
                              data.class_names, data.source)
fix_model, fix_run = scratch.train_scratch(fixed, name="stratified split", fit=FIT)
fix_test = train.evaluate(fix_model, data.x_test, data.y_test, data.n_classes)

# %% tags=["plain-keras"] jupyter={"source_hidden": true}
# The plain NumPy behind `splits.stratified_split` (scikit-learn's
# `train_test_split(x, y, test_size=0.2, stratify=y)` does the same job with its own shuffling),
# run here and compared with the helper's split. Keras then gets the held-out part as
# `model.fit(x_train, y_train, validation_data=(x_val, y_val))`, never `validation_split`.
rng = np.random.default_rng(lab.seed)
train_idx, val_idx = [], []
for c in np.unique(y_sorted):
    idx = rng.permutation(np.flatnonzero(y_sorted == c))  # this class's images, shuffled
    n_val = round(len(idx) * FRACTION)  # its share of the validation set
    train_idx.append(idx[: len(idx) - n_val])
    val_idx.append(idx[len(idx) - n_val:])
train_idx = rng.permutation(np.concatenate(train_idx))  # mix the classes in each part
val_idx = rng.permutation(np.concatenate(val_idx))
plain_split = (x_sorted[train_idx], y_sorted[train_idx], x_sorted[val_idx], y_sorted[val_idx])
same_split = all(np.array_equal(a, b) for a, b in zip(plain_split, (x_tr, y_tr, x_va, y_va),
                                                      strict=True))
print(f"plain NumPy: {len(train_idx)} training and {len(val_idx)} validation images, "
      f"the same images in the same order as splits.stratified_split: {same_split}")

# %% [markdown]
# ## 5 · Side by side

# %%
left_out = [data.class_names.index(m) for m in missing]


def left_out_recall(scores):
    return float(np.mean([scores.per_class_recall[c] for c in left_out]))


for name, run, scores in (("validation_split on sorted", wild_run, wild_test),
                          ("stratified split", fix_run, fix_test)):
    print(f"{name:<28} val accuracy {run.last('val_accuracy'):6.1%}   "
          f"test accuracy {scores.accuracy:6.1%}   "
          f"recall of {', '.join(missing)} {left_out_recall(scores):6.1%}")
seen = [c for c in range(data.n_classes) if c not in left_out]
print("mean recall of the classes the sorted split did train on: "
      f"sorted {np.mean([wild_test.per_class_recall[c] for c in seen]):.1%}, "
      f"stratified {np.mean([fix_test.per_class_recall[c] for c in seen]):.1%}")
plots.plot_curves([wild_run, fix_run], metrics=("accuracy",), title="Sorted split vs stratified");
plots.plot_side_by_side({"as found: validation_split on sorted": wild_test,
                         "fixed: stratified split": fix_test}, data.class_names,
                        reference=reference.line(data, lab.seed),
                        title="Sorted validation_split vs stratified split (test set)");

# %% [markdown]
# The two test accuracies differ by about the share of the test set that the unseen classes
# make up (two classes of ten): on the classes it did see, the sorted-split model does about as
# well as the fixed one (the line above the chart), and it never recognises the others. The
# validation curve never told you.

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
verdict = report.check_lesson(lab, "validation_split", metric="recall of the classes left out",
                              failure=left_out_recall(wild_test), fix=left_out_recall(fix_test))

# %%
# NBVAL_CHECK_OUTPUT
report.claim("the sorted split leaves whole classes out of training", len(missing) >= 1)
report.claim("validation accuracy on the sorted split is (almost) zero",
             wild_run.last("val_accuracy") <= 0.02)
report.claim("the unseen classes are never recognised",
             all(wild_test.per_class_recall[data.class_names.index(m)] == 0 for m in missing))
report.claim("a stratified split puts every class in validation", bool((np.bincount(y_va) > 0).all()))
report.claim("the plain NumPy split is the helper's split", same_split)
t = lab.profile.threshold
report.claim(f"the fixed model finds the left-out classes >= "
             f"{t('validation_split.fixed_recall'):.0%} of the time",
             left_out_recall(fix_test) >= t("validation_split.fixed_recall"))
report.claim(f"the fixed model reaches >= {t('fixed_model'):.0%} test accuracy",
             fix_test.accuracy >= t("fixed_model"))
print(f"the stratified split finds the left-out classes >= {100 * verdict.min_margin:.0f} points "
      "more often: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Switch between the two ways of splitting and change the validation fraction.

# %%
# NBVAL_IGNORE_OUTPUT
panels.split_panel(lab, data, x_sorted, y_sorted)

# %% [markdown]
# ## 8 · Exercises
#
# Predict first, then expand and run the solution cell under each exercise.
#
# 1. With `validation_split=0.5` on the same sorted data, how many classes does the model never
#    see in training?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: Keras' validation_split takes the last fraction of the arrays, as they are.
half = int(len(y_sorted) * (1 - 0.5))
unseen = sorted(set(y_sorted[half:].tolist()) - set(y_sorted[:half].tolist()))
print(f"validation_split=0.5: {len(unseen)} classes only in validation: "
      f"{[data.class_names[c] for c in unseen]}")

# %% [markdown]
# 2. Shuffle with a plain random permutation instead of a stratified split. How far from
#    `FRACTION` of each class can a plain shuffle put in validation, with these sizes?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: validation images per class, plain shuffles with five seeds vs the stratified split.
expected = splits.class_counts(y_sorted, data.n_classes) * FRACTION
for seed in range(5):
    order = np.random.default_rng(seed).permutation(len(y_sorted))
    counts = splits.class_counts(y_sorted[order][cut:], data.n_classes)
    print(f"plain shuffle, seed {seed}: per class {counts.min()}-{counts.max()} "
          f"(expected {expected.min():.0f}-{expected.max():.0f}), largest miss "
          f"{np.abs(counts - expected).max():.0f} images")
strat = splits.class_counts(y_va, data.n_classes)
print(f"stratified split: per class {strat.min()}-{strat.max()}, largest miss "
      f"{np.abs(strat - expected).max():.0f} images")
# A shuffle is unbiased but noisy: some classes get more validation images, some fewer. A
# stratified split takes FRACTION of every class, so each class is measured on its share.

# %% [markdown]
# 3. `keras.utils.image_dataset_from_directory(..., validation_split=0.2, subset="both", seed=1)`
#    shuffles file names before splitting. Why does it need the same `seed` for both subsets
#    when called twice, once per subset? (Each call shuffles the file list with its seed; with
#    different seeds the two subsets would overlap, and validation images would leak into
#    training.)

# %% [markdown]
# ## 9 · Takeaways
#
# - `validation_split` takes the **last** fraction of the arrays, before any shuffling. Never use
#   it on data in a meaningful order.
# - Split with a seeded, stratified split, and check the class counts of every split.
# - For folders of images, `keras.utils.image_dataset_from_directory(..., validation_split=...,
#   subset="both", seed=...)` shuffles before it splits (labkit: `labkit.folders.load_image_folder`).
#   The legacy `ImageDataGenerator(validation_split=...).flow_from_directory(subset=...)` splits
#   each class folder, which is safe, but it is deprecated in Keras 3.
#
# Further reading: [Keras Model.fit: validation_split](https://keras.io/api/models/model_training_apis/#fit-method).

# %%
print(lab.elapsed())
