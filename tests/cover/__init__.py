"""Behaviour tests (a package, so that test module basenames may repeat across folders)."""
