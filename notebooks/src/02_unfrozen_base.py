# %% [markdown]
# # 02 · An unfrozen pretrained base
#
# **What you will see.** A pretrained base with a fresh, random head, everything trained at once
# with a normal learning rate (Adam 1e-3): the large early gradients from the random head flow
# into the base and overwrite what it learned in pretraining. We measure how far each block's
# weights move, how much the base's features change, and how much of its pretraining task it
# can still do. The fix: **freeze** the base, train the head, then **unfreeze the top blocks**
# and fine-tune with a learning rate 10-100x lower.
#
# An honest warning, measured below: on this course's offline data the rewritten base can still
# score well on the *new* task, because 2000 labelled images are enough to relearn much of what
# was lost. The damage is to what the base knew; it costs accuracy when your labelled set is too
# small to relearn it, or the pretrained features are better than anything you can learn
# (ImageNet VGG16 on CIFAR-10: the full profile).
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
import labkit
from labkit import evidence, lessondata, models, panels, plots, report, train, transfer
from labkit.train import FitSettings

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
SIZE = lab.profile.base_size  # the base's own resolution (lesson 04 shows why)
EPOCHS = lab.profile.finetune_epochs
FIT = FitSettings(epochs=EPOCHS, seed=lab.seed)  # Adam, lr 1e-3, batch 64: change per run

# %% [markdown]
# ## 1 · The code as found in the wild
#
# ```python
# base = VGG16(weights="imagenet", include_top=False, input_shape=(224, 224, 3))
# x = Flatten()(base.output)
# x = Dense(256, activation="relu")(x)
# outputs = Dense(10, activation="softmax")(x)
# model = Model(base.input, outputs)                       # base.trainable is True by default
# model.compile(optimizer=Adam(learning_rate=1e-3), loss="sparse_categorical_crossentropy", ...)
# model.fit(x_train, y_train, epochs=5)
# ```
#
# The images are resized to the base's resolution and preprocessed its way once
# (`transfer.prepare`); `transfer.finetune(..., unfreeze_blocks=None)` is the snippet above.

# %%
images = transfer.prepare(data, transfer.lesson_base(lab.profile)[1], size=SIZE)
wild_base, _ = transfer.lesson_base(lab.profile)
pretrained_weights = evidence.block_weights(wild_base)
print(f"trainable parameters, everything unfrozen: {models.count_params(wild_base):,} in the base")
wild_model, wild_run = transfer.finetune(wild_base, images, data, name="all at once, Adam 1e-3",
                                         fit=FIT.replace(lr=1e-3), hidden=256)

# %% [markdown]
# ## 2 · Run it

# %%
wild_test = train.evaluate(wild_model, images.test, data.y_test, data.n_classes)
print(f"all at once, Adam 1e-3: {wild_test}")
plots.plot_curves([wild_run], title="Unfrozen base + fresh head, Adam 1e-3");

# %% [markdown]
# ## 3 · Diagnose: what happened to the pretrained base?
#
# Three pieces of evidence. **Weight drift**: the relative change of each block's kernels,
# `|W_after - W_before| / |W_before|`. **Feature similarity**: the cosine similarity between the
# base's features for the same test images before and after training (1.0 = unchanged).
# **Pretraining task**: how well the base still does the task it was pretrained on (the
# offline base ships its source-task head; VGG16's ImageNet check is not available offline).

# %%
pretrained_base, caffe = transfer.lesson_base(lab.profile)
pretrained_feats = transfer.features(pretrained_base, data, caffe, size=SIZE)


def forgetting_evidence(base, before_weights):
    """Weight drift per block, feature similarity on test images, source-task accuracy."""
    drift = evidence.weight_drift(before_weights, base)
    after = models.extract_features(base, data.x_test, caffe, size=SIZE)
    similarity = evidence.feature_similarity(pretrained_feats.test, after)
    return drift, similarity, transfer.source_task_accuracy(base)


def pct(value):
    return "n/a" if value is None else f"{value:.1%}"


source_before = transfer.source_task_accuracy(pretrained_base)
wild_drift, wild_similarity, wild_source = forgetting_evidence(wild_base, pretrained_weights)
for block, change in wild_drift.items():
    print(f"{block}: weights changed by {change:.1%}")
print(f"feature similarity to the pretrained base: {wild_similarity:.3f}")
print(f"pretraining-task accuracy: {pct(source_before)} before, {pct(wild_source)} after")
plots.plot_bars(wild_drift, title="Weight drift per block, all at once", ylabel="relative change");

# %% [markdown]
# The deeper the block, the more it moved: the random head's gradients hit the top blocks first
# and hardest. Those blocks hold the most task-specific pretrained features.
#

# %% [markdown]
# ## 4 · The fix: freeze, train the head, then unfreeze the top blocks at a low learning rate
#
# **Stage 1:** freeze the base and train only the head. With the base frozen, its features never
# change, so labkit computes them once and trains the head on them (seconds, not minutes).
#
# **Stage 2:** unfreeze the top two blocks and fine-tune them with the head, at a learning rate
# 100x lower (Adam 1e-5), so the head's now-sensible gradients only nudge the features.

# %%
base, _ = transfer.lesson_base(lab.profile)
feats = transfer.features(base, data, caffe, size=SIZE)
head, head_run = transfer.train_head(
    feats, data, name="stage 1: head on frozen base",
    fit=FitSettings(epochs=lab.profile.head_epochs, seed=lab.seed, progress=False))
head_test = train.evaluate(head, feats.test, data.y_test, data.n_classes)
print(f"stage 1, frozen base + head: {head_test}")

# %%
before = evidence.block_weights(base)
FINE_LR, TOP_BLOCKS = 1e-5, 2
models.unfreeze_top_blocks(base, TOP_BLOCKS)
print(f"trainable parameters in the base now: {models.count_params(base):,} "
      f"(blocks {', '.join(models.block_names(base)[-TOP_BLOCKS:])})")
fix_model, fix_run = transfer.finetune(base, images, data, name="stage 2: top 2 blocks, Adam 1e-5",
                                       fit=FIT.replace(lr=FINE_LR), unfreeze_blocks=TOP_BLOCKS,
                                       head=head)
fix_test = train.evaluate(fix_model, images.test, data.y_test, data.n_classes)
fix_drift, fix_similarity, fix_source = forgetting_evidence(base, before)

# %% [markdown]
# ## 5 · Side by side

# %%
rows = {"all at once, Adam 1e-3": (wild_test, wild_similarity, wild_source),
        "staged (head, then top blocks at 1e-5)": (fix_test, fix_similarity, fix_source)}
print(f"{'':<40}{'new-task accuracy':>18}{'features kept':>15}{'pretraining task':>18}")
print(f"{'frozen base + head (stage 1)':<40}{head_test.accuracy:>18.1%}{1.0:>15.3f}"
      f"{pct(source_before):>18}")
for name, (scores, similarity, source) in rows.items():
    print(f"{name:<40}{scores.accuracy:>18.1%}{similarity:>15.3f}{pct(source):>18}")
for block in wild_drift:
    print(f"{block}: drift all at once {wild_drift[block]:.1%}, staged {fix_drift[block]:.2%}")
gap = wild_test.accuracy - fix_test.accuracy
print("verdict on the new task: " + (
    f"all at once scored {gap:.1%} higher here: with this much labelled data, rewriting the "
    "base paid off on the new task" if gap > 0 else f"staged fine-tuning scored {-gap:.1%} higher"))
plots.plot_curves([wild_run, head_run, fix_run], metrics=("accuracy",),
                  title="All at once vs staged fine-tuning");

# %% [markdown]
# Did pretraining help the all-at-once run at all, or would any VGG-shaped network have done as
# well? The control: the same network and training, starting from random weights.

# %%
random_base, _ = transfer.lesson_base(lab.profile, weights=None)
random_model, random_run = transfer.finetune(random_base, images, data,
                                             name="same, from random weights", hidden=256,
                                             fit=FIT.replace(lr=1e-3, progress=False))
random_test = train.evaluate(random_model, images.test, data.y_test, data.n_classes)
print(f"all at once from pretrained weights: {wild_test.accuracy:.1%}; "
      f"from random weights: {random_test.accuracy:.1%}")

# %% [markdown]
# ## 6 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
verdict = report.check_lesson(lab, "unfrozen_base", metric="features kept (cosine similarity)",
                              failure=wild_similarity, fix=fix_similarity)

# %%
# NBVAL_CHECK_OUTPUT
report.claim("all at once moves the base's weights >= 10x more than staged fine-tuning",
             max(wild_drift.values()) >= 10 * max(fix_drift.values()))
report.claim("staged fine-tuning keeps the pretrained features (similarity >= 0.95)",
             fix_similarity >= 0.95)
report.claim("pretrained weights beat random ones when everything trains",
             wild_test.accuracy > random_test.accuracy)
report.claim("staged fine-tuning does not lose what stage 1 reached",
             fix_test.accuracy >= head_test.accuracy - 0.01)
print(f"staged keeps the features better by >= {verdict.min_margin:.2f}: True")

# %% [markdown]
# ## 7 · Try it yourself
#
# Fine-tune the top blocks on top of the stage-1 head: choose how many blocks to unfreeze and
# the learning rate. Where does it start to hurt?

# %%
# NBVAL_IGNORE_OUTPUT
panels.finetune_panel(lab, data, images, head)

# %% [markdown]
# ## 8 · Exercises
#
# 1. Run the wild snippet with Adam 1e-5 instead of 1e-3 (everything unfrozen). Is the learning
#    rate or the unfreezing the bigger problem?
# 2. Unfreeze all five blocks in stage 2 at 1e-5. Compare the drift of block1 with the wild run.
# 3. Why is `base.trainable = False` set **before** `compile`? What happens if you change it
#    after compiling?

# %% jupyter={"source_hidden": true}
# Solutions (expand to read).
# 1. b, _ = transfer.lesson_base(lab.profile)
#    m, r = transfer.finetune(b, images, data, name="all, 1e-5", fit=FIT.replace(lr=1e-5),
#                             hidden=256)
#    A low LR protects the base but the random head then learns slowly: staged training gets both.
# 2. models.unfreeze_top_blocks(base, 5): block1 drifts a fraction of a percent at 1e-5.
# 3. Keras reads `trainable` when the train step is built: in Keras 3 changing it requires
#    compiling again, otherwise the old setting stays in force.

# %% [markdown]
# ## 9 · Takeaways
#
# - A fresh head's random gradients are large; never let them reach an unfrozen pretrained base
#   at a normal learning rate.
# - Freeze → train the head → unfreeze the top blocks → fine-tune at a 10-100x lower LR, and
#   re-`compile` after changing `trainable`.
# - Legacy code from the wild: `for layer in base.layers[:15]: layer.trainable = False` works in
#   Keras 3 too; labkit's `models.unfreeze_top_blocks` does it by block name.
#
# Further reading: [Keras guide: transfer learning & fine-tuning](https://keras.io/guides/transfer_learning/).

# %%
print(lab.elapsed())
