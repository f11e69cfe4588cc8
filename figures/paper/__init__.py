"""The figures of this project (F1-F11): one module per figure, each returning its data and
drawing it, and :mod:`figures.paper.build`, which rebuilds them (``hsgd figures``).

The code lives here; the files a build writes (PNG, PDF and the data as JSON) go to ``figures/``
by default, beside the README that shows them.
"""
