"""Group means on a nested grouping, fast: aggregation and the divergences of docs/theory.md
§2.1 Definitions.

A nested grouping (``levels`` as in :mod:`bounds.divergence`, finest first) is sorted once so
that every level's groups are contiguous runs of workers; after that a level's group sums are
one ``np.add.reduceat`` (or a reshape when the groups are equal), and writing the means back
to every worker is one ``np.take``. No loop over workers, groups or seeds.

Arrays have the workers on axis 1: ``(batch, n, d)``, in the problem's worker order. Methods
that need scratch space take a ``work`` array of the same shape, so the hot loop allocates
nothing of that size (the engine lends its gradient buffer, which is dead at those moments).

This is the hot-loop counterpart of :func:`bounds.divergence.level_divergences` (Lemma 1
level by level), which stays the reference: the tests check the two agree.

:class:`WeightedLevels` does the same jobs with per-worker weights (docs/theory.md §10.1
Setting): weighted group means, ``u = sum_j w_j x_j`` at the top, the weighted divergences,
and the draw of each round's participants.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bounds.divergence import validate_levels

__all__ = ["SortedLevels", "WeightedLevels"]


def _starts(sorted_labels: NDArray[np.intp]) -> NDArray[np.intp]:
    change = np.flatnonzero(sorted_labels[1:] != sorted_labels[:-1]) + 1
    return np.concatenate(([0], change)).astype(np.intp)


class SortedLevels:
    """A nested grouping of ``n`` workers, sorted so that every level's groups are contiguous.

    Levels are numbered as in docs/theory.md §1.1 Workers, hierarchy, periods: level 0 is each
    worker alone, levels ``1..M-1`` are ``levels`` (finest first) and level ``M`` is everyone.
    Groups of each level are numbered in sorted order (not by their labels).

    Attributes:
        n, M: workers and number of levels.
        order: ``order[i]`` is the worker at sorted position ``i``.
        sizes: ``sizes[l]``, workers per level-``l`` group, for ``l = 0..M``.
        parent: ``parent[l]``, the level-``l`` group of each level-``(l-1)`` group, ``l = 1..M``.
        child_starts: ``child_starts[l]``, index of the first level-``(l-1)`` child of each
            level-``l`` group (children are contiguous), ``l = 1..M``.
        group_of_worker: ``group_of_worker[l]``, each worker's level-``l`` group, in the
            problem's worker order, ``l = 1..M``.

    Example:
        >>> s = SortedLevels([[1, 0, 1, 0]], 4)
        >>> s.order.tolist(), [z.tolist() for z in s.sizes]
        ([1, 3, 0, 2], [[1, 1, 1, 1], [2, 2], [4]])
        >>> x = np.arange(4.0).reshape(1, 4, 1)
        >>> s.divergences(x, np.empty_like(x))[0].tolist()  # downward, upward
        [[1.0, 0.25]]
    """

    def __init__(self, levels: Sequence[ArrayLike], n: int, *, validate: bool = True) -> None:
        labs = validate_levels(levels, n) if validate else [np.asarray(lab, dtype=np.intp) for lab in levels]
        self.n, self.M = int(n), len(labs) + 1
        self.order = np.lexsort(tuple(labs)) if labs else np.arange(n)  # coarsest label is the primary key
        self.identity = bool(np.all(self.order == np.arange(n)))
        chain_sorted = [np.arange(n), *(lab[self.order] for lab in labs), np.zeros(n, dtype=np.intp)]
        worker_starts = [_starts(lab) for lab in chain_sorted]  # level-l group starts, in workers
        self.sizes = [np.diff(np.append(st, n)) for st in worker_starts]
        self.worker_starts = worker_starts
        self.parent: list[NDArray[np.intp] | None] = [None]
        self.child_starts: list[NDArray[np.intp] | None] = [None]
        self.group_of_worker: list[NDArray[np.intp] | None] = [None]
        for l in range(1, self.M + 1):
            # sorted group index of every sorted position, at level l
            gid = np.zeros(n, dtype=np.intp)
            gid[worker_starts[l][1:]] = 1
            gid = np.cumsum(gid)
            parent = gid[worker_starts[l - 1]]
            self.parent.append(parent)
            self.child_starts.append(_starts(parent))
            of_worker = np.empty(n, dtype=np.intp)
            of_worker[self.order] = gid
            self.group_of_worker.append(of_worker)
        self.equal = [bool(np.all(s == s[0])) for s in self.sizes]
        # for equal groups: the workers ordered by their place in their group, then by group
        # (position i * K_l + k holds the i-th member of group k), so that a level's sums are one
        # reduction over the leading axis with long contiguous inner loops
        self._by_place = [self.order.reshape(s.size, -1).T.ravel().copy() if eq else None
                          for s, eq in zip(self.sizes, self.equal)]
        # constants of the divergences, formed once (the same float64 values numpy forms per call)
        self._size_col = [s[:, None].astype(np.float64) for s in self.sizes]
        self._weight = [s / n for s in self.sizes]

    # ------------------------------------------------------------------ helpers
    def _sorted(self, x: NDArray[np.float64], work: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.identity:
            return x
        np.take(x, self.order, axis=1, out=work)
        return work

    def _level_means(self, xs: NDArray[np.float64], l: int) -> NDArray[np.float64]:
        """Means of the level-``l`` groups from the sorted workers ``xs``: ``(batch, K_l, d)``."""
        b, n, d = xs.shape
        if self.equal[l]:
            k = self.sizes[l].size
            # xs.reshape(...).mean(axis=2) without mean's Python layer: the same sum, then the same division
            sums = np.add.reduce(xs.reshape(b, k, n // k, d), axis=2)
            return np.true_divide(sums, n // k, out=sums)
        sums = np.add.reduceat(xs, self.worker_starts[l], axis=1)
        sums /= self.sizes[l][:, None]
        return sums

    def _means_of_workers(self, x: NDArray[np.float64], l: int, work: NDArray[np.float64]) -> NDArray[np.float64]:
        """Means of the level-``l`` groups (``1 <= l < M``) of the workers ``x`` (problem order):
        ``(batch, K_l, d)``; ``work`` is scratch of ``x``'s shape (overwritten).

        Equal groups with ``d > 1`` take the workers by their place in the group
        (``_by_place``) and sum over that leading axis: the same left-to-right sum of each
        group's members in sorted order as :meth:`_level_means` (whose sum over the members'
        axis also runs member by member when ``d > 1``), about 2-3x faster on small arrays.
        With ``d = 1`` numpy sums a contiguous axis pairwise, so that case keeps
        :meth:`_level_means`."""
        b, n, d = x.shape
        if self.equal[l] and d > 1:
            k = self.sizes[l].size
            np.take(x, self._by_place[l], axis=1, out=work)
            # einsum sums the members one after another as np.add.reduce(axis=1) does, and
            # about 3x faster when k * d is small (reduce's inner loops are then k * d long)
            sums = np.einsum("bjkd->bkd", work.reshape(b, n // k, k, d))
            return np.true_divide(sums, n // k, out=sums)
        return self._level_means(self._sorted(x, work), l)

    # ------------------------------------------------------------------ the two jobs
    def aggregate(self, x: NDArray[np.float64], level: int, work: NDArray[np.float64]) -> None:
        """Replace every worker's model by its level-``level`` group mean, in place (docs/theory.md
        §1.2 Algorithm's aggregation). ``work`` is scratch of ``x``'s shape."""
        if level == self.M:  # x.mean(axis=1, keepdims=True) without mean's Python layer (the same numbers)
            total = np.add.reduce(x, axis=1, keepdims=True)
            np.copyto(x, np.true_divide(total, x.shape[1], out=total))
            return
        means = self._means_of_workers(x, level, work)
        np.take(means, self.group_of_worker[level], axis=1, out=x)

    def divergences(self, x: NDArray[np.float64], work: NDArray[np.float64]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Lemma 1 level by level: ``(Delta, u)`` with ``Delta`` of shape ``(batch, M)``
        (``Delta_l = sum_{u at level l-1} (n_u/n) ||m_u - m_parent(u)||^2``) and the global
        mean ``u``, ``(batch, d)``. ``work`` is scratch of ``x``'s shape (overwritten)."""
        b, n, d = x.shape
        take, einsum, size_col = np.take, np.einsum, self._size_col
        means = [None, self._means_of_workers(x, 1, work)]
        for l in range(2, self.M + 1):
            sums = np.add.reduceat(means[l - 1] * size_col[l - 1], self.child_starts[l], axis=1)
            means.append(np.true_divide(sums, size_col[l], out=sums))
        out = np.empty((b, self.M))
        take(means[1], self.group_of_worker[1], axis=1, out=work)
        np.subtract(x, work, out=work)
        flat = work.reshape(b, n * d)
        out[:, 0] = einsum("bi,bi->b", flat, flat) / n
        for l in range(2, self.M + 1):
            diff = means[l - 1] - take(means[l], self.parent[l], axis=1)
            out[:, l - 1] = einsum("bkd,bkd,k->b", diff, diff, self._weight[l - 1])
        return out, means[self.M][:, 0]

    def group_divergences(self, xs: NDArray[np.float64], dxs: NDArray[np.float64] | None = None
                          ) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]] | None]:
        """A3's ``div_p`` of every group ``p`` at every level ``l = 1..M`` (children: the
        level-``(l-1)`` groups), for workers already in sorted order: ``xs`` ``(batch, n, d)``.

        ``div_p = sum_{u child of p} (n_u/n_p) ||m_u - m_p||^2``. With ``dxs``, the derivatives
        of ``xs`` along some direction, also returns the derivatives of every ``div_p``:
        ``2 sum_u (n_u/n_p) <m_u - m_p, dm_u - dm_p>``.

        Returns:
            ``(divs, slopes)``: lists of ``M`` arrays ``(batch, K_l)``; ``slopes`` is ``None``
            without ``dxs``.
        """
        divs, slopes = [], ([] if dxs is not None else None)
        prev, dprev = xs, dxs
        for l in range(1, self.M + 1):
            means = self._level_means(xs, l)
            diff = prev - means[:, self.parent[l]]
            weights = self.sizes[l - 1] / self.sizes[l][self.parent[l]]
            divs.append(np.add.reduceat(np.einsum("bkd,bkd,k->bk", diff, diff, weights), self.child_starts[l], axis=1))
            if dxs is not None:
                dmeans = self._level_means(dxs, l)
                ddiff = dprev - dmeans[:, self.parent[l]]
                slopes.append(2 * np.add.reduceat(np.einsum("bkd,bkd,k->bk", diff, ddiff, weights),
                                                  self.child_starts[l], axis=1))
                dprev = dmeans
            prev = means
        return divs, slopes


class WeightedLevels:
    """Weighted aggregation and divergences on a :class:`SortedLevels` grouping (docs/theory.md §10.1
    Setting).

    Every worker ``j`` of every batch row has a weight ``w_j >= 0`` (set per round by
    :meth:`set_weights`, or drawn by :meth:`sample`); a group's weight ``w_q`` is the sum over its
    members and its model the ``w``-weighted mean of its members' (every group of level ``>= 1``
    must have positive weight). With ``w_j = 1/n`` these are :class:`SortedLevels`'s means and
    divergences (up to rounding).

    Args:
        levels: the sorted grouping.
        p: the normalised data-size weights ``p_j`` (``n`` positive numbers summing to 1), in
            the problem's worker order; :meth:`sample` forms the sampled system's weights from them.

    Example:
        >>> s = SortedLevels([[0, 0, 1, 1]], 4)
        >>> wl = WeightedLevels(s, np.full(4, 0.25))
        >>> wl.set_weights(np.array([[0.25, 0.25, 0.5, 0.0]]))  # worker 3 not sampled
        >>> x = np.arange(4.0).reshape(1, 4, 1)
        >>> wl.divergences(x, np.empty_like(x))[1].tolist()  # u = sum_j w_j x_j
        [[1.25]]
        >>> wl.aggregate(x, 1, np.empty_like(x)); x[0, :, 0].tolist()  # weighted group means
        [0.5, 0.5, 2.0, 2.0]
    """

    def __init__(self, levels: SortedLevels, p: NDArray[np.float64]) -> None:
        self.levels = levels
        self.p = np.asarray(p, dtype=np.float64)
        n = levels.n
        starts = levels.worker_starts[1]
        self._p_sorted = self.p[levels.order]
        self._group_p = np.add.reduceat(self._p_sorted, starts)  # p_q of every level-1 group
        gid = np.zeros(n, dtype=np.intp)
        gid[starts[1:]] = 1
        self._gid = np.cumsum(gid)  # level-1 group of every sorted position
        self._rank = np.arange(n) - starts[self._gid]  # position inside its level-1 group

    # ------------------------------------------------------------------ weights of a round
    def set_weights(self, w: NDArray[np.float64]) -> None:
        """Set the workers' weights ``w`` of shape ``(batch, n)`` (problem order) for the round."""
        L = self.levels
        self.w = np.ascontiguousarray(w, dtype=np.float64)
        self._w_col = self.w[:, :, None]
        ws = self.w[:, L.order] if not L.identity else self.w
        totals = [ws]
        for l in range(1, L.M + 1):
            totals.append(np.add.reduceat(totals[-1], L.child_starts[l], axis=1))
        self._totals = totals  # totals[l]: (batch, K_l), the level-l groups' weights
        self._ws_col = ws[:, :, None]
        self._total_cols = [t[:, :, None] for t in totals]

    def sample(self, keys: NDArray[np.float64], S: int) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
        """Partial participation: in every level-1 group of every batch row, the ``S`` members with
        the smallest ``keys`` (uniform draws, one per worker, problem order; ties to the lower
        worker index) take part. Sets and returns the sampled system's weights
        ``w_j = p_q p_j / sum_{i sampled in q} p_i`` (0 when not sampled) and the sampled mask,
        both ``(batch, n)`` in the problem's worker order.
        """
        L = self.levels
        b, n = keys.shape
        k = L.sizes[1].size
        ks = keys[:, L.order] if not L.identity else keys
        # sorted by group, then by key (stable: ties to the earlier sorted position, which is the
        # lower worker index inside a group): group q's members in key order, as np.lexsort would
        if L.equal[1]:
            perm = np.argsort(ks.reshape(b, k, n // k), axis=-1, kind="stable")
            perm += L.worker_starts[1][:, None]
            perm = perm.reshape(b, n)
        else:
            by_key = np.argsort(ks, axis=-1, kind="stable")
            perm = np.take_along_axis(by_key, np.argsort(self._gid[by_key], axis=-1, kind="stable"), axis=-1)
        first = perm[:, self._rank < S]  # (b, k S): the S first of each group, group by group
        chosen = L.order[first]  # in the problem's worker order
        p_chosen = self.p[chosen]
        p_sampled = np.add.reduce(p_chosen.reshape(b, k, S), axis=2)
        group = np.repeat(np.arange(k), S)
        rows = np.arange(b)[:, None]
        w = np.zeros((b, n))
        w[rows, chosen] = self._group_p[group] * p_chosen / p_sampled[:, group]
        sampled = np.zeros((b, n), dtype=bool)
        sampled[rows, chosen] = True
        self.set_weights(w)
        return w, sampled

    # ------------------------------------------------------------------ the two jobs
    def _weighted_sorted(self, x: NDArray[np.float64], work: NDArray[np.float64]) -> NDArray[np.float64]:
        """``w_j x_j`` in sorted order, written into ``work``."""
        if self.levels.identity:
            return np.multiply(x, self._ws_col, out=work)
        x.take(self.levels.order, axis=1, out=work)
        return np.multiply(work, self._ws_col, out=work)

    def _means(self, wxs: NDArray[np.float64], l: int) -> NDArray[np.float64]:
        """Weighted means ``(batch, K_l, d)`` of the level-``l`` groups from sorted ``w_j x_j``."""
        L = self.levels
        b, n, d = wxs.shape
        if L.equal[l]:
            k = L.sizes[l].size
            sums = np.add.reduce(wxs.reshape(b, k, n // k, d), axis=2)
        else:
            sums = np.add.reduceat(wxs, L.worker_starts[l], axis=1)
        return np.divide(sums, self._total_cols[l], out=sums)

    def global_model(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """``u = sum_j w_j x_j``, ``(batch, d)``: the sampled system's global model."""
        return np.einsum("bn,bnd->bd", self.w, x)

    def aggregate(self, x: NDArray[np.float64], level: int, work: NDArray[np.float64]) -> None:
        """Replace every worker's model by its level-``level`` group's weighted mean, in place
        (the top level: by ``u = sum_j w_j x_j``). Workers of weight 0 receive their group's
        mean too (the engine restores the ones that must not move). ``work``: scratch of
        ``x``'s shape."""
        if level == self.levels.M:
            np.copyto(x, self.global_model(x)[:, None, :])
            return
        means = self._means(self._weighted_sorted(x, work), level)
        np.take(means, self.levels.group_of_worker[level], axis=1, out=x)

    def divergences(self, x: NDArray[np.float64], work: NDArray[np.float64]
                    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """``(Delta, u)``: ``Delta_l = sum_{q at level l-1} w_q ||u_q - u_parent(q)||^2``, shape
        ``(batch, M)`` (``u_q`` the ``w``-weighted mean; groups of weight 0 add 0), and
        ``u = sum_j w_j x_j``, ``(batch, d)``. ``work`` is scratch of ``x``'s shape (overwritten)."""
        L = self.levels
        b, n, d = x.shape
        M, take, einsum = L.M, np.take, np.einsum
        u = self.global_model(x)
        means: list[NDArray[np.float64] | None] = [None]
        if M > 1:
            means.append(self._means(self._weighted_sorted(x, work), 1))
            for l in range(2, M):
                sums = np.add.reduceat(means[l - 1] * self._total_cols[l - 1], L.child_starts[l], axis=1)
                means.append(np.divide(sums, self._total_cols[l], out=sums))
        means.append(u[:, None, :])
        out = np.empty((b, M))
        if M > 1:
            take(means[1], L.group_of_worker[1], axis=1, out=work)
            np.subtract(x, work, out=work)
        else:
            np.subtract(x, means[1], out=work)
        out[:, 0] = einsum("bn,bn->b", einsum("bnd,bnd->bn", work, work), self.w)
        for l in range(2, M + 1):
            diff = means[l - 1] - take(means[l], L.parent[l], axis=1)
            out[:, l - 1] = einsum("bk,bk->b", einsum("bkd,bkd->bk", diff, diff), self._totals[l - 1])
        return out, u
