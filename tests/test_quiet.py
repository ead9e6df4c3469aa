"""labkit.quiet: TensorFlow's C++ log lines never reach a learner's notebook; the rest does."""

from __future__ import annotations

import os
import re

import pytest

from labkit.quiet import LogLineFilter

ONEDNN = (b"I0000 00:00:1795457171.717418   27548 port.cc:153] oneDNN custom operations are on. "
          b"You may see slightly different numerical results.\n")
NODEDEF = (b"E0000 00:00:1795457404.648997   31294 node_def_util.cc:682] NodeDef mentions "
           b"attribute use_unbounded_threadpool which is not in the op definition\n")
BANNER = (b"WARNING: All log messages before absl::InitializeLog() is called are written to "
          b"STDERR\n")
RENDEZVOUS = (b"W0000 00:00:1795457404.6 31294 local_rendezvous.cc:404] Local rendezvous is "
              b"aborting\n"
              b"\t [[{{function_node __inference_one_step_on_data_1234}}]]\n")
TF_LINE = re.compile(r"^[IWEF]\d{4} |absl::InitializeLog|oneDNN", re.M)


def test_drops_tf_records_and_their_continuation_lines():
    f = LogLineFilter()
    kept = f.feed(BANNER + ONEDNN + b"epoch 1: loss 2.3\n" + NODEDEF + RENDEZVOUS + b"done\n")
    assert kept == b"epoch 1: loss 2.3\ndone\n"
    assert f.dropped == 5


def test_keeps_tracebacks_and_warnings_and_waits_for_partial_lines():
    f = LogLineFilter()
    warning = b"/x/keras/nn.py:1402: UserWarning: received from_logits=True\n  output = ...\n"
    assert f.feed(warning) == warning  # indented lines after a kept line stay
    assert f.feed(b"Traceback (most recent") == b""
    assert f.feed(b" call last):\n") == b"Traceback (most recent call last):\n"
    assert f.feed(ONEDNN[:20]) == b""
    assert f.feed(ONEDNN[20:]) == b""  # a log line split across two reads is still dropped
    assert f.feed(b"no newline") == b"" and f.flush() == b"no newline"


@pytest.mark.slow
def test_a_training_cell_in_a_fresh_kernel_leaves_stderr_clean():
    """The same path a learner takes: a fresh kernel, ``import labkit``, then a tf.data fit."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    cells = [
        "import labkit\nlab = labkit.setup()",
        "import keras\nimport numpy as np\nimport tensorflow as tf\n"
        "x = np.random.default_rng(0).random((64, 8, 8, 3), dtype='float32')\n"
        "y = np.arange(64) % 2\n"
        "ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(16)"
        ".map(lambda a, b: (a * 2.0, b), num_parallel_calls=tf.data.AUTOTUNE)\n"
        "model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3),\n"
        "    keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(2, 'softmax')])\n"
        "model.compile('adam', 'sparse_categorical_crossentropy')\n"
        "model.fit(ds, epochs=1, verbose=0)\nprint('trained')",
        "import os, sys\nprint('a learner message', file=sys.stderr)\n"
        "os.write(2, b'a native message\\n')",
    ]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    # ipykernel forwards fd 2 to the notebook except under pytest: give the kernel a learner's env
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3").execute(env=env)
    streams = [(o["name"], o["text"]) for cell in nb.cells for o in cell.outputs
               if o["output_type"] == "stream"]
    stderr = "".join(text for name, text in streams if name == "stderr")
    stdout = "".join(text for name, text in streams if name == "stdout")
    assert "trained" in stdout
    assert not TF_LINE.search(stderr), f"TensorFlow log lines reached the notebook:\n{stderr}"
    assert "a learner message" in stderr  # the filter drops TF's lines only
    assert "a native message" in stderr
