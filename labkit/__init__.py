"""labkit: the shared code behind the course notebooks.

Import order matters: in a Jupyter kernel ``labkit.quiet`` filters TensorFlow's C++ log lines
out of stderr, and ``labkit.config`` sets TensorFlow's log level, both before TF is imported.
Notebooks therefore ``import labkit`` before ``keras`` or ``tensorflow``.
"""

from __future__ import annotations

from labkit import quiet

quiet.install()

from labkit.config import DEFAULT_SEED, PROFILES, Profile, get_profile  # noqa: E402, F401
from labkit.session import Lab, setup  # noqa: E402, F401

__version__ = "0.1.0"
__all__ = ["DEFAULT_SEED", "PROFILES", "Profile", "get_profile", "Lab", "setup", "__version__"]
