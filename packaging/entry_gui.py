"""PyInstaller entry point of the ``liif-desktop`` executable (the Qt app)."""

import multiprocessing
import sys

from liif_desktop.app import main

if __name__ == "__main__":
    multiprocessing.freeze_support()
    sys.exit(main())
