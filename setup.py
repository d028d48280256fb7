"""Only the compiled sentence walk is declared here (setuptools has no stable pyproject.toml form for it);
everything else about the package is in pyproject.toml. optional=True: without a C compiler the install
still succeeds, and bot/sentences.py splits alone."""
from setuptools import Extension, setup

setup(ext_modules=[Extension("bot._sentences", ["bot/_sentences.c"], optional=True)])
