"""Builds the optional compiled kernels; everything else is in pyproject.toml.

The kernels are Cython, built with ``optional=True``: on a machine without a C
compiler the install still succeeds and the pure-Python parsers do the work
(slower, same results; the tests hold both to the same answers).
"""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # building from an sdist without Cython: no kernels
    extensions = []
else:
    extensions = cythonize(
        [Extension("collectors._fold", ["collectors/_fold.pyx"], optional=True)],
        compiler_directives={"language_level": "3"},
        quiet=True,
    )

setup(ext_modules=extensions)
