"""Hypothesis keeps what it writes (its constants cache) out of the work tree, like `-p no:cacheprovider` does
for pytest's cache."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis.configuration import set_hypothesis_home_dir

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "insureflow-conformance-hypothesis")
