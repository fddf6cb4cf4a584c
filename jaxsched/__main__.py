"""``python -m jaxsched``: the ``jaxsched`` command line (see :mod:`jaxsched.cli`)."""

# Guarded so that importing this module (pytest --doctest-modules does) runs nothing.
if __name__ == "__main__":
    from .cli import main

    raise SystemExit(main())
