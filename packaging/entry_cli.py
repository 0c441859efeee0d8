"""PyInstaller entry point of the ``liif-upscale`` executable (the command line, no Qt)."""

import multiprocessing
import sys

from liif_desktop.cli import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
