"""Rendering LIIF output: regions, whole images, and the viewport engine (no Qt here)."""
