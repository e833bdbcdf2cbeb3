"""Maintenance tools run by the Makefile (not part of the learner-facing API)."""
