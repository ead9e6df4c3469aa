"""labkit: the shared code behind the course notebooks.

Import order matters: ``labkit.config`` sets TensorFlow's log level before TF is imported.
"""

from __future__ import annotations

from labkit.config import DEFAULT_SEED, PROFILES, Profile, get_profile  # noqa: F401  (first)
from labkit.session import Lab, setup  # noqa: F401

__version__ = "0.1.0"
__all__ = ["DEFAULT_SEED", "PROFILES", "Profile", "get_profile", "Lab", "setup", "__version__"]
