"""A strict CPU stand-in for CuPy, for running the suite with ``cuda`` as device."""
