"""The sandwich checker, the paper-figure reproduction and the ``hsgd`` command line."""

__all__: list[str] = []
