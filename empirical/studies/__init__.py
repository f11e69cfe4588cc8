"""The verification studies: what the toolkit measures with the simulator, beyond one run.

* :mod:`~empirical.studies.witnesses`: instances built so that one term of Theorem 2 bites
  (docs/theory.md §7.4 Remark: witnesses), searched, evaluated and saved in
  ``empirical/data/witnesses.json``; ``hsgd power`` checks them.
* :mod:`~empirical.studies.sharp_search`: Theorem S against exact periodic orbits of the kink
  problem (docs/theory.md §9), saved in ``empirical/data/sharp_search.json``.
* :mod:`~empirical.studies.federated_battery`: a seeded adversarial battery for Theorem W
  (data weights, partial participation, docs/theory.md §10), saved in
  ``empirical/data/federated_battery.json``.
* :mod:`~empirical.studies.audit`: both sides of every step of Theorem 2's derivation along a
  run (figure F9).

Each module is imported by name (``from empirical.studies.witnesses import build``): this
package imports none of them, so loading one study does not load the others.
"""
