"""Placeholder: filled in by its owner (functional forms)."""
__all__: list[str] = []
