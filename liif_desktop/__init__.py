"""LIIF Desktop: continuous-scale super-resolution with Local Implicit Image Functions."""

__version__ = "0.1.0"
