"""Matches `torch.optim.lr_scheduler` (placeholder until the schedulers land)."""
__all__: list[str] = []
