"""Placeholder: filled in by its owner (module classes)."""
__all__: list[str] = []
