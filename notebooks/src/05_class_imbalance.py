# %% [markdown]
# # 05 · Class imbalance and the accuracy paradox
#
# **What you will see.** A training set where a few classes are rare (a *step* imbalance), a
# test set with the same proportions (what the model meets when deployed), and a model whose
# reported **accuracy is higher than its balanced accuracy**, because the common classes carry
# it, while it almost never finds the rare classes. Then three fixes, each measured with
# **balanced accuracy** (mean per-class recall) and **macro F1**: class weights, oversampling,
# and targeted augmentation of the rare classes.
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

import keras
import numpy as np

from labkit import (lessondata, models, panels, pipelines, plots, reference, report, splits, train,
                    transfer)
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
RATIO = 20  # the rare classes keep 1 image in RATIO
RARE = [5, 6, 7]  # quick profile: triangle, cross, star; full profile (CIFAR-10): dog, frog, horse
x_train, y_train = splits.make_imbalanced(data.x_train, data.y_train, ratio=RATIO,
                                            minority_classes=RARE, seed=lab.seed)
x_test, y_test = splits.make_imbalanced(data.x_test, data.y_test, ratio=RATIO,
                                          minority_classes=RARE, seed=lab.seed + 1)
imbalanced = dataclasses.replace(data, x_train=x_train, y_train=y_train)
print(f"rare classes: {[data.class_names[c] for c in RARE]}, {RATIO:g}x rarer")
counts = dict(zip(data.class_names, splits.class_counts(y_train, data.n_classes).tolist(),
                  strict=True))
print("train images per class:", counts)
plots.plot_bars(counts, title="Training images per class", fmt="{:.0f}");

# %% [markdown]
# ## 1 · The code as found in the wild
#
# Train as usual and report `model.evaluate(x_test, y_test)`'s accuracy. The model is the
# course's pretrained base, frozen, with a softmax head (lesson 02), so each run takes seconds.

# %%
base, caffe = transfer.lesson_base(lab.profile)
SIZE, EPOCHS = lab.profile.base_size, lab.profile.head_epochs
HEAD_FIT = FitSettings(epochs=EPOCHS, seed=lab.seed, progress=False)  # Adam, lr 1e-3, batch 64
feats = transfer.features(base, imbalanced, caffe, size=SIZE)
naive_head, naive_run = transfer.train_head(feats, imbalanced, name="as is", fit=HEAD_FIT)
deployed_feats = models.extract_features(base, x_test, caffe, size=SIZE).reshape(len(x_test), -1)
reported = train.evaluate(naive_head, deployed_feats, y_test, data.n_classes)
print(f"test accuracy on the imbalanced test set: {reported.accuracy:.1%}")

# %% [markdown]
# ## 2 · Diagnose: accuracy hides the rare classes
#
# Accuracy counts images, so the common classes dominate it. Balanced accuracy is the mean of
# the per-class recalls: every class counts the same. To measure recall reliably we also score
# the model on the balanced test set (100 images per class); with only a handful of rare test
# images, their recall would be noise.

# %%
print(f"imbalanced test set: {reported}")
naive = train.evaluate(naive_head, feats.test, data.y_test, data.n_classes)
print(f"balanced test set:   {naive}")
for c in RARE:
    print(f"recall of rare class {data.class_names[c]:<10} {naive.per_class_recall[c]:.0%} "
          f"({naive.confusion[c, c]} of {naive.confusion[c].sum()} test images)")
plots.plot_confusion(naive.confusion, data.class_names, title="Trained as is");

# %% [markdown]
# ## 3 · Three fixes
#
# - **Class weights**: `model.fit(..., class_weight=...)` multiplies each image's loss by
#   `n / (classes x count)`, so every class carries the same total weight.
# - **Oversampling**: repeat the rare images until every class has as many as the largest.
# - **Targeted augmentation**: top the rare classes up with *new* augmented versions of their
#   images (random flips, rotations, shifts, zoom with Keras augmentation layers), so the model
#   sees variety, not copies.

#
# The class-weight answer found in the wild is itself a bug in Keras 3:
#
# ```python
# from sklearn.utils import class_weight
# class_weights = class_weight.compute_class_weight("balanced", classes=np.unique(y_train),
#                                                   y=y_train)   # a NumPy array, one per class
# model.fit(x_train, y_train, class_weight=class_weights, ...)
# ```
#
# `compute_class_weight` returns an array; `fit` wants a dict `{class: weight}`, and the Keras
# installed here fails on the array, with an error that does not say why.
# `splits.balanced_weights` computes the same array as sklearn's `"balanced"` mode; pass it to
# `fit` and see:

# %%
weights_array = splits.balanced_weights(y_train, data.n_classes)
print("balanced weights as sklearn returns them:", np.round(weights_array, 2))
array_error = report.raised(lambda: transfer.train_head(
    feats, imbalanced, name="class weights as an array", fit=HEAD_FIT.replace(epochs=1),
    class_weight=weights_array))
print(f"model.fit(..., class_weight=<that array>) in Keras {keras.__version__}: {array_error}")

# %% [markdown]
# The fix is one call: `dict(enumerate(class_weights))`, what `splits.class_weights` returns.

# %%
weights = splits.class_weights(y_train, data.n_classes)
print("class weights:", {data.class_names[c]: round(w, 2) for c, w in weights.items()})
cw_head, cw_run = transfer.train_head(feats, imbalanced, name="class weights", fit=HEAD_FIT,
                                      class_weight=weights)

# %% tags=["plain-keras"] jupyter={"source_hidden": true}
# The plain Keras behind `transfer.features` and `transfer.train_head(..., class_weight=...)`,
# run here and compared with the helpers' numbers.
# 1. Features: resize, the base's own preprocessing (`caffe`: for VGG16 that is
#    keras.applications.vgg16.preprocess_input), the frozen base.
some = data.x_val[:256]  # enough to compare, and small at the full profile's 224x224
resized = keras.layers.Resizing(SIZE, SIZE)(some.astype("float32"))
some_features = base.predict(caffe(resized), batch_size=64, verbose=0).reshape(len(some), -1)
# 2. A softmax layer on the training features, with class weights as a dict.
keras.utils.set_random_seed(lab.seed)
plain_head = keras.Sequential([keras.Input(feats.train.shape[1:]), keras.layers.Flatten(),
                               keras.layers.Dense(data.n_classes, activation="softmax")])
plain_head.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                   loss="sparse_categorical_crossentropy", metrics=["accuracy"])
plain_history = plain_head.fit(feats.train, y_train, epochs=EPOCHS, batch_size=64,
                               validation_data=(feats.val, data.y_val),
                               class_weight=dict(enumerate(weights_array)), verbose=0)
same_features = bool(np.allclose(some_features, feats.val[:len(some)], atol=1e-4))
same_run = bool(np.allclose(plain_history.history["val_loss"], cw_run.history["val_loss"],
                            atol=1e-5))
print(f"plain Keras: same features of {len(some)} validation images as transfer.features: "
      f"{same_features}; "
      f"same validation losses, epoch by epoch, as transfer.train_head: {same_run} "
      f"(final val accuracy {plain_history.history['val_accuracy'][-1]:.1%} vs "
      f"{cw_run.last('val_accuracy'):.1%})")

# %%
x_over, y_over = splits.oversample(feats.train, y_train, seed=lab.seed)
over_head, over_run = transfer.train_head(feats, imbalanced, name="oversampling", fit=HEAD_FIT,
                                          x_train=x_over, y_train=y_over)

augment = keras.Sequential([
    keras.layers.RandomFlip("horizontal"),
    keras.layers.RandomRotation(0.1),
    keras.layers.RandomTranslation(0.1, 0.1),
    keras.layers.RandomZoom(0.15),
], name="augment")
x_aug, y_aug = pipelines.augment_minority(x_train, y_train, augment, seed=lab.seed)
aug_feats = models.extract_features(base, x_aug, caffe, size=SIZE).reshape(len(x_aug), -1)
aug_head, aug_run = transfer.train_head(feats, imbalanced, name="targeted augmentation",
                                        fit=HEAD_FIT, x_train=aug_feats, y_train=y_aug)

# %% [markdown]
# ## 4 · Side by side

# %%
scores = {"as is": naive}
for name, head in (("class weights", cw_head), ("oversampling", over_head),
                   ("targeted augmentation", aug_head)):
    scores[name] = train.evaluate(head, feats.test, data.y_test, data.n_classes)
print(f"{'balanced test set':<24}{'accuracy':>10}{'balanced acc':>14}{'macro F1':>10}   rare-class recall")
for name, s in scores.items():
    rare = ", ".join(f"{s.per_class_recall[c]:.0%}" for c in RARE)
    print(f"{name:<24}{s.accuracy:>10.1%}{s.balanced_accuracy:>14.1%}{s.macro_f1:>10.3f}   {rare}")
plots.plot_bars({k: v.balanced_accuracy for k, v in scores.items()},
                title="Balanced accuracy (balanced test set)", ylabel="balanced accuracy");
rare_recall = {k: sum(v.per_class_recall[c] for c in RARE) / len(RARE) for k, v in scores.items()}
best_name = max(scores, key=lambda k: scores[k].balanced_accuracy)
print(f"best fix on this run: {best_name}")
plots.plot_side_by_side({"as found: as is": naive, f"fixed: {best_name}": scores[best_name]},
                        data.class_names, metric="balanced_accuracy",
                        reference=reference.line(data, lab.seed, metric="balanced_accuracy"),
                        title="Imbalanced training set, balanced test set");

# %% [markdown]
# ## 5 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
verdict = report.check_lesson(lab, "imbalance", metric="balanced accuracy",
                              failure=naive.balanced_accuracy,
                              fix=scores[best_name].balanced_accuracy)

# %%
# NBVAL_CHECK_OUTPUT
report.claim("Keras refuses sklearn's class-weight array (it takes a dict)",
             array_error is not None)
report.claim("the plain Keras cell repeats the helpers' features and class-weighted run",
             same_features and same_run)
report.claim("accuracy paradox: reported accuracy exceeds balanced accuracy by >= 3 points",
             reported.accuracy - reported.balanced_accuracy >= 0.03)
report.claim("a rare class is (almost) never found as is: min rare recall <= 20%",
             min(naive.per_class_recall[c] for c in RARE) <= 0.20)
for name in ("class weights", "oversampling", "targeted augmentation"):
    report.claim(f"{name} beats 'as is' on balanced accuracy",
                 scores[name].balanced_accuracy > naive.balanced_accuracy)
report.claim("the best fix finds the rare classes >= 15 points more often",
             rare_recall[best_name] - rare_recall["as is"] >= 0.15)
t = lab.profile.threshold
best = scores[best_name]
report.claim(f"the fixed model reaches >= {t('imbalance.fixed_balanced'):.0%} balanced accuracy",
             best.balanced_accuracy >= t("imbalance.fixed_balanced"))
report.claim(f"the fixed model finds every rare class >= {t('imbalance.fixed_rare'):.0%} of the time",
             min(best.per_class_recall[c] for c in RARE) >= t("imbalance.fixed_rare"))
print(f"the best fix beats 'as is' by >= {100 * verdict.min_margin:.0f} points balanced accuracy: "
      "True")

# %% [markdown]
# ## 6 · Try it yourself
#
# Change how rare the rare classes are and pick a fix: none, class weights, oversampling, or
# targeted augmentation (the same augmentation layers as section 3; that click also computes
# the frozen base's features of the new images, so it takes longer). The validation set is
# balanced, so the table's validation accuracy weighs every class the same. Look for the ratio
# at which "none" stops finding the rare classes, and which fix holds up longest.

# %%
# NBVAL_IGNORE_OUTPUT
panels.imbalance_panel(lab, data, base, caffe, rare=RARE, augment=augment)

# %% [markdown]
# ## 7 · Exercises
#
# Predict first, then expand and run the solution cell under each exercise.
#
# 1. Make the training set long-tailed instead (`kind="longtail"` in `splits.make_imbalanced`:
#    class 0 keeps every image, each next class fewer, the last one 1 in 20). Which fix wins now?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the four fixes on a long-tailed training set, scored on the balanced test set.
from labkit.lessons import imbalance

x_tail, y_tail = splits.make_imbalanced(data.x_train, data.y_train, kind="longtail",
                                        ratio=RATIO, seed=lab.seed)
tail = dataclasses.replace(data, x_train=x_tail, y_train=y_tail)
tail_feats = transfer.features(base, tail, caffe, size=SIZE)
print("train images per class:", splits.class_counts(y_tail, data.n_classes).tolist())
tail_scores = {}
for fix in imbalance.FIXES:
    extra = imbalance.fix_arguments(fix, x_tail, y_tail, tail_feats.train, base=base,
                                    preprocess=caffe, size=SIZE, n_classes=data.n_classes,
                                    seed=lab.seed, augment=augment)
    tail_head, _ = transfer.train_head(tail_feats, tail, name=fix, fit=HEAD_FIT, **extra)
    tail_scores[fix] = train.evaluate(tail_head, feats.test, data.y_test, data.n_classes)
    print(f"{fix:<24} balanced accuracy {tail_scores[fix].balanced_accuracy:.1%}, "
          f"macro F1 {tail_scores[fix].macro_f1:.3f}")
print("best on the long tail:", max(tail_scores, key=lambda k: tail_scores[k].balanced_accuracy))

# %% [markdown]
# 2. Combine class weights **and** targeted augmentation. Better than either alone?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: targeted augmentation, then class weights computed on the augmented set.
both_weights = splits.class_weights(y_aug, data.n_classes)
both_head, _ = transfer.train_head(feats, imbalanced, name="both", fit=HEAD_FIT,
                                   x_train=aug_feats, y_train=y_aug, class_weight=both_weights)
both = train.evaluate(both_head, feats.test, data.y_test, data.n_classes)
print("class weights after augmentation:", sorted({round(w, 2) for w in both_weights.values()}))
for name, s in (("class weights", scores["class weights"]),
                ("targeted augmentation", scores["targeted augmentation"]), ("both", both)):
    print(f"{name:<24} balanced accuracy {s.balanced_accuracy:.1%}")
# After targeted augmentation every class has as many images as the largest, so the balanced
# weights are all close to 1 (printed above) and can change little.

# %% [markdown]
# 3. Why must oversampling and augmentation happen **after** the train/validation split?
#    (Copies, or near-copies, of a training image in the validation set make validation
#    measure memory, not generalisation: lesson 06.)

# %% [markdown]
# ## 8 · Takeaways
#
# - With imbalanced classes, report balanced accuracy, macro F1 and per-class recall, and look
#   at the confusion matrix; accuracy alone hides the rare classes.
# - Class weights are one line (`class_weight=` in `fit`); oversampling and targeted
#   augmentation change the data instead. Measure which helps your data.
# - Legacy code from the wild: `ImageDataGenerator(...).flow(x_rare, ...)` for augmentation;
#   in Keras 3 use augmentation layers (`keras.layers.RandomFlip`, `RandomRotation`, ...) in the
#   model or a `tf.data` pipeline (`labkit.pipelines.make_pipeline(..., augment=...)`).
#
# Further reading: [Keras example: imbalanced classification](https://keras.io/examples/structured_data/imbalanced_classification/);
# [Keras: augmentation layers](https://keras.io/api/layers/preprocessing_layers/image_augmentation/).

# %%
print(lab.elapsed())
