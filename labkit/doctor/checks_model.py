"""Checks of the model itself: head and loss vs labels, the pretrained base's trainable state,
its BatchNorm layers, and how small the last feature map gets."""

from __future__ import annotations

import math

import numpy as np

from labkit.doctor.context import Context, _loss_info, _spatial
from labkit.doctor.report import INFO, NOTEBOOKS, PROBLEM, WARNING, Finding

# At most this, a rate for fine-tuning a pretrained base (lesson 02 fine-tunes every block at
# 1e-4); above it, a head's rate. Compared with a relative tolerance: Keras keeps the rate in
# float32, where 1e-4 reads back as 9.99999974e-05.
FINETUNE_MAX_LR = 1e-4
FEW_LABELS_PER_CLASS = 100  # below this, a trainable base at a head's LR mostly overfits
SMALL_INPUT = 64  # a 1x1 last feature map matters for images this small or smaller


def check_head_loss_labels(ctx: Context) -> list[Finding]:
    """Output activation, loss, label format and number of units must agree."""
    act, units, n = ctx.output_activation, ctx.units, ctx.n_classes
    kind, from_logits, name = _loss_info(ctx.loss)
    found: list[Finding] = []

    def add(check: str, evidence: str, fix: str, severity: str = PROBLEM) -> None:
        found.append(Finding(check, severity, evidence, fix, NOTEBOOKS["head_loss"]))

    labels = (f"one-hot labels of width {n}" if ctx.onehot
              else f"integer labels 0..{int(ctx.y_int.max())}")
    if ctx.loss is None:
        ctx.notes.append("head/loss: the model is not compiled and no loss= was given, so only "
                         "the number of output units was checked.")
    elif kind is None:
        ctx.notes.append(f"head/loss: unknown loss {name!r}; activation/loss checks skipped.")
    if kind in ("sparse", "categorical") and act == "sigmoid" and n > 2:
        add("head_activation_loss",
            f"The output layer uses sigmoid but the loss is {name} over {n} classes: sigmoid "
            "scores each class on its own, so the outputs do not form one distribution (they "
            "do not sum to 1). Keras 3 on TensorFlow computes the loss from the logits behind "
            "the sigmoid, so training can look fine while probabilities and thresholds are "
            "wrong.",
            "Use `Dense(n_classes, activation='softmax')` for single-label classes.")
    if kind == "binary" and act == "softmax":
        add("head_activation_loss",
            f"The output layer uses softmax ({units} units) but the loss is {name}: "
            + ("a 1-unit softmax always outputs 1.0, so nothing is learned."
               if units == 1 else "Keras then reports binary accuracy per unit, not accuracy."),
            "Use softmax with sparse_categorical_crossentropy for one label per image, or "
            "`Dense(1, activation='sigmoid')` with binary_crossentropy for two classes.")
    if kind is not None and from_logits and act in ("softmax", "sigmoid"):
        add("from_logits",
            f"The loss {name} is configured with from_logits=True but the {units}-unit output "
            f"layer already applies {act}, so the loss applies it a second time.",
            f"Drop from_logits=True, or make the last layer linear (`Dense({units})`).")
    if kind is not None and not from_logits and act == "linear":
        add("from_logits",
            f"The {units}-unit output layer is linear (logits) but the loss {name} has "
            "from_logits=False, so it treats the logits as probabilities.",
            f"Use `keras.losses.{_loss_class(kind)}(from_logits=True)` or add "
            "activation='softmax' to the last layer.")
    if kind == "sparse" and ctx.onehot:
        add("label_format",
            f"The loss is {name} but y is one-hot ({n} columns); it expects integer "
            "class indices.",
            "Use loss='categorical_crossentropy', or pass y.argmax(axis=1).")
    if kind == "categorical" and not ctx.onehot:
        add("label_format",
            f"The loss is {name} but y holds {labels}; it expects one-hot rows.",
            "Use loss='sparse_categorical_crossentropy', or pass "
            "keras.utils.to_categorical(y).")
    if kind == "binary" and not ctx.onehot and n > 2:
        add("label_format",
            f"The loss is {name} but y holds {labels}: {n} classes, not 0/1.",
            "Use softmax with loss='sparse_categorical_crossentropy' for more than two classes.")
    if units is not None:
        binary_head = units == 1 and n <= 2 and act != "softmax" and kind in (None, "binary")
        if units < n and not binary_head:
            add("head_units",
                f"The output layer has {units} unit{'s' * (units != 1)} but y has {n} classes "
                f"({labels}).",
                f"End the model with `keras.layers.Dense({n}, activation='softmax')`.")
        elif units > n and not ctx.onehot:
            add("head_units",
                f"The output layer has {units} units but y holds only {n} classes ({labels}); "
                "fine if this y is a subset, otherwise the head is the wrong size.",
                f"End the model with `keras.layers.Dense({n}, activation='softmax')` unless the "
                "missing classes exist elsewhere.", WARNING)
    return found


def _loss_class(kind: str) -> str:
    return {"sparse": "SparseCategoricalCrossentropy", "categorical": "CategoricalCrossentropy",
            "binary": "BinaryCrossentropy"}[kind]



def _base_weights(ctx: Context) -> tuple[int, int]:
    """(trainable, total) parameters of the pretrained base, as the model will train them."""
    from labkit import models

    leaves = []
    for layer in ctx.base.layers:
        leaves.extend([layer] + models.walk_layers(layer))
    weights = {id(w): w for layer in leaves for w in layer.weights}
    total = sum(int(np.prod(w.shape)) for w in weights.values())
    model_ids = {id(w) for w in ctx.model.weights}
    if weights and set(weights) <= model_ids:
        trainable_ids = {id(w) for w in ctx.model.trainable_weights}
    else:  # a base= that is not (all) inside the model: its own flags
        trainable_ids = {id(w) for layer in leaves for w in layer.trainable_weights}
    trainable = sum(int(np.prod(w.shape)) for i, w in weights.items() if i in trainable_ids)
    return trainable, total


def check_unfrozen_base(ctx: Context) -> list[Finding]:
    """A trainable pretrained base: a problem only at a head's learning rate with few labels.

    Fine-tuning the whole base is the better choice when labelled images per class are
    plentiful; freezing it first is the better choice when they are few. The finding states the
    measured regime and lets the learner decide.
    """
    if ctx.base is None:
        return []
    trainable, total = _base_weights(ctx)
    if not trainable:
        return []
    share = f"{trainable:,} of the pretrained base's {total:,} parameters " \
            f"({trainable / max(total, 1):.0%}) are trainable"
    per_class = ctx.per_class
    known = ctx.data.n_total is not None
    labels = (f"about {per_class:.0f} labelled images per class ({ctx.data.n_total} images, "
              f"{ctx.n_classes} classes)" if known else
              f"at least {per_class:.0f} labelled images per class (the dataset's size is "
              f"unknown; {len(ctx.y)} images read)")
    if ctx.lr is None:
        ctx.notes.append(f"unfrozen_base: {share}, with {labels}, but the learning rate is "
                         "unknown (compile the model or pass lr=), so the regime was not judged.")
        return []
    if ctx.lr <= FINETUNE_MAX_LR * (1 + 1e-6):
        ctx.notes.append(f"unfrozen_base: {share} at learning rate {ctx.lr:.0e} (a fine-tuning "
                         f"rate, at most {FINETUNE_MAX_LR:.0e}), with {labels}.")
        return []
    nb = NOTEBOOKS["unfrozen_base"]
    if per_class < FEW_LABELS_PER_CLASS and known:
        return [Finding(
            "unfrozen_base", PROBLEM,
            f"{share} at learning rate {ctx.lr:.0e} (above {FINETUNE_MAX_LR:.0e}, a rate for a "
            f"fresh head), with only {labels}, fewer than {FEW_LABELS_PER_CLASS}: the head's "
            "large early gradients rewrite the pretrained features and so few labels cannot "
            "retrain them.",
            "Freeze the base (`base.trainable = False`), recompile and train the head first; "
            "then unfreeze the top blocks (labkit.models.unfreeze_top_blocks(base, 2)) and "
            "recompile at a 10-100x lower learning rate such as 1e-5.", nb)]
    return [Finding(
        "unfrozen_base", INFO,
        f"{share} at learning rate {ctx.lr:.0e}, with {labels}. With this many labels, "
        "adapting the whole base pays, but gently: lesson 02 measures a head trained first, "
        "then every block at 1e-4, well above both the frozen base and the whole base trained "
        "with a fresh head at 1e-3 (which rewrites what the base knew). With fewer than "
        f"{FEW_LABELS_PER_CLASS} per class, freeze first and unfreeze only the top blocks.",
        "Train the head first on the frozen base (`base.trainable = False`), then set "
        "`base.trainable = True`, recompile at 1e-4 to 1e-5 and fine-tune a few epochs; "
        "compare with the frozen base on validation data.", nb)]


def check_batchnorm(ctx: Context) -> list[Finding]:
    """A pretrained base (nested, flat, or ``base=``) whose BatchNorm layers will train."""
    import keras

    from labkit import models

    base = ctx.base
    if base is None:
        return []
    bns = []
    for layer in base.layers:
        bns.extend(la for la in [layer, *models.walk_layers(layer)]
                   if isinstance(la, keras.layers.BatchNormalization))
    model_ids = {id(w) for w in ctx.model.trainable_weights}
    trainable = [bn for bn in bns if bn.trainable_weights
                 and (not ctx.model.weights or any(id(w) in model_ids
                                                   for w in bn.trainable_weights))]
    if not trainable:
        return []
    where = ("whose layers sit directly in the model (a flat Model(base.input, head))"
             if base.flat or base.container is ctx.model else f"{base.name!r}")
    return [Finding(
        "batchnorm_updating", WARNING,
        f"{len(trainable)} of the {len(bns)} BatchNormalization layers inside the pretrained "
        f"base {where} are trainable: during fit they normalise with each batch's statistics "
        "and overwrite the pretrained moving statistics (Keras 3's fit overrides "
        "base(x, training=False)).",
        "When fine-tuning, keep the BatchNorm layers frozen: after `base.trainable = True`, "
        "set `layer.trainable = False` on every BatchNormalization layer "
        "(labkit.lessons.batchnorm.freeze_batchnorm(base)), then recompile.",
        NOTEBOOKS["batchnorm"])]


def _outer_spatial(layer) -> tuple[int, int] | None:
    """The spatial size a nested model outputs where it is called (its outer graph)."""
    for node in reversed(getattr(layer, "_inbound_nodes", [])):
        tensors = getattr(node, "output_tensors", None) or []
        hw = _spatial(tuple(tensors[0].shape)) if tensors else None
        if hw:
            return hw
    return None


def _feature_maps(ctx: Context) -> list[tuple[str, tuple[int, int]]]:
    """(layer name, spatial size) of every 4-D output, in ``walk_layers`` order; a nested model
    counts with the size it outputs where it is called (known even when its own is not)."""
    import keras

    maps = []
    for layer in ctx.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        if hasattr(layer, "layers"):
            hw = _outer_spatial(layer)
        else:
            try:
                hw = _spatial(tuple(layer.output.shape))
            except Exception:  # a layer used twice has no single output; subclassed: none
                hw = None
        if hw:
            maps.append((layer.name, hw))
    return maps


def check_feature_map(ctx: Context) -> list[Finding]:
    """Downsampled to a 1x1 feature map while the images are small."""
    in_hw = _spatial(tuple(ctx.inputs[0].shape)) if len(ctx.inputs) == 1 else None
    in_hw = in_hw or (int(ctx.x.shape[1]), int(ctx.x.shape[2]))
    maps = _feature_maps(ctx)
    if not maps or maps[-1][1] != (1, 1) or min(in_hw) > SMALL_INPUT:
        return []
    halvings = round(math.log2(min(in_hw)))
    return [Finding(
        "feature_map_1x1", PROBLEM,
        f"{in_hw[0]}x{in_hw[1]} inputs are downsampled {halvings} times to a 1x1 feature map "
        f"(after {maps[-1][0]}). The map is the visible symptom; what costs accuracy is that "
        "the objects are far smaller than those the pretrained filters learned on (lesson 04 "
        "measures the two apart: a bigger map alone barely helps).",
        "Upsample the images inside the model to the base's pretraining resolution "
        "(`keras.layers.Resizing(...)` before the base), or, cheaper and less accurate, cut the "
        "base earlier (labkit.models.cut_after(base, 'block3')).",
        NOTEBOOKS["small_images"])]


def check_nothing_trainable(ctx: Context) -> list[Finding]:
    """A model with weights but no trainable weight: fit changes nothing."""
    if not ctx.model.weights or ctx.model.trainable_weights:
        return []
    n = sum(int(np.prod(w.shape)) for w in ctx.model.weights)
    return [Finding(
        "nothing_trainable", PROBLEM,
        f"None of the model's {n:,} parameters is trainable (model.trainable_weights is "
        "empty), so fit runs but changes nothing: the new head is frozen along with the base.",
        "Freeze only the base (`base.trainable = False`, not the whole model), then recompile; "
        "check with `model.summary()` (Trainable params > 0).", NOTEBOOKS["unfrozen_base"])]


CHECKS = [check_nothing_trainable, check_unfrozen_base, check_batchnorm, check_feature_map,
          check_head_loss_labels]
