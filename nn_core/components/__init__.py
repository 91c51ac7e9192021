"""The parts of a training run, each one concern with hooks the loop (``nn_core.training``) calls.

A new concern is a ``Component`` in a module of its own here, and one line in ``Trainer.__post_init__``.
"""
