"""The tests: a package, so that test modules, benchmarks and scripts import ``tests.browser``."""
