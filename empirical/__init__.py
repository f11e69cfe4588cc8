"""Vectorised H-SGD simulation on problems with certified constants (THEORY.md A1-A3)."""

__all__: list[str] = []
