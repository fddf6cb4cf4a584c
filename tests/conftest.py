"""Test-wide setup: Keras runs on its JAX backend; torch uses its CPU build."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")
