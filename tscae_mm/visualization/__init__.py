"""Drawings of what a model does (their command lines are in tools/)."""
