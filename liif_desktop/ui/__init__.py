"""The Qt desktop app: main window, tiled LIIF canvas, dialogs. Only this package uses Qt."""
