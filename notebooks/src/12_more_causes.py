# %% [markdown]
# # 12 · Five more causes, each in seconds
#
# **What you will see.** Five mistakes that the other lessons do not cover, each run as found,
# measured, fixed and measured again, on the course's pretrained base (frozen, so a head trains
# in seconds) or a small CNN trained from scratch:
#
# 1. `include_top=True`: a new head stacked on the pretrained model's **own class
#    probabilities**;
# 2. **batch size**: BatchNorm at batch size 1, and one full batch per epoch;
# 3. **colour jitter** on classes that only colour tells apart;
# 4. **domain shift**: trained on one camera's images, deployed on another's;
# 5. a **model too small** for the data (underfitting).
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

from labkit import lessondata, models, panels, plots, reference, report, scratch, train, transfer
from labkit.lessons import more_causes
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
base, caffe = transfer.lesson_base(lab.profile)
SIZE = lab.profile.base_size
HEAD_FIT = FitSettings(epochs=lab.profile.head_epochs, seed=lab.seed, progress=False)
feats = transfer.features(base, data, caffe, size=SIZE)  # include_top=False: the conv features
head, head_run = transfer.train_head(feats, data, name="the usual recipe, batch 64", fit=HEAD_FIT)
usual = train.evaluate(head, feats.test, data.y_test, data.n_classes)
print(f"the usual recipe (include_top=False, a softmax head on the frozen features, batch "
      f"{HEAD_FIT.batch_size}, {HEAD_FIT.epochs} epochs): test accuracy {usual.accuracy:.1%}")

# %% [markdown]
# ## 1 · `include_top=True`: a head on the pretrained model's own predictions
#
# The code as found in the wild:
#
# ```python
# base = VGG16(weights="imagenet")        # include_top defaults to True
# base.trainable = False
# outputs = Dense(10, activation="softmax")(base.output)   # on ImageNet's 1,000 probabilities
# model = keras.Model(base.input, outputs)
# ```
#
# With the top included, `base.output` is not a feature map: it is the softmax over the classes
# the base was **pretrained** on. The new head can only combine "how much does this look like
# each ImageNet class". The course's base was pretrained on 13 other shapes (hexagon, arrow,
# dots, ...), and its shipped top is that 13-way softmax: the same mistake, at a smaller scale.

# %%
top = more_causes.with_pretrained_top(base)
if top is None:
    print(f"{base.name}'s pretrained top is not available offline (VGG16's 1,000-class top is a "
          "separate 528 MB download): this section runs on the quick profile.")
else:
    top_feats = transfer.features(top, data, caffe, size=SIZE)
    print(f"include_top=True: {top_feats.train.shape[1]} numbers per image (the source classes' "
          f"probabilities), against {feats.train.shape[1]} conv features without the top")
    asked = np.argmax(top_feats.test, axis=1)
    source_names = labkit.shapes.class_names("source")
    print("what the pretrained top says the first test images are:",
          [f"{data.class_names[y]} -> {source_names[p]}" for y, p in
           zip(data.y_test[:4], asked[:4], strict=True)])
    top_head, _ = transfer.train_head(top_feats, data, name="include_top=True", fit=HEAD_FIT)
    on_top = train.evaluate(top_head, top_feats.test, data.y_test, data.n_classes)
    print(f"test accuracy, a head on the top's probabilities: {on_top.accuracy:.1%}; "
          f"on the conv features (include_top=False): {usual.accuracy:.1%}")
    verdict = report.check_lesson(lab, "include_top", metric="test accuracy",
                                  failure=on_top.accuracy, fix=usual.accuracy)

# %% [markdown]
# The fix is one argument: `VGG16(weights="imagenet", include_top=False, input_shape=...)`, then
# your own head on the feature map (global average pooling or `Flatten`, then `Dense`), as in
# lesson 02. `include_top=True` also pins the input to 224x224, which lesson 04 is about.

# %% [markdown]
# ## 2 · Batch size
#
# ### BatchNorm at batch size 1
#
# Found in the wild: a network with BatchNorm trained with `batch_size=1` ("my GPU has little
# memory"). In training mode BatchNorm normalises each feature over the batch: with one image,
# every feature equals the batch mean, so the layer outputs its bias `beta` whatever the image.
# The two runs below train the same head (Dense 128 -> [BatchNorm] -> ReLU -> softmax) on the
# same frozen features, for the same two epochs at batch size 1: only BatchNorm differs.

# %%
ONE = HEAD_FIT.replace(batch_size=1, epochs=2)
WITH_BN, WITHOUT_BN = more_causes.head_builder(batchnorm=True), more_causes.head_builder(False)
bn_model, bn_run = transfer.train_head(feats, data, fit=ONE, name="BatchNorm, batch 1",
                                       build_head=WITH_BN)
plain_model, plain_run = transfer.train_head(feats, data, fit=ONE, name="no BatchNorm, batch 1",
                                             build_head=WITHOUT_BN)
bn64_model, bn64_run = transfer.train_head(feats, data, fit=HEAD_FIT, name="BatchNorm, batch 64",
                                           build_head=WITH_BN)
batch_scores = {run.name: (run, train.evaluate(model, feats.test, data.y_test, data.n_classes))
                for model, run in ((bn_model, bn_run), (plain_model, plain_run),
                                   (bn64_model, bn64_run))}
for name, (run, s) in batch_scores.items():
    print(f"{name:<22} train accuracy {run.last('accuracy'):6.1%} | test accuracy "
          f"{s.accuracy:6.1%} | {run.seconds:5.1f} s")
hidden_bn = keras.Model(bn_model.input, bn_model.get_layer("hidden_bn").output)
one_image = np.asarray(hidden_bn(feats.train[:1], training=True))
outputs_beta = bool(np.allclose(one_image[0], bn_model.get_layer("hidden_bn").beta.numpy(),
                               atol=1e-3))
print(f"evidence: BatchNorm's output for one image in training mode equals beta: {outputs_beta}")
bn_fail, bn_fix = batch_scores["BatchNorm, batch 1"][1], batch_scores["no BatchNorm, batch 1"][1]
verdict = report.check_lesson(lab, "batch_size", metric="test accuracy",
                              failure=bn_fail.accuracy, fix=bn_fix.accuracy,
                              case="BatchNorm at batch 1")

# %% [markdown]
# The fix: a larger batch with BatchNorm (the head at batch 64 above), or no
# BatchNorm when the batch must be tiny (`LayerNormalization` or `GroupNormalization` normalise
# each image on its own).
#
# ### One full batch per epoch
#
# The other end: `batch_size=len(x_train)` "to use the whole GPU", with the epochs unchanged.
# Each epoch is now **one** optimizer step instead of one per batch of 64 (the printout gives
# both step counts).

# %%
FULL_BATCH = HEAD_FIT.replace(batch_size=len(data.x_train))
full_head, full_run = transfer.train_head(feats, data, name="one batch per epoch", fit=FULL_BATCH)
full = train.evaluate(full_head, feats.test, data.y_test, data.n_classes)
fast_head, _ = transfer.train_head(feats, data, name="one batch, LR x30",
                                   fit=FULL_BATCH.replace(lr=30 * HEAD_FIT.lr))
fast = train.evaluate(fast_head, feats.test, data.y_test, data.n_classes)
print(f"batch {FULL_BATCH.batch_size} ({FULL_BATCH.epochs} steps): test accuracy "
      f"{full.accuracy:.1%}; with a 30x LR: {fast.accuracy:.1%}; batch {HEAD_FIT.batch_size} "
      f"({HEAD_FIT.epochs * -(-len(data.x_train) // HEAD_FIT.batch_size)} steps): "
      f"{usual.accuracy:.1%}")
plots.plot_curves([head_run, full_run], metrics=("accuracy",),
                  title="Same epochs: batch 64 against one batch per epoch");
verdict = report.check_lesson(lab, "batch_size", metric="test accuracy", failure=full.accuracy,
                              fix=usual.accuracy, case="one batch per epoch")

# %% [markdown]
# A bigger batch needs a bigger learning rate or more epochs (the LR x30 run); the usual
# batch of 32-128 with the default LR is the simple fix.
#
# ## 3 · Colour jitter on classes that colour defines
#
# Found in the wild: "add colour jitter for robustness".
#
# ```python
# augment = keras.Sequential([keras.layers.RandomFlip("horizontal"),
#                             keras.layers.RandomHue(0.5)])
# ```
#
# In this dataset a red disc and a blue disc, a yellow square and a cyan square differ **only**
# by colour. Hue jitter turns red discs blue during training, labelled "red disc": it teaches
# the model that colour means nothing. A small CNN trained from scratch on those four classes,
# with the augmentation as its first layers (active in `fit` only), shows it. The fix keeps
# the jitter that does not change what a class is: brightness and contrast.
# (Legacy code does the same with `tf.image.random_hue` in a `tf.data` map or
# `ImageDataGenerator(channel_shift_range=...)`.)

# %%
colour = more_causes.colour_classes(data.class_names)
COLOUR_FIT = scratch.COURSE_FIT.replace(epochs=lab.profile.epochs, seed=lab.seed, progress=False)
if not colour:
    print(f"{data.source} has no classes told apart by colour alone: this section runs on the "
          "quick profile's shapes.")
else:
    pairs = more_causes.only_classes(data, colour)
    print(f"{len(pairs.x_train)} training images of {list(pairs.class_names)}")
    hue = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                            keras.layers.RandomHue(0.5, value_range=(0, 255), seed=lab.seed)],
                           name="hue_jitter")
    light = keras.Sequential([keras.layers.RandomFlip("horizontal"),
                              keras.layers.RandomBrightness(0.2, value_range=(0, 255),
                                                            seed=lab.seed),
                              keras.layers.RandomContrast(0.2, seed=lab.seed)],
                             name="light_jitter")
    jittered = {}
    for name, augment in (("hue jitter", hue), ("brightness + contrast", light)):
        model, _ = scratch.train_scratch(pairs, name=name, fit=COLOUR_FIT,
                                         network=more_causes.RIGHT_SIZED, augment=augment)
        jittered[name] = train.evaluate(model, pairs.x_test, pairs.y_test, pairs.n_classes)
        print(f"{name:<22} test accuracy {jittered[name].accuracy:.1%} | recall per class "
              + ", ".join(f"{n} {r:.0%}" for n, r in
                          zip(pairs.class_names, jittered[name].per_class_recall, strict=True)))
    plots.plot_confusion(jittered["hue jitter"].confusion, pairs.class_names,
                         title="Trained with hue jitter");
    verdict = report.check_lesson(lab, "colour_jitter",
                                  metric="test accuracy, colour-pair classes",
                                  failure=jittered["hue jitter"].accuracy,
                                  fix=jittered["brightness + contrast"].accuracy)

# %% [markdown]
# ## 4 · Domain shift: trained on one camera, deployed on another
#
# The model is trained and tested on images from one source, then deployed where the images
# look different: here a second camera with flatter contrast, a warm colour cast and sensor
# noise (`more_causes.through_camera`). The test images are the same; only the camera changes.

# %%
camera_test = more_causes.through_camera(data.x_test, seed=lab.seed + 1)
camera_feats = models.extract_features(base, camera_test, caffe, size=SIZE)
camera_feats = camera_feats.reshape(len(camera_test), -1)
deployed = train.evaluate(head, camera_feats, data.y_test, data.n_classes)
print(f"test accuracy: training camera {usual.accuracy:.1%}, deployment camera "
      f"{deployed.accuracy:.1%}")
plots.image_grid(np.concatenate([data.x_test[:8], camera_test[:8]]), np.repeat([0, 1], 8),
                 ["training camera", "deployment camera"], per_class=8,
                 title="The same test images, through each camera");

# %% [markdown]
# Validation said nothing: it came from the training camera. The fix starts with **measuring
# on data from deployment**; then make the training data look like it. Here each training
# image is also passed through a simulation of the deployment camera (other noise), and the
# head trains on both. Read the last lines: it recovers part of the loss, not all of it, and
# it can cost the training camera a little (a trade the check below weighs). The
# frozen base's features are what changes with the camera; labelled images from the new
# camera and fine-tuning the base on them (lessons 02 and 11) are the next steps, not measured
# here.

# %%
camera_train = more_causes.through_camera(data.x_train, seed=lab.seed + 2)
both_x = np.concatenate([feats.train,
                         models.extract_features(base, camera_train, caffe, size=SIZE)
                         .reshape(len(camera_train), -1)])
both_y = np.concatenate([data.y_train, data.y_train])
shift_head, _ = transfer.train_head(feats, data, name="both cameras", fit=HEAD_FIT,
                                    x_train=both_x, y_train=both_y)
shift_fixed = train.evaluate(shift_head, camera_feats, data.y_test, data.n_classes)
shift_home = train.evaluate(shift_head, feats.test, data.y_test, data.n_classes)
print(f"trained on both cameras: deployment camera {shift_fixed.accuracy:.1%}, training camera "
      f"{shift_home.accuracy:.1%}")
print(f"the deployment camera gains {100 * (shift_fixed.accuracy - deployed.accuracy):.1f} "
      f"points; the training camera moves {100 * (shift_home.accuracy - usual.accuracy):+.1f}; "
      f"the deployment camera is still {100 * (shift_home.accuracy - shift_fixed.accuracy):.1f} "
      "points below the training camera")
verdict = report.check_lesson(lab, "domain_shift", metric="test accuracy, deployment camera",
                              failure=deployed.accuracy, fix=shift_fixed.accuracy)

# %% [markdown]
# ## 5 · A model too small for the data
#
# Found in the wild: a tiny network "to avoid overfitting". Overfitting shows as training
# accuracy far above validation accuracy (lesson 07). A model too small shows the opposite
# signature: **training accuracy is low too**, close to validation. Regularisation cannot
# help; more capacity does. Both networks below train with the same recipe for the same
# epochs, so only the widths differ. The last line is where more capacity and a longer run lead:
# the course's CNN, wider still and trained for more epochs.

# %%
SCRATCH_FIT = scratch.COURSE_FIT.replace(epochs=lab.profile.epochs, seed=lab.seed, progress=False)
sizes = {}
for name, network in (("too small", more_causes.TOO_SMALL),
                      ("right-sized", more_causes.RIGHT_SIZED)):
    model, run = scratch.train_scratch(data, name=name, fit=SCRATCH_FIT, network=network)
    sizes[name] = (run, train.evaluate(model, data.x_test, data.y_test, data.n_classes),
                   models.count_params(model))
    print(f"{name:<12} widths {network.widths}: {sizes[name][2]:>6,} weights | train accuracy "
          f"{run.last('accuracy'):.1%} | val accuracy {run.last('val_accuracy'):.1%} | test "
          f"accuracy {sizes[name][1].accuracy:.1%}")
plots.plot_curves([sizes[n][0] for n in sizes], metrics=("accuracy",),
                  title="Too small: training accuracy stays low too");
verdict = report.check_lesson(lab, "model_size", metric="test accuracy",
                              failure=sizes["too small"][1].accuracy,
                              fix=sizes["right-sized"][1].accuracy)
_, course_accuracy = reference.line(data, lab.seed)
print(f"the course's CNN (widths {scratch.COURSE.widths}, BatchNorm), {scratch.COURSE_FIT.epochs} "
      f"epochs: test accuracy {course_accuracy:.1%}")

# %% [markdown]
# ## 6 · Check: every lesson above holds on this run

# %%
# NBVAL_CHECK_OUTPUT
t = lab.profile.threshold
if top is not None:
    report.claim("include_top=True: the head sees fewer numbers than the conv features give",
                 top_feats.train.shape[1] < feats.train.shape[1])
report.claim("BatchNorm at batch 1 outputs beta whatever the image", outputs_beta)
report.claim(f"BatchNorm at batch 1 trains at chance: train accuracy <= "
             f"{t('batch_size.bn_chance'):.0%}",
             batch_scores["BatchNorm, batch 1"][0].last("accuracy") <= t("batch_size.bn_chance"))
report.claim("BatchNorm at batch 64 is fine: within 10 points of no BatchNorm at batch 1",
             abs(batch_scores["BatchNorm, batch 64"][1].accuracy - bn_fix.accuracy) <= 0.10)
report.claim("one batch per epoch: a 30x LR recovers part of the loss",
             fast.accuracy > full.accuracy)
if colour:
    report.claim(f"brightness + contrast jitter keeps the colour pairs: test accuracy >= "
                 f"{t('colour_jitter.kept'):.0%}",
                 jittered["brightness + contrast"].accuracy >= t("colour_jitter.kept"))
home_cost = usual.accuracy - shift_home.accuracy
report.claim("both cameras: the deployment camera gains more than the training camera loses",
             shift_fixed.accuracy - deployed.accuracy > home_cost)
small_run = sizes["too small"][0]
report.claim(f"too small underfits: train accuracy <= {t('model_size.underfit'):.0%}",
             small_run.last("accuracy") <= t("model_size.underfit"))
small_gap = abs(small_run.last("accuracy") - small_run.last("val_accuracy"))
report.claim("too small: train and val accuracy within 5 points (nothing to regularise)",
             small_gap <= 0.05)
course_works = report.claim(f"more capacity, trained longer (the course's CNN), reaches >= "
                            f"{t('fixed_model'):.0%}", course_accuracy >= t("fixed_model"))

# %% [markdown]
# ## 7 · Try it yourself
#
# Retrain the head of section 2 with the batch size, BatchNorm, learning rate and epochs you
# pick. A click trains on the cached frozen features: each epoch is `2,000 / batch size`
# optimizer steps, so batch size 1 is the slow one (the runs table gives each run's seconds;
# section 2's two batch-1 runs took the seconds printed there). Look for the smallest batch at
# which BatchNorm stops failing, and how the LR must grow with the batch.

# %%
# NBVAL_IGNORE_OUTPUT
panels.batch_size_panel(lab, data, feats)

# %% [markdown]
# ## 8 · Exercises
#
# Predict first, then expand and run the solution cell under each exercise.
#
# 1. Batch size 2 with BatchNorm: near chance like batch 1, or close to batch 64?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 1: the BatchNorm head at batch sizes 2 and 8, two epochs each.
for size in (2, 8):
    model, run = transfer.train_head(feats, data, fit=ONE.replace(batch_size=size),
                                     name=f"BatchNorm, batch {size}", build_head=WITH_BN)
    s = train.evaluate(model, feats.test, data.y_test, data.n_classes)
    print(f"BatchNorm, batch {size}: test accuracy {s.accuracy:.1%}")
# Compare with section 2's batch 1 and batch 64: with two images per batch the statistics
# already carry information, so the collapse to beta is specific to batch size 1 (and to a
# last batch of one image: Keras keeps the last, smaller batch of an epoch, so a training set
# of 64k + 1 images ends each epoch on a batch of one).

# %% [markdown]
# 2. Which of the five mistakes would your validation accuracy have caught during training?
#    (All but the domain shift: in section 4 validation came from the training camera and
#    looked fine. Only data from deployment shows it.)
#
# ## 9 · Takeaways
#
# - `include_top=False` for transfer learning, and your own head on the feature map.
# - BatchNorm needs several images per batch (exercise 1 measures 2 and 8); with a batch of
#   one, drop it or use `LayerNormalization`.
#   A bigger batch means fewer steps per epoch: raise the LR or the epochs with it.
# - Augment only with what does not change the label: no hue jitter when colour is the class.
# - Test on data from where the model will be used; if it differs, make the training data look
#   like it (here a simulated camera; better, labelled images from the new camera).
# - Low training accuracy means the model underfits: more capacity, not more regularisation.
#
# Further reading: [Keras: transfer learning & fine-tuning](https://keras.io/guides/transfer_learning/);
# [Keras: BatchNormalization](https://keras.io/api/layers/normalization_layers/batch_normalization/);
# [Keras: image augmentation layers](https://keras.io/api/layers/preprocessing_layers/image_augmentation/).

# %%
print(lab.elapsed())
