# %% [markdown]
# # 00 · Start here: why image classifiers get low accuracy, and how to fix it
#
# This course reproduces, one notebook at a time, the mistakes that make TensorFlow/Keras image
# classifiers land at 10-60% accuracy when they should do much better. Each lesson runs the code
# as people write it, measures the failure, shows the evidence for *why* it fails, applies the
# fix, and measures again, side by side. Each ends with a panel of sliders to retrain the model
# yourself, live.
#
# | # | lesson | the failure | the fix |
# |---|---|---|---|
# | 01 | [Raw pixels and mismatched preprocessing](01_preprocessing.ipynb) | 0-255 inputs with SGD; a pretrained base fed 0-1, RGB, grayscale, or unpreprocessed images | scaling inside the model; the base's own `preprocess_input`, at train and predict time, inside the model; then fine-tune the base |
# | 02 | [An unfrozen pretrained base](02_unfrozen_base.ipynb) | with few labels per class, a fresh head and the whole base trained at Adam 1e-3 | freeze, train the head, unfreeze the top blocks at a 100x lower LR; with many labels, then fine-tune every block gently |
# | 03 | [A learning rate too high (or too low)](03_learning_rate.ipynb) | stuck at chance level / a plateau | LR range test and a cosine decay |
# | 04 | [A VGG-style base on 32x32 images](04_small_images.ipynb) | objects far smaller than the base's pretraining scale (and a 1x1 final map): the two measured apart | upsample to the base's resolution, then fine-tune; or cut the base earlier |
# | 05 | [Class imbalance](05_class_imbalance.ipynb) | the accuracy paradox | class weights, oversampling, targeted augmentation; balanced accuracy and macro F1 |
# | 06 | [`validation_split` on sorted data](06_validation_split.ipynb) | validation holds only classes never trained on | a seeded, stratified split |
# | 07 | [Overfitting without augmentation](07_overfitting.ipynb) | train accuracy near 100%, validation far lower | augmentation layers, dropout, weight decay, early stopping; with 30 images per class, a pretrained base fine-tuned |
# | 08 | [Wrong head or loss](08_wrong_head_or_loss.ipynb) | sigmoid/softmax/logits/label mismatches, misleading metrics | softmax + sparse categorical cross-entropy (or logits + `from_logits=True`); then fine-tune the base |
# | 09 | [Channel order and colour mode](09_channel_order.ipynb) | trained on Keras' RGB, served with `cv2.imread`'s BGR; grayscale when colour is the class | one loader for training and serving (or `cv2.cvtColor`); keep `color_mode="rgb"` |
# | 10 | [BatchNorm when fine-tuning](10_batchnorm_finetuning.ipynb) | a BatchNorm base fine-tuned with `base(x, training=False)`, which Keras 3's `fit` overrides | `trainable = False` on every BatchNorm layer, convolutions trainable |
# | 11 | [Capstone: the doctor](11_capstone.ipynb) | a pipeline with four faults at once, and a training plan the doctor flags as info | `labkit.doctor.diagnose`, then one fix at a time; then the head first and every block at 1e-4 |
#
# ## How to run it
#
# From the repository root, on a machine with Python 3.11:
#
# - `make lab`: creates `.venv`, installs the pinned packages and `labkit`, and opens this
#   notebook in JupyterLab. (`make html` instead executes every notebook headless and writes
#   HTML to `artifacts/html/`.)
# - `make test`: unit tests, then every notebook executed and checked with nbval.
#
# Conda users: `conda env create -f environment.yml`, then `jupyter lab notebooks/`.
#
# ## The first cell of every notebook

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
import labkit
from labkit import lessondata, plots, shapes

lab = labkit.setup()

# %% [markdown]
# `labkit.setup()` picks a **profile**, seeds Python, NumPy and TensorFlow (so a run gives the
# same numbers twice on the same machine), quiets TensorFlow's logs and says whether a GPU is
# used. Choose the profile with the `LABKIT_PROFILE` environment variable (`quick` by default)
# or `labkit.setup("full")`:

# %%
for profile in labkit.PROFILES.values():
    print(f"{profile.name:>5}: {profile.description}")
    print(f"       data {profile.dataset}, base {profile.backbone}, {profile.n_train} training "
          f"images, {profile.epochs} epochs from scratch")

# %% [markdown]
# - **quick** (the default; what CI and CPU-only learners run): fully offline, each notebook in
#   a few minutes on 2 CPU cores. It uses labkit's own synthetic dataset and a small VGG-shaped
#   base pretrained by labkit (below).
# - **full** (workshops with internet, a GPU recommended): the real CIFAR-10 and Keras' VGG16
#   with ImageNet weights, more images and epochs. The first run downloads CIFAR-10 (170 MB)
#   and the VGG16 weights (58 MB); offline, labkit says exactly which file to put where.
#
# ## The offline dataset: labkit shapes
#
# CIFAR-10 and ImageNet weights need a download, and a course that must run anywhere, in CI and
# offline, cannot rely on one. So the quick profile uses a **synthetic** CIFAR-like dataset that
# labkit draws with NumPy: 10 classes of 32x32 colour images, any number, any resolution,
# deterministic per seed, thousands of images a second, cached on disk, no licence questions.
# Each image places one object at a random position, scale, rotation and colour on a gradient
# background, with a little noise and at most two small distractor shapes that never look like
# a class: every image has one right answer, so a well-trained model can get nearly all of them
# right, and a lesson's fix can end at a model that works. Some classes differ **only by
# colour** (red vs blue disc, yellow vs cyan square: each pair is the other with red and blue
# channels swapped), so colour and channel-order mistakes show. It is not CIFAR-10: it is easier
# (clean shapes, one object per image). The lessons' lessons carry over; the numbers differ,
# which is why every notebook prints its own.

# %%
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
plots.image_grid(data.x_train, data.y_train, data.class_names, per_class=8);

# %% [markdown]
# ## The pretrained base
#
# Transfer learning needs a base pretrained on *other* data. Offline, labkit ships "MiniVGG":
# VGG16's five conv blocks and layer names (`block1_conv1` ... `block5_pool`), with narrow
# widths, pretrained by `python -m labkit.dev.pretrain` on a **separate source task** (13 other
# classes at 64x64: shapes, and ellipses whose colour is their class) with VGG16's own
# caffe-style preprocessing. The lessons' classes never appear in pretraining, so using the
# base is transfer, not leakage.

# %%
import json

from labkit import models

meta = json.loads((models.WEIGHTS_DIR / "minivgg_source.json").read_text())
print(f"source task: {len(meta['classes'])} classes, {meta['n_train']} images, "
      f"{meta['epochs']} epochs, {meta['seconds'] / 60:.0f} min on the machine that trained it; "
      f"held-out source accuracy {meta['source_accuracy']:.1%}")
x_src, y_src = shapes.make_shapes(130, 64, seed=lab.seed, task="source")
plots.image_grid(x_src, y_src, shapes.class_names("source"), per_class=6);

# %% [markdown]
# ## How each lesson is built
#
# Title and what you will see → setup → **1** the code as found in the wild → **2** run it →
# **3** diagnose (inputs, activations, weights, per-class metrics) → **4** the fix → **5** run it,
# side by side → **6** check (asserts: if the lesson does not show, the notebook fails its test)
# → **7** try it yourself (a retrain panel) → **8** exercises (solutions in a collapsed cell) →
# **9** takeaways.
#
# Code from the wild is shown as found (`ImageDataGenerator`, `Adam(lr=...)`); where it is legacy,
# the lesson says so and shows the Keras 3 equivalent. All shared code lives in `labkit/`, so
# the notebooks stay short: read it when you want to see how something is done.
#
# **Next:** [01 · Raw pixels and mismatched preprocessing](01_preprocessing.ipynb).

# %%
print(lab.elapsed())
