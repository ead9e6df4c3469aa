"""What the doctor looks at: a bounded sample of the data, the model's layers, its pretrained
base (nested, flat or given), and what the model and the base receive.

Every check reads one ``Context``. Nothing here changes the model: probes call it in inference
mode (``training=False``) on at most ``MAX_SAMPLES`` images.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from labkit import config, models  # noqa: F401  (config sets TF log level before TF import)
from labkit.splits import _labels, _same_length, validate_images

MAX_SAMPLES = 512  # statistics and the learning-rate probe use at most this many images
PROBE_BATCH = 128
# A pretrained base is recognised by the name of its first conv layer (Keras applications and
# labkit's MiniVGG keep these names when a flat model is built from base.input).
BASE_SIGNATURES = {
    "block1_conv1": "caffe",  # VGG16, VGG19, MiniVGG: caffe preprocessing (BGR, means off)
    "conv1_conv": "caffe",  # ResNet50/101/152 (v1: caffe; v2 has post_bn and uses -1..1)
    "stem_conv": None,  # EfficientNet
    "Conv1": None,  # MobileNetV2
    "conv1/conv": None,  # DenseNet
}
_HEAD_TYPES = ("Flatten", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Dense", "Dropout")


# ---- small helpers -----------------------------------------------------------------------------
def _numpy(t) -> np.ndarray:
    import keras

    if hasattr(t, "numpy"):  # eager tensors and Keras variables
        return np.asarray(t.numpy())
    return np.asarray(keras.ops.convert_to_numpy(t))


def why(error: BaseException, limit: int = 160) -> str:
    """``Type: message`` of an exception in one line (the informative line of a TF traceback)."""
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    useful = [line for line in lines if line.lower() not in ("in user code:",)
              and not line.startswith(("File ", "\"/"))]
    text = (useful[-1] if len(lines) > 1 and useful else (lines[0] if lines else ""))
    return f"{type(error).__name__}: {text[:limit]}"


def _fmt(values) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "]"


def _channel_means(a: np.ndarray) -> np.ndarray:
    return a.reshape(-1, a.shape[-1]).astype(np.float64).mean(0)


def _spatial(shape) -> tuple[int, int] | None:
    if shape is None or len(shape) != 4 or shape[1] is None or shape[2] is None:
        return None
    return int(shape[1]), int(shape[2])


def _act_name(layer) -> str | None:
    """The activation a layer applies, or None for layers that do not decide the output."""
    import keras

    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "__name__", type(act).__name__).lower()


def _loss_info(loss) -> tuple[str | None, bool, str]:
    """``(kind, from_logits, name)``; kind is ``"sparse"``, ``"categorical"``, ``"binary"``."""
    if loss is None or isinstance(loss, dict | list | tuple):
        return None, False, repr(loss)
    if isinstance(loss, str):
        name, from_logits = loss, False
    elif callable(loss) and hasattr(loss, "get_config") and not isinstance(loss, type):
        name = type(loss).__name__
        try:
            from_logits = bool(loss.get_config().get("from_logits", False))
        except Exception:  # a custom Loss without a config
            from_logits = False
    else:
        name, from_logits = getattr(loss, "__name__", repr(loss)), False
    key = name.lower().replace("_", "")
    if "sparsecategorical" in key:
        kind = "sparse"
    elif "categorical" in key:
        kind = "categorical"
    elif "binary" in key:
        kind = "binary"
    else:
        kind = None
    return kind, from_logits, name


def model_inputs_of(model) -> list:
    """``model.inputs`` where the model has a graph (functional, built Sequential), else []."""
    try:
        return list(model.inputs or [])
    except (AttributeError, ValueError):  # subclassed models have no symbolic inputs
        return []


def _kind(layer) -> str:
    return type(layer).__name__


# ---- the data ----------------------------------------------------------------------------------
@dataclass
class Data:
    """A bounded sample of the learner's data, plus what is known about all of it."""

    x: np.ndarray  # sample of the images, as given (at most MAX_SAMPLES)
    y: np.ndarray  # sample of the labels, as given (int or one-hot)
    y_int: np.ndarray  # labels as class indices: all of them for arrays, the sample otherwise
    onehot: bool
    n_total: int | None  # images in the whole training set, where known
    source: str  # "arrays" or "dataset"


def _is_dataset(x) -> bool:
    try:
        import tensorflow as tf
    except ImportError:  # pragma: no cover - TF is the course's backend
        return False
    return isinstance(x, tf.data.Dataset)


def _check_y(x: np.ndarray, y: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(y as given, y as class indices, onehot)``, or a ValueError naming y and the fix."""
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.ravel()  # Keras accepts (N, 1) integer labels
    if y.ndim == 2:
        _same_length(x, y)
        if y.dtype.kind not in "uifb" or not np.isfinite(y).all() or (y < 0).any():
            raise ValueError(f"y has shape {y.shape} (one-hot?) but holds negative, NaN or "
                             "non-numeric values; one-hot rows must be 0/1 (or probabilities)")
        return y, y.argmax(axis=1).astype(np.int64), True
    y_int = _labels(y, "y")
    _same_length(x, y_int)
    return y_int, y_int, False


_DATASET_FIX = ("Fix: pass a dataset of (images, labels) batches as for model.fit, e.g. "
                "tf.data.Dataset.from_tensor_slices((x, y)).batch(32), or pass arrays: "
                "diagnose(model, x, y, preprocess=...)")


def sample_dataset(ds, limit: int = MAX_SAMPLES) -> tuple[np.ndarray, np.ndarray, int | None]:
    """Up to ``limit`` (images, labels) from a tf.data dataset, and its size where known."""
    spec = ds.element_spec
    if not isinstance(spec, tuple) or len(spec) < 2:
        raise ValueError(f"the dataset yields {spec} but the doctor needs (images, labels) "
                         f"pairs. {_DATASET_FIX}")
    if not hasattr(spec[0], "shape") or not hasattr(spec[1], "shape"):
        raise ValueError("the dataset yields dicts or nested structures; the doctor reads "
                         f"one image tensor and one label tensor. {_DATASET_FIX}")
    rank = len(spec[0].shape)
    if rank not in (3, 4):
        raise ValueError(f"the dataset's images have shape {spec[0].shape}; expected batches "
                         f"(B, H, W, 3) or single images (H, W, 3). {_DATASET_FIX}")
    batched = rank == 4
    source = ds if batched else ds.batch(64)
    xs, ys, n = [], [], 0
    for element in source.take(limit):  # bounded even for a repeated (infinite) dataset
        xb, yb = np.asarray(element[0]), np.asarray(element[1])
        xs.append(xb)
        ys.append(yb)
        n += len(xb)
        if n >= limit:
            break
    if not n:
        raise ValueError(f"the dataset is empty. {_DATASET_FIX}")
    x, y = np.concatenate(xs)[:limit], np.concatenate(ys)[:limit]
    try:
        card = int(ds.cardinality())
    except Exception:
        card = -2
    total = None
    if card > 0:
        total = card * len(xs[0]) if batched else card
    return x, y, total


def load_data(x, y) -> Data:
    """Validate and sample ``x, y`` (arrays) or ``x`` (a tf.data dataset, ``y=None``)."""
    if _is_dataset(x):
        if y is not None:
            raise ValueError("x is a tf.data.Dataset, which carries its own labels; pass "
                             "y=None (diagnose(model, dataset)), as for model.fit(dataset)")
        xs, ys, total = sample_dataset(x)
        validate_images(xs, name="the dataset's images")
        y_given, y_int, onehot = _check_y(xs, ys)
        return Data(xs, y_given, y_int, onehot, total, "dataset")
    if y is None:
        raise TypeError("diagnose needs labels: diagnose(model, x, y) with arrays, or "
                        "diagnose(model, dataset) with a tf.data.Dataset of (images, labels)")
    if hasattr(x, "__next__") or type(x).__name__ in ("PyDataset", "DataFrameIterator",
                                                       "DirectoryIterator", "NumpyArrayIterator"):
        raise TypeError(f"x is a {type(x).__name__}; the doctor reads arrays or a "
                        f"tf.data.Dataset. {_DATASET_FIX}")
    validate_images(x, name="x")
    x = np.asarray(x)
    y_given, y_int, onehot = _check_y(x, y)
    if len(x) > MAX_SAMPLES:
        idx = np.sort(np.random.default_rng(0).choice(len(x), MAX_SAMPLES, replace=False))
        x_s, y_s = x[idx], y_given[idx]
    else:
        x_s, y_s = x, y_given
    return Data(x_s, y_s, y_int, onehot, len(x), "arrays")


# ---- the pretrained base -----------------------------------------------------------------------
@dataclass
class Base:
    """A pretrained base: the container it lives in and its own layers (no head layers)."""

    container: Any  # the base model, or the flat model whose layers include the base's
    layers: list  # the base's leaf layers
    preprocessing: str | None  # "caffe" where known
    given: bool  # passed as base=
    flat: bool  # its layers sit directly in a model that also holds the head

    @property
    def name(self) -> str:
        return getattr(self.container, "name", "base")

    @property
    def first(self):
        return self.layers[0] if self.layers else None


def _signature(layers) -> tuple[int, str | None] | None:
    names = [layer.name for layer in layers]
    for sig, prep in BASE_SIGNATURES.items():
        if sig in names:
            if sig == "conv1_conv" and "post_bn" in names:
                prep = None  # ResNetV2: -1..1 scaling, not caffe
            return names.index(sig), prep
    return None


def _base_from(container, given: bool) -> Base | None:
    layers = list(getattr(container, "layers", []))
    found = _signature(layers)
    if found is None:
        if given:  # a base without a known signature: all its leaf layers
            leaves = [la for la in models.walk_layers(container) if not hasattr(la, "layers")]
            return Base(container, leaves, None, True, False)
        return None
    start, prep = found
    end = len(layers)
    for i in range(start + 1, len(layers)):
        if _kind(layers[i]) in _HEAD_TYPES and _kind(layers[i]) != "GlobalAveragePooling2D":
            end = i
            break
    own = layers[start:end]
    flat = end < len(layers) and any(_kind(la) in ("Dense",) for la in layers[end:])
    return Base(container, own, prep, given, flat)


def find_base(model, base_arg=None) -> Base | None:
    """``base=`` if given; else the outermost (sub)model whose layers carry a base signature."""
    if base_arg is not None:
        return _base_from(base_arg, given=True)
    got = _base_from(model, given=False)
    if got is not None:
        return got
    for layer in models.walk_layers(model):
        if hasattr(layer, "layers"):
            got = _base_from(layer, given=False)
            if got is not None:
                return got
    return None


# ---- the context -------------------------------------------------------------------------------
@dataclass
class Context:
    """Everything a check reads. Arrays are a seeded sample of at most ``MAX_SAMPLES`` images."""

    model: Any
    data: Data
    preprocess: Callable | None = None
    base_arg: Any = None
    validation_split: float | None = None
    lr_arg: float | None = None
    loss_arg: Any = None
    run_lr_test: bool = True
    lr_test_steps: int = 30
    notes: list[str] = field(default_factory=list)

    # -- the data --
    @property
    def x(self) -> np.ndarray:
        return self.data.x

    @property
    def y(self) -> np.ndarray:
        return self.data.y

    @property
    def y_int(self) -> np.ndarray:
        return self.data.y_int

    @property
    def onehot(self) -> bool:
        return self.data.onehot

    @cached_property
    def n_classes(self) -> int:
        return int(self.y.shape[1]) if self.onehot else int(self.y_int.max()) + 1

    @cached_property
    def per_class(self) -> float:
        """Labelled images per class (the whole training set where known, else the sample)."""
        present = max(int(np.count_nonzero(np.bincount(self.y_int))), 1)
        total = self.data.n_total or len(self.y_int)
        return total / present

    # -- model facts --
    @cached_property
    def layers(self) -> list:
        return models.walk_layers(self.model)

    @cached_property
    def leaves(self) -> list:
        return [layer for layer in self.layers if not hasattr(layer, "layers")]

    @cached_property
    def inputs(self) -> list:
        return model_inputs_of(self.model)

    @property
    def compiled(self) -> bool:
        return bool(getattr(self.model, "compiled", False)) and \
            getattr(self.model, "optimizer", None) is not None

    @cached_property
    def lr(self) -> float | None:
        """The optimizer's learning rate if compiled (a schedule's current value), else ``lr``."""
        if self.compiled:
            try:
                return float(_numpy(self.model.optimizer.learning_rate))
            except Exception:
                return self.lr_arg
        return self.lr_arg

    @property
    def optimizer_name(self) -> str:
        return type(self.model.optimizer).__name__ if self.compiled else "the optimizer"

    @property
    def loss(self):
        return getattr(self.model, "loss", None) if self.compiled else self.loss_arg

    @cached_property
    def base(self) -> Base | None:
        return find_base(self.model, self.base_arg)

    @property
    def caffe_base(self) -> bool:
        return self.base is not None and self.base.preprocessing == "caffe"

    @cached_property
    def output_activation(self) -> str | None:
        for layer in reversed(self.leaves):
            act = _act_name(layer)
            if act is not None:
                return act
        return None

    @cached_property
    def outputs(self) -> np.ndarray | None:
        """The model's outputs on a few sample images (inference mode), if it can be called."""
        try:
            out = self.model(self.model_inputs[:8], training=False)
        except Exception as error:
            self.notes.append(f"the model could not be called on x ({why(error, 160)}"
                              f"); checks that "
                              "need its outputs were skipped.")
            return None
        if isinstance(out, dict | list | tuple):
            return None
        return _numpy(out)

    @cached_property
    def units(self) -> int | None:
        try:
            return int(self.model.outputs[0].shape[-1])
        except Exception:
            out = self.outputs
            return None if out is None or out.ndim != 2 else int(out.shape[-1])

    # -- what the layers receive --
    @cached_property
    def x_float(self) -> np.ndarray:
        return np.asarray(self.x, dtype=np.float32)

    @property
    def x_is_raw(self) -> bool:
        """0-255 pixels (not yet scaled or mean-subtracted)."""
        return float(self.x_float.min()) >= 0 and float(self.x_float.max()) > 1.5

    @cached_property
    def model_inputs(self) -> np.ndarray:
        """What the model's input layer receives: ``preprocess(x)`` or ``x``."""
        if self.preprocess is None:
            return self.x_float
        return _numpy(self.preprocess(self.x_float.copy())).astype(np.float32)

    @cached_property
    def caffe_reference(self) -> np.ndarray | None:
        """``caffe_preprocess(x)`` when ``x`` holds raw pixels: what a caffe base expects."""
        return _numpy(models.caffe_preprocess(self.x_float.copy())) if self.x_is_raw else None

    def _path_to(self, target) -> list | None:
        """The containers from the model down to the one whose layers hold ``target``."""
        parent = {}
        for container in [self.model, *(la for la in self.layers if hasattr(la, "layers"))]:
            for child in container.layers:
                parent.setdefault(id(child), container)
        if id(target) not in parent:
            return None
        path = [parent[id(target)]]
        while path[0] is not self.model:
            if id(path[0]) not in parent or len(path) > len(self.layers):
                return None
            path.insert(0, parent[id(path[0])])
        return path

    @staticmethod
    def _run(container, tensor, value: np.ndarray) -> np.ndarray | None:
        import keras

        inputs = model_inputs_of(container)
        if len(inputs) != 1:
            return None
        try:
            sub = keras.Model(inputs[0], tensor)
            return np.concatenate([_numpy(sub(value[i : i + PROBE_BATCH], training=False))
                                   for i in range(0, len(value), PROBE_BATCH)])
        except Exception:  # not in this container's graph, or not computable
            return None

    def value_entering(self, target) -> np.ndarray | None:
        """What ``target`` (a layer anywhere in the model, nested or not) receives on the sample,
        computed in inference mode through every enclosing graph; None if not computable."""
        path = self._path_to(target)
        if path is None:
            return None
        value = self.model_inputs  # eager calls: no tf.function retracing per diagnose()
        for parent, child in zip(path, [*path[1:], target], strict=True):
            for node in getattr(child, "_inbound_nodes", []):
                tensors = getattr(node, "input_tensors", None)
                got = self._run(parent, tensors[0], value) if tensors else None
                if got is not None:
                    value = got
                    break
            else:
                return None
        return value

    def capture_input(self, target) -> np.ndarray | None:
        """What ``target`` receives when the whole model runs eagerly on the sample (inference
        mode): for subclassed models, whose ``call()`` has no graph to probe. The layer's
        ``call`` is wrapped for the duration and restored in every case."""
        if target is None or "call" in vars(target):
            return None
        seen: list[np.ndarray] = []
        original = type(target).call

        def spy(*args, **kwargs):
            seen.append(_numpy(args[0]))
            return original(target, *args, **kwargs)

        object.__setattr__(target, "call", spy)
        try:
            z = self.model_inputs
            for i in range(0, len(z), PROBE_BATCH):
                self.model(z[i : i + PROBE_BATCH], training=False)
        except Exception:
            return None
        finally:
            object.__delattr__(target, "call")
        n = len(self.model_inputs)
        got = np.concatenate(seen) if seen else None
        return got if got is not None and len(got) == n else None

    def received_by(self, target) -> np.ndarray | None:
        """What ``target`` receives on the sample: through the graph, else by running the model."""
        got = self.value_entering(target)
        return self.capture_input(target) if got is None else got

    @cached_property
    def base_inputs(self) -> np.ndarray:
        """What the base's first conv receives (falls back to the model's inputs)."""
        base = self.base
        got = None
        if base is not None and base.first is not None:
            got = self.received_by(base.first)
        return self.model_inputs if got is None else got

    @cached_property
    def caffe_mismatch(self) -> str | None:
        """How the base's inputs differ from caffe preprocessing in range (None: they match)."""
        z, ref = self.base_inputs, self.caffe_reference
        zmin, zmax, zmean = float(z.min()), float(z.max()), float(z.mean())
        zstd = float(z.std())
        if zmax - zmin <= 3.0:
            return "scaled to a unit range (0-1 or -1..1)"
        if zmin >= 0 and zmean > 50:
            return "raw pixels without the mean subtraction"
        if ref is not None:
            gap = abs(zmean - float(ref.mean()))
            spread = zstd / max(float(ref.std()), 1e-6)
            if gap > CAFFE_MEAN_TOLERANCE or not 1 / 3 <= spread <= 3:
                return f"off by {gap:.1f} in mean and x{spread:.2f} in spread from caffe"
            return None
        if zstd < CAFFE_MIN_STD:
            return (f"standardised to a spread of {zstd:.2f} (z-scored or scaled), where caffe "
                    f"inputs spread over about {CAFFE_TYPICAL_STD:.0f} (0-255 units)")
        if np.abs(_channel_means(z)).max() > 80:
            return "far from zero-centred"
        return None


CAFFE_MEAN_TOLERANCE = 30.0  # how far (in 0-255 units) base inputs may sit from caffe's mean
CAFFE_MIN_STD = 10.0  # caffe inputs of real images spread over tens of units, never ~1
CAFFE_TYPICAL_STD = 60.0
