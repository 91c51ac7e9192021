"""The app's shared UI: session state, the settings form, figures, and the sections the pages are
made of. Page scripts (``pages/``) import from here and never from each other."""
