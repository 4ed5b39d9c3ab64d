"""Reliability and security tests: faults, cancellation, concurrency, callbacks, secrets.

A package, so that its helper module and test modules are named ``reliability.*`` and
cannot clash with modules of the same name elsewhere under ``tests/``.
"""
