"""Matches `torch.testing.assert_close` (filled in below)."""
