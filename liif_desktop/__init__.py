"""LIIF Desktop: continuous-scale super-resolution with Local Implicit Image Functions."""

import os

# OpenMP threads spin while they wait for work by default. LIIF runs many small parallel
# regions, and a spinning thread that shares its core with any other program stalls the
# next region: two threads collapse to far below one on a busy desktop. Passive waiting
# costs almost nothing on a quiet machine (benchmarks/viewport.py measures both). It must
# be set before torch is imported, which every entry point does through this package; a
# user's own setting wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
