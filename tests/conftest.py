"""Shared fixtures. The suite runs against the extension built in place
(python native/build_native.py) or against the installed package."""
import os
import sys
import zlib

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))


@pytest.fixture
def rng(request):
    """A generator seeded from the test's name: random, yet the same on every run."""
    return np.random.default_rng(zlib.crc32(request.node.nodeid.encode()))
