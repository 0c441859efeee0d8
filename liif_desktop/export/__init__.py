"""Export: real-world image files in and out, the export core, batches and safe writes (no Qt)."""
