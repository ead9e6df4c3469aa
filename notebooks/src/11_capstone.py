# %% [markdown]
# # 11 · Capstone: a broken pipeline, the doctor, and one fix at a time
#
# **What you will see.** A transfer-learning pipeline as it might arrive on a forum: several of
# this course's mistakes at once. `labkit.doctor.diagnose` inspects the model and the data
# *before training* and names each fault with its evidence, its fix and the lesson that shows
# it. We fix the faults one at a time, retrain after each, and watch the test accuracy and the
# doctor's list change. You can run the doctor on your own model the same way.
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

from labkit import lessondata, models, panels, plots, report, splits, transfer
from labkit.lessons import capstone

lab = labkit.setup()
data = lessondata.load_lesson_data(lab.profile, seed=lab.seed)
print(data.describe())
EPOCHS = lab.profile.finetune_epochs

# %% [markdown]
# ## 1 · The pipeline as found in the wild
#
# ```python
# x, y = load_images_folder_by_folder("data/")                   # sorted by class, 32x32
# base = VGG16(weights="imagenet", include_top=False, input_shape=(32, 32, 3))
# model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Rescaling(1/255), base,
#                           keras.layers.Flatten(), keras.layers.Dense(10, activation="sigmoid")])
# model.compile(optimizer=Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"])
# model.fit(x, y, epochs=5, validation_split=0.2)
# ```
#
# `capstone.Pipeline()` builds exactly that with the course's base; each field is one fault.

# %%
broken = capstone.Pipeline()
print(broken)
broken_run, broken_test = capstone.run(broken, data, lab.profile, name="as found",
                                       epochs=EPOCHS, seed=lab.seed)
print(f"as found: final val accuracy {broken_run.last('val_accuracy'):.1%}, test {broken_test}")

# %% [markdown]
# ## 2 · Ask the doctor
#
# `labkit.doctor.diagnose(model, x, y, ...)` probes what each layer receives, the head, the loss,
# the labels, the split, the base's trainable state and the class balance. The capstone's
# `examine` builds the pipeline and calls it.

# %%
first_report = capstone.examine(broken, data, lab.profile, seed=lab.seed)
print(first_report)

# %% [markdown]
# ## 3 · Fix one thing at a time
#
# In the order a careful engineer would: first what makes the measurements lie (the split), then
# what the base receives (preprocessing, resolution), then the head. Step 5 then follows what the
# doctor leaves as *info* (the unfrozen base, lesson 02): train the head first on the frozen base,
# then fine-tune every block at a low learning rate (1e-4) instead of training everything at 1e-3
# with a fresh head.

# %%
steps = {"as found": broken}
steps["1 stratified split"] = steps["as found"].fixed(split="stratified")
steps["2 caffe preprocessing"] = steps["1 stratified split"].fixed(inputs="caffe")
steps["3 upsample to base size"] = steps["2 caffe preprocessing"].fixed(size=lab.profile.base_size)
steps["4 softmax head"] = steps["3 upsample to base size"].fixed(head="softmax")
steps["5 head first, then fine-tune"] = steps["4 softmax head"].fixed(staged=True)

results = {"as found": (broken_run, broken_test, first_report)}
for name, pipeline in list(steps.items())[1:]:
    # A staged pipeline trains the head for EPOCHS, then every block for capstone.FINE_TUNE_EPOCHS.
    epochs = EPOCHS + (capstone.FINE_TUNE_EPOCHS if pipeline.staged else 0)
    fitted, scores = capstone.run(pipeline, data, lab.profile, name=name, epochs=EPOCHS,
                                  seed=lab.seed, progress=False)
    found = capstone.examine(pipeline, data, lab.profile, seed=lab.seed)
    results[name] = (fitted, scores, found)
    print(f"{name:<30} {epochs:>2} epochs {fitted.seconds:5.0f} s   test accuracy "
          f"{scores.accuracy:6.1%}   doctor: {len(found.problems)} problem(s), "
          f"{len(found.warnings)} warning(s), {len(found.infos)} info")

# %% tags=["plain-keras"] jupyter={"source_hidden": true}
# The plain Keras behind step 5, `capstone.run(steps["5 head first, then fine-tune"], ...)`: the
# pipeline with every fault fixed, run here and compared with the helper's numbers.
keras.utils.set_random_seed(lab.seed)
x_sorted, y_sorted = data.pooled_by_class()  # the images as they arrived, sorted by class
x_tr, y_tr, x_va, y_va = splits.stratified_split(x_sorted, y_sorted, 0.2, seed=lab.seed)  # 06
SIZE = lab.profile.base_size
plain_base, _ = transfer.lesson_base(lab.profile)  # full profile: VGG16(include_top=False, ...)
plain_base.trainable = False  # stage 1: the head alone, on the frozen base
inputs = keras.Input(x_tr.shape[1:])  # the images as stored, uint8 0-255
x = keras.layers.Resizing(SIZE, SIZE)(inputs)  # the base's pretraining size (lesson 04)
x = models.caffe_layer()(x)  # the base's preprocess_input, as a layer (lesson 01)
x = keras.layers.Flatten()(plain_base(x))
plain = keras.Model(inputs, keras.layers.Dense(data.n_classes, activation="softmax")(x))  # 08
plain.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stage_1 = plain.fit(x_tr, y_tr, epochs=EPOCHS, batch_size=64, validation_data=(x_va, y_va),
                    verbose=0)
plain_base.trainable = True  # stage 2: every block, at a fine-tuning rate (lesson 02)
plain.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-4),
              loss="sparse_categorical_crossentropy", metrics=["accuracy"])
stage_2 = plain.fit(x_tr, y_tr, epochs=capstone.FINE_TUNE_EPOCHS, batch_size=64,
                    validation_data=(x_va, y_va), verbose=0)
plain_val_loss = stage_1.history["val_loss"] + stage_2.history["val_loss"]
same_step_5 = bool(np.allclose(plain_val_loss, results["5 head first, then fine-tune"][0]
                               .history["val_loss"], atol=1e-4))
plain_loss, plain_accuracy = plain.evaluate(data.x_test, data.y_test, verbose=0)
print(f"plain Keras: test accuracy {plain_accuracy:.1%} (step 5: "
      f"{results['5 head first, then fine-tune'][1].accuracy:.1%}); same validation losses, "
      f"epoch by epoch, as capstone.run: {same_step_5}")

# %% [markdown]
# ## 4 · Side by side

# %%
plots.plot_bars({k: v[1].accuracy for k, v in results.items()},
                title="Test accuracy after each fix", ylabel="test accuracy");
plots.plot_curves([v[0] for v in results.values()], metrics=("accuracy",),
                  title="Validation and training accuracy per step");
fixed_name, staged_name = "4 softmax head", "5 head first, then fine-tune"
fixed_report = capstone.examine(steps[fixed_name], data, lab.profile, seed=lab.seed,
                                run_lr_test=True)
print(f"the doctor after step 4 (with an LR range test):\n{fixed_report}")
fixed_test, staged_test = results[fixed_name][1], results[staged_name][1]
print(f"step 5 (head first, then every block at 1e-4) vs step 4 (everything at 1e-3): "
      f"{staged_test.accuracy:.1%} vs {fixed_test.accuracy:.1%} test accuracy")
print(f"the doctor after step 5:\n{results[staged_name][2]}")

# %% [markdown]
# Not every fix moves accuracy by itself. A fixed split does not train a better model: it makes
# validation measure something, and it gives the model the two classes it never saw. The
# sigmoid head changes nothing here because Keras 3 recovers the logits behind a sigmoid or
# softmax output and computes the cross-entropy from them, so training is the same; its outputs
# are still not probabilities (they do not sum to 1), which breaks thresholds and confidence
# (lesson 08). The doctor's last remark (an *info*, not a problem) is the training plan: a fresh
# head trained together with the whole base at 1e-3 pushes large early gradients into the
# pretrained features. Step 5 trains the head first on the frozen base and then fine-tunes every
# block at 1e-4, lesson 02's recipe: compare steps 4 and 5 above. The lines above are this run's
# account.
#
# ## 5 · Check: the lesson holds on this run

# %%
# The lesson's verdict: asserts the promised margin and prints the RESULT line for README.
verdict = report.check_lesson(lab, "capstone", metric="test accuracy",
                              failure=broken_test.accuracy, fix=fixed_test.accuracy)
tuned_verdict = report.check_lesson(lab, "capstone", case="then head first, fine-tuned",
                                    metric="test accuracy", failure=broken_test.accuracy,
                                    fix=staged_test.accuracy)

# %%
# NBVAL_CHECK_OUTPUT
report.claim("the doctor finds at least 4 problems in the pipeline as found",
             len(first_report.problems) >= 4)
report.claim("after steps 1-4 the doctor finds no problem", fixed_report.ok)
report.claim("after step 5 it finds no warning either", not results[staged_name][2].warnings)
t = lab.profile.threshold
report.claim(f"after step 5 the model reaches >= {t('fixed_model'):.0%} test accuracy",
             staged_test.accuracy >= t("fixed_model"))
report.claim("step 5 (head first, then fine-tune) does not lose to step 4",
             staged_test.accuracy >= fixed_test.accuracy - 0.01)
report.claim("the plain Keras cell repeats step 5's run", same_step_5)
print(f"fixing the problems beats the pipeline as found by >= {100 * verdict.min_margin:.0f} "
      "points: True")

# %% [markdown]
# ## 6 · Try it yourself
#
# The pipeline, fault by fault. Controls: **split** (Keras' `validation_split` on the sorted
# data, or a stratified split), **inputs** (0-1 or the base's caffe preprocessing), **head**
# (sigmoid or softmax), **plan** (everything at once, or the head first and then every block
# at 1e-4 for `capstone.FINE_TUNE_EPOCHS` more epochs), **size** (the images as stored, or
# upsampled to the base's pretraining size), and **epochs** (1-15). A click trains the whole
# pipeline, so it costs about what the matching step of section 3 took (its seconds are printed
# there); upsampled runs are the slow ones. The status line and the runs table give each run's
# **test** accuracy next to its best validation accuracy. Look for: the validation accuracy of
# the sorted split (it measures classes the model never trained on), and which single fault,
# switched back on in the fixed pipeline, costs the most.

# %%
# NBVAL_IGNORE_OUTPUT
panels.capstone_panel(lab, data)

# %% [markdown]
# ## 7 · Try it on your own model
#
# ```python
# from labkit import doctor
# print(doctor.diagnose(model, x_train, y_train, validation_split=0.2))   # before model.fit
# ```
#
# The doctor needs the compiled model, a sample of your training images (NumPy, 0-255 or as you
# feed them) and labels. It runs a short LR range test on a copy of the model
# (`run_lr_test=False` to skip it) and never changes your model.
#
# ## 8 · Exercises
#
# Predict first, then expand and run the solution cell under exercises 2 and 3.
#
# 1. Fix the faults in another order (e.g. the head first): build the `steps` dictionary above
#    in your order and run the loop again. Does the final accuracy change? Does the accuracy
#    after each step? (Five trainings: a few minutes on a CPU, so no solution cell runs it.
#    The final pipeline is the same whatever the order, so it reaches the same accuracy; the
#    steps in between differ, which is why a checklist beats guessing which knob matters.)
# 2. Break something else: a pipeline with every fault fixed except a learning rate of 0.5 (and
#    the base frozen). What does the doctor say with `run_lr_test=True`?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 2: the doctor, with its LR range test, on a learning rate of 0.5.
bad = capstone.Pipeline(split="stratified", head="softmax", inputs="caffe",
                        size=lab.profile.base_size, base_trainable=False, lr=0.5)
bad_report = capstone.examine(bad, data, lab.profile, seed=lab.seed, run_lr_test=True)
print(bad_report)

# %% [markdown]
# 3. Make the training data imbalanced (lesson 05: 20 times fewer images of three classes) and
#    run the doctor on the pipeline of step 4. What does it report?

# %% tags=["solution"] jupyter={"source_hidden": true}
# Solution 3: the doctor on step 4's model, the training images made imbalanced.
from labkit import doctor, splits

x_rare, y_rare = splits.make_imbalanced(data.x_train, data.y_train, ratio=20,
                                        minority_classes=[5, 6, 7], seed=lab.seed)
model_4, _ = capstone.build(steps[fixed_name], lab.profile, data.n_classes)
print(doctor.diagnose(model_4, x_rare, y_rare, run_lr_test=False))

# %% [markdown]
# ## 9 · Takeaways
#
# - Low accuracy usually has several causes at once; fix what corrupts your *measurements*
#   first, then what the model receives, then the head and the training plan.
# - Check before you train: input statistics, the feature-map size, the head/loss/label match,
#   the split, the trainable state and the class balance are all visible before `fit`.
#
# Back to the start: [00 · Start here](00_start_here.ipynb).

# %%
print(lab.elapsed())
