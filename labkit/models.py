"""Backbones (VGG16 with ImageNet weights, MiniVGG with shipped offline weights), heads,
freezing by block, and cached frozen-base features.

Both backbones use VGG16's caffe-style preprocessing (RGB to BGR, ImageNet mean subtraction,
0-255 scale), so every preprocessing lesson means the same thing with either.
"""

from __future__ import annotations

import hashlib
import inspect
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from labkit import config  # noqa: F401  (sets TF log level before TF is imported)

WEIGHTS_DIR = Path(__file__).parent / "weights"
# shipped, pretrained by python -m labkit.dev.pretrain
OFFLINE_BACKBONES = ("minivgg", "minivgg_bn")
MINIVGG_WIDTHS = (16, 32, 64, 128, 128)
VGG_CONVS_PER_BLOCK = (2, 2, 3, 3, 3)
VGG16_NOTOP_FILE = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET50_NOTOP_FILE = "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_APPLICATIONS = {"vgg16": ("VGG16", VGG16_NOTOP_FILE),  # name: (class, ImageNet file)
                      "resnet50": ("ResNet50", RESNET50_NOTOP_FILE)}
IMAGENET_BGR_MEANS = (103.939, 116.779, 123.68)

Preprocess = Callable[[np.ndarray], np.ndarray]


def caffe_preprocess(x):
    """VGG16's own preprocessing: RGB->BGR and ImageNet mean subtraction on 0-255 pixels.

    Same as ``keras.applications.vgg16.preprocess_input``; works on NumPy arrays and tensors.
    """
    import keras

    return keras.applications.vgg16.preprocess_input(keras.ops.cast(x, "float32"))


def caffe_layer(name: str = "caffe_preprocess"):
    """``caffe_preprocess`` as a Keras layer, so preprocessing lives inside the model (and the
    model can be saved, loaded and cloned, which a ``Lambda`` layer cannot do portably)."""
    return _caffe_layer_class()(name=name)


def preprocess_layer(fn: Callable):
    """A preprocessing function as a Keras layer: ``caffe_layer()`` for ``caffe_preprocess``,
    else a ``Lambda`` (fine for training in a notebook, not for saving the model)."""
    import keras

    if fn is caffe_preprocess:
        return caffe_layer()
    return keras.layers.Lambda(fn, name="preprocess")


_CAFFE_LAYER = None


def _caffe_layer_class():
    global _CAFFE_LAYER
    if _CAFFE_LAYER is None:
        import keras

        @keras.saving.register_keras_serializable(package="labkit")
        class CaffePreprocess(keras.layers.Layer):
            """RGB->BGR and ImageNet mean subtraction on 0-255 pixels (VGG16's preprocessing)."""

            def call(self, inputs):
                return caffe_preprocess(inputs)

        _CAFFE_LAYER = CaffePreprocess
    return _CAFFE_LAYER


def shipped_weights(name: str = "minivgg") -> Path:
    """The shipped weights file of an offline backbone (``minivgg`` or ``minivgg_bn``)."""
    if name not in OFFLINE_BACKBONES:
        raise ValueError(f"no shipped weights for {name!r}; offline backbones: "
                         f"{', '.join(OFFLINE_BACKBONES)}")
    return WEIGHTS_DIR / f"{name}_source.weights.h5"


def shipped_record(name: str = "minivgg") -> Path:
    """The JSON record of the shipped weights of ``name`` (how they were made, their SHA-256)."""
    return shipped_weights(name).with_name(f"{name}_source.json")


def source_head_file(name: str = "minivgg") -> Path:
    """The shipped source-task head (kernel, bias) of an offline backbone."""
    return shipped_weights(name).with_name(f"{name}_source_head.npz")


class WeightsFileError(ValueError):
    """A weights file that is damaged, or not the one recorded; the message names it and the fix."""


def _weights_fix(name: str) -> str:
    return (f"Fix: restore the shipped files from git (`git checkout -- {WEIGHTS_DIR}`) or "
            f"recreate them with `python -m labkit.dev.pretrain --backbone {name}`")


def verify_shipped_weights(name: str = "minivgg") -> Path:
    """Check the shipped weights file of ``name`` against the SHA-256 in its JSON record.

    Returns the file; raises :class:`FileNotFoundError` or :class:`WeightsFileError` naming the
    file and the fix when it is missing, empty, truncated or changed (~1 MB: milliseconds).
    """
    import json

    path, record = shipped_weights(name), shipped_record(name)
    if not path.is_file():
        raise FileNotFoundError(f"{name} weights file not found: {path}. The course ships it. "
                                + _weights_fix(name))
    try:
        expected = json.loads(record.read_text())["sha256"]
    except FileNotFoundError:
        raise FileNotFoundError(f"the record of the shipped {name} weights is missing: {record} "
                                "(it holds their SHA-256). " + _weights_fix(name)) from None
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise WeightsFileError(f"cannot read the SHA-256 of the shipped {name} weights from "
                               f"{record} ({type(err).__name__}: {err}). "
                               + _weights_fix(name)) from None
    data = path.read_bytes()
    if not data:
        raise WeightsFileError(f"{name} weights file {path} is empty. " + _weights_fix(name))
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise WeightsFileError(
            f"{name} weights file {path} is not the shipped one: its SHA-256 is {actual}, "
            f"{record.name} records {expected} ({len(data):,} bytes; damaged, truncated or "
            "overwritten?). " + _weights_fix(name))
    return path


def _load_weights_file(model, path: Path, name: str) -> None:
    """``model.load_weights(path)``, with errors that name the file and the fix."""
    fix = (_weights_fix(name) if name in OFFLINE_BACKBONES
           else "Fix: pass the path of a Keras weights file")
    if path.is_dir():
        raise WeightsFileError(f"{name} weights path {path} is a folder, not a weights file. "
                               + fix)
    if not path.name.endswith((".weights.h5", ".h5", ".keras")):
        raise WeightsFileError(
            f"{name} weights file {path} does not end in .weights.h5, so Keras cannot tell its "
            f"format (renamed?). Fix: name it {path.stem.split('.')[0]}.weights.h5")
    if path.stat().st_size == 0:
        raise WeightsFileError(f"{name} weights file {path} is empty. " + fix)
    try:
        model.load_weights(path)
    except Exception as err:  # noqa: BLE001 (h5py, Keras: truncated, wrong model, ...)
        raise WeightsFileError(
            f"cannot load {name} weights from {path} ({type(err).__name__}: "
            f"{str(err)[:300]}); the file is damaged or was saved from another model. "
            + fix) from err


def _check_input_shape(name: str, input_shape, pretrained: bool) -> tuple:
    """``input_shape`` as (H, W, C) (H and W may be None: any size), or a ValueError naming it
    and the fix."""
    example = "Fix: e.g. input_shape=(32, 32, 3) (height, width, channels)"

    def is_int(v) -> bool:
        return not isinstance(v, bool) and isinstance(v, int | np.integer)

    if (not isinstance(input_shape, tuple | list) or len(input_shape) != 3
            or not all(is_int(v) or v is None for v in input_shape[:2])
            or not is_int(input_shape[2])):
        raise ValueError(f"{name}: input_shape must be three ints (height, width, channels; "
                         f"height and width may be None), got {input_shape!r}. {example}")
    h, w, c = (None if v is None else int(v) for v in input_shape)
    if min(v for v in (h, w, 32) if v is not None) < 32:
        raise ValueError(f"{name}: input_shape={input_shape!r} is too small; its five 2x2 "
                         "poolings need at least 32x32 pixels. Fix: resize the images up, e.g. "
                         "keras.layers.Resizing(32, 32), and use input_shape=(32, 32, 3)")
    if c < 1 or (pretrained and c != 3):
        raise ValueError(f"{name}: input_shape={input_shape!r} has {c} channels; pretrained "
                         "weights expect 3 (RGB, channels last). Fix: grayscale -> repeat the "
                         "channel 3 times; channels-first -> transpose to (H, W, 3)")
    return h, w, c


def minivgg(input_shape: tuple[int, int, int] = (32, 32, 3), widths=MINIVGG_WIDTHS,
            batchnorm: bool = False):
    """VGG16's five conv blocks with VGG16's layer names, narrow enough for a CPU.

    ``batchnorm=True`` puts BatchNormalization between each conv and its ReLU
    (``blockN_convM_bn``), like the BN-bearing bases of keras.applications (ResNet, EfficientNet).
    """
    import keras
    from keras import layers

    inputs = keras.Input(input_shape, name="input")
    x = inputs
    blocks = zip(VGG_CONVS_PER_BLOCK, widths, strict=True)
    for block, (n_convs, width) in enumerate(blocks, start=1):
        for conv in range(1, n_convs + 1):
            name = f"block{block}_conv{conv}"
            x = layers.Conv2D(
                width, 3, padding="same", activation=None if batchnorm else "relu",
                use_bias=not batchnorm, kernel_initializer="he_normal", name=name,
            )(x)
            if batchnorm:
                x = layers.BatchNormalization(name=f"{name}_bn")(x)
                x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"block{block}_pool")(x)
    return keras.Model(inputs, x, name="minivgg_bn" if batchnorm else "minivgg")



def fold_batchnorm(bn_base):
    """The plain MiniVGG that computes what ``bn_base`` (a ``minivgg(batchnorm=True)``) computes
    in inference mode: each BatchNorm folded into its conv (kernel * s, bias = beta - mean * s,
    s = gamma / sqrt(variance + epsilon))."""
    widths = tuple(bn_base.get_layer(f"block{b}_conv1").filters
                   for b in range(1, len(VGG_CONVS_PER_BLOCK) + 1))
    plain = minivgg(tuple(bn_base.input_shape[1:]), widths=widths, batchnorm=False)
    for layer in plain.layers:
        if not layer.name.startswith("block") or "_conv" not in layer.name:
            continue
        (kernel,) = bn_base.get_layer(layer.name).get_weights()
        bn = bn_base.get_layer(f"{layer.name}_bn")
        gamma, beta, mean, variance = bn.get_weights()
        scale = gamma / np.sqrt(variance + bn.epsilon)
        layer.set_weights([kernel * scale, beta - mean * scale])
    return plain

def backbone(
    name: str = "minivgg",
    weights: str | Path | None = "default",
    input_shape: tuple[int, int, int] = (32, 32, 3),
):
    """Return ``(base_model, preprocess)`` for a backbone name (no top).

    Names: ``"minivgg"``, ``"minivgg_bn"`` (with BatchNorm), ``"vgg16"`` and ``"resnet50"``
    (BatchNorm; both ImageNet, caffe-style preprocessing).
    ``weights``: ``"default"`` (MiniVGG: the shipped file; Keras applications: ``"imagenet"``),
    ``"imagenet"``, ``None`` (random init) or a path to a weights file.
    """
    if name in OFFLINE_BACKBONES:
        shipped = shipped_weights(name)
        path = shipped if weights == "default" else weights
        input_shape = _check_input_shape(name, input_shape, pretrained=path is not None)
        if path is not None:
            path = Path(path)
            if not path.exists():
                raise FileNotFoundError(
                    f"{name} weights file not found: {path}. The course ships it in "
                    f"{shipped}; recreate it with "
                    f"`python -m labkit.dev.pretrain --backbone {name}`."
                )
            if path.resolve() == shipped.resolve():
                verify_shipped_weights(name)
        model = minivgg(input_shape, batchnorm=name == "minivgg_bn")
        if path is not None:
            _load_weights_file(model, path, name)
        return model, caffe_preprocess
    if name in KERAS_APPLICATIONS:
        return _keras_application(name, weights, input_shape), caffe_preprocess
    raise ValueError(f"unknown backbone {name!r}; valid backbones: "
                     f"{', '.join(OFFLINE_BACKBONES + tuple(KERAS_APPLICATIONS))}")


def keras_cache_dirs() -> list[Path]:
    """The Keras caches where ``keras.utils.get_file`` keeps downloads: ``$KERAS_HOME`` (else
    ``~/.keras``), and ``/tmp/.keras`` (its fallback when that is not writable)."""
    home = Path(os.environ.get("KERAS_HOME") or "~/.keras").expanduser()
    return list(dict.fromkeys([home, Path("/tmp/.keras")]))


def cached_imagenet_file(name: str) -> Path | None:
    """The ImageNet no-top weights file of Keras application ``name`` (``"vgg16"``,
    ``"resnet50"``) when it is already in a Keras cache (``<cache>/models/<file>``), else None.
    """
    _, notop_file = KERAS_APPLICATIONS[name]
    for cache in keras_cache_dirs():
        path = cache / "models" / notop_file
        if path.is_file() and path.stat().st_size > 0:
            return path
    return None


def _keras_application(name: str, weights, input_shape):
    """A Keras application without its top; ``weights="default"``/``"imagenet"``: ImageNet.

    Offline first: an ImageNet file already in the Keras cache (``$KERAS_HOME/models/`` or
    ``~/.keras/models/``) is loaded from there by path. Keras' own ``weights="imagenet"`` checks
    the file's md5 and re-downloads on any mismatch, which fails without internet even when the
    file is there. Only when no cached file exists does Keras download it.
    """
    app, notop_file = KERAS_APPLICATIONS[name]
    wanted = "imagenet" if weights == "default" else weights
    cached = cached_imagenet_file(name) if wanted == "imagenet" else None
    if cached is not None:
        wanted = cached
    if wanted not in ("imagenet", None) and not Path(wanted).exists():
        raise FileNotFoundError(f"{name} weights file not found: {wanted}")
    input_shape = _check_input_shape(app, input_shape, pretrained=wanted is not None)
    try:
        return _call_keras_application(app, notop_file, wanted, input_shape)
    except Exception as error:
        if cached is None:
            raise
        raise WeightsFileError(
            f"cannot load {app} ImageNet weights from the Keras cache file {cached} "
            f"({type(error).__name__}: {str(error)[:300]}); it is damaged or not {notop_file}. "
            f"Fix: delete it and put the real {notop_file} (Keras applications release page) "
            f"in {cached.parent}") from error


def _call_keras_application(app: str, notop_file: str, wanted, input_shape):
    import keras

    try:
        return getattr(keras.applications, app)(
            include_top=False, weights=str(wanted) if wanted else None, input_shape=input_shape
        )
    except ValueError as error:  # Keras checks its arguments: never "no internet?"
        raise ValueError(f"{app}(input_shape={input_shape!r}, weights={wanted!r}) was refused "
                         f"by Keras: {error}") from error
    except Exception as error:  # offline: Keras' download fails with a URL/OS error
        if wanted != "imagenet":
            raise
        cache = keras_cache_dirs()[0]  # where Keras looks
        raise RuntimeError(
            f"Could not load {app} ImageNet weights (no internet?). Download "
            f"{notop_file} from the Keras applications release page and put it in "
            f"{cache / 'models'} (labkit then loads it from there, offline), or pass "
            f"weights='/path/to/{notop_file}'. Original error: {error}"
        ) from error


def walk_layers(model) -> list:
    """Every layer of ``model``, nested models expanded in place (container, then its layers)."""
    out = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(walk_layers(layer))
    return out


def batchnorm_layers(model) -> list:
    """Every BatchNormalization layer in ``model``, nested models included."""
    import keras

    return [layer for layer in walk_layers(model)
            if isinstance(layer, keras.layers.BatchNormalization)]


def block_names(base) -> list[str]:
    """The block prefixes of a VGG-shaped base, in order (``block1`` ... ``block5``)."""
    seen: list[str] = []
    for layer in base.layers:
        prefix = layer.name.split("_")[0]
        if prefix.startswith("block") and prefix not in seen:
            seen.append(prefix)
    return seen


def freeze(base) -> None:
    """Freeze every layer of the base."""
    base.trainable = False


def unfreeze_top_blocks(base, k: int) -> None:
    """Make only the top ``k`` conv blocks trainable (0 = fully frozen)."""
    blocks = block_names(base)
    if not 0 <= k <= len(blocks):
        raise ValueError(f"k must be between 0 and {len(blocks)} (blocks in the base), got {k}")
    trainable = set(blocks[len(blocks) - k :])
    base.trainable = True
    for layer in base.layers:
        layer.trainable = layer.name.split("_")[0] in trainable


def copy_model(model):
    """A new, uncompiled model with the same architecture and a copy of the weights."""
    import keras

    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    return twin


def count_params(model, trainable: bool = True) -> int:
    """Number of trainable (or non-trainable) parameters."""
    weights = model.trainable_weights if trainable else model.non_trainable_weights
    return int(sum(np.prod(w.shape) for w in weights))


HEAD_LOSSES = {"softmax": "sparse_categorical_crossentropy", "sigmoid": "binary_crossentropy"}


def loss_for(activation: str) -> str:
    """The loss that matches a head activation (integer labels for softmax)."""
    if activation not in HEAD_LOSSES:
        raise ValueError(f"unknown head activation {activation!r}; use one of {list(HEAD_LOSSES)}")
    return HEAD_LOSSES[activation]


def classifier_head(input_shape, n_classes: int, activation: str = "softmax", dropout: float = 0.0,
                    hidden: int = 0, name: str = "head"):
    """Flatten -> [Dense(hidden, relu)] -> [Dropout] -> Dense(n_classes, activation)."""
    import keras
    from keras import layers

    loss_for(activation)
    inputs = keras.Input(tuple(input_shape), name=f"{name}_input")
    x = layers.Flatten(name=f"{name}_flatten")(inputs)
    if hidden:
        x = layers.Dense(hidden, activation="relu", name=f"{name}_hidden")(x)
    if dropout:
        x = layers.Dropout(dropout, name=f"{name}_dropout")(x)
    outputs = layers.Dense(n_classes, activation=activation, name=f"{name}_output")(x)
    return keras.Model(inputs, outputs, name=name)


def attach_head(base, n_classes: int, activation: str = "softmax", dropout: float = 0.0,
                hidden: int = 0):
    """``base`` followed by a fresh classifier head, as one model taking preprocessed images.

    A frozen base (``trainable=False``) runs in inference mode, BatchNorm included. For a
    trainable BatchNorm base see ``labkit.lessons.batchnorm`` (Keras 3's ``fit`` overrides
    ``base(x, training=False)``).
    """
    import keras

    inputs = keras.Input(base.input_shape[1:], name="images")
    features = base(inputs)
    head = classifier_head(features.shape[1:], n_classes, activation, dropout, hidden)
    return keras.Model(inputs, head(features), name=f"{base.name}_classifier")


OPTIMIZERS = ("adam", "sgd")


def compile_classifier(model, lr: float = 1e-3, activation: str = "softmax", optimizer="adam",
                       momentum: float = 0.9):
    """Compile with the loss matching the head and an accuracy metric.

    ``optimizer``: ``"adam"``, ``"sgd"`` (with ``momentum``) or a Keras optimizer instance.
    """
    import keras

    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {optimizer!r}; use one of {list(OPTIMIZERS)}")
        optimizer = (keras.optimizers.Adam(learning_rate=lr) if optimizer == "adam"
                     else keras.optimizers.SGD(learning_rate=lr, momentum=momentum))
    model.compile(optimizer=optimizer, loss=loss_for(activation), metrics=["accuracy"])
    return model


_FEATURE_CACHE: dict[str, np.ndarray] = {}
_PINNED: dict[str, Callable] = {}  # callables keyed by id stay alive, so their id is never reused


def _callable_key(fn: Callable | None) -> str:
    """Module-level functions by name; lambdas, closures, partials and methods by identity."""
    if fn is None:
        return "-"
    qualname = getattr(fn, "__qualname__", "")
    if qualname and "<" not in qualname and not inspect.ismethod(fn):
        return f"{getattr(fn, '__module__', '')}.{qualname}"
    key = f"{type(fn).__name__}@{id(fn)}"
    _PINNED.setdefault(key, fn)
    return key


def _fingerprint(*arrays: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).data)
    return digest.hexdigest()


# Feature extractions over this many input pixels show a progress bar (quick profile: 14 M at
# most, no bar; full profile: 10,000 CIFAR images at 224x224 are 500 M).
PROGRESS_PIXELS = 100_000_000


def extract_features(base, x: np.ndarray, preprocess: Preprocess | None = None,
                     batch_size: int = 256, size: int | None = None) -> np.ndarray:
    """Frozen-base features of images ``x``, memoised per (weights, images, preprocessing, size).

    ``size`` resizes the images first (bilinear) to the resolution the base expects.
    Training a head on these is much faster than training through the frozen base. A long
    extraction (the full profile's VGG16 at 224x224) shows Keras' progress bar.
    """
    weights = [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in base.weights]
    key = "|".join([_fingerprint(x), _fingerprint(*weights), _callable_key(preprocess), str(size)])
    if key not in _FEATURE_CACHE:
        side = size or (x.shape[1] if np.ndim(x) == 4 else 0)
        long_run = len(x) * side * side >= PROGRESS_PIXELS
        _FEATURE_CACHE[key] = base.predict(base_batches(x, preprocess, size, batch_size),
                                           verbose=1 if long_run else 0)
    return _FEATURE_CACHE[key]


def base_batches(x: np.ndarray, preprocess: Preprocess | None = None, size: int | None = None,
                 batch_size: int = 256):
    """A ``tf.data`` pipeline of what a base receives: batches of ``x`` as float32, resized to
    ``size`` (bilinear) and then ``preprocess``-ed."""
    import tensorflow as tf

    def as_float(batch):
        batch = tf.cast(batch, tf.float32)
        return batch if size is None else tf.image.resize(batch, (size, size))

    ds = tf.data.Dataset.from_tensor_slices(x).batch(batch_size).map(as_float)
    if preprocess is not None:
        ds = ds.map(preprocess)
    return ds


POOLINGS = ("gap", "flatten")


def scratch_cnn(input_shape: tuple[int, int, int], n_classes: int, widths=(16, 32, 64),
                rescale: float | None = 1 / 255, batchnorm: bool = False, pooling: str = "gap"):
    """A small from-scratch CNN: [Rescaling] -> (conv-conv-pool) per width -> GAP -> softmax.

    ``rescale=None`` leaves the pixels as they come (the raw 0-255 bug of lesson 01).
    ``pooling="flatten"`` replaces global average pooling with ``Flatten`` (every position of
    the last feature map gets its own weights: the head of most forum snippets).
    ``batchnorm=True`` puts BatchNormalization between each conv and its ReLU, with momentum
    0.9: a few hundred training steps are too few for the default 0.99 moving statistics to
    settle, and an unsettled BatchNorm scores near chance in inference mode.
    """
    import keras
    from keras import layers

    if pooling not in POOLINGS:
        raise ValueError(f"unknown pooling {pooling!r}; use one of {list(POOLINGS)}")
    inputs = keras.Input(input_shape, name="images")
    x = layers.Rescaling(rescale, name="rescale")(inputs) if rescale else inputs
    for i, width in enumerate(widths, start=1):
        for conv in ("a", "b"):
            name = f"conv{i}{conv}"
            x = layers.Conv2D(width, 3, padding="same", use_bias=not batchnorm,
                              activation=None if batchnorm else "relu", name=name)(x)
            if batchnorm:
                x = layers.BatchNormalization(momentum=0.9, name=f"{name}_bn")(x)
                x = layers.Activation("relu", name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = (layers.GlobalAveragePooling2D(name="gap") if pooling == "gap"
         else layers.Flatten(name="flatten"))(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="classes")(x)
    return keras.Model(inputs, outputs, name="scratch_cnn")


def cut_after(base, block: str):
    """The base up to and including ``block``'s pooling layer (e.g. ``"block3"``)."""
    import keras

    blocks = block_names(base)
    if block not in blocks:
        raise ValueError(f"unknown block {block!r}; this base has {', '.join(blocks)}")
    return keras.Model(base.input, base.get_layer(f"{block}_pool").output,
                       name=f"{base.name}_to_{block}")
