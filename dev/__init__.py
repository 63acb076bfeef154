"""Development helpers shared by the tests and the benchmarks — never by product code.

Nothing in ``incident``, ``workflows``, ``activities``, ``worker`` or ``starter``
imports this package (``tests/test_layout.py`` checks), and it is not packaged:
``pip install warroom`` ships none of it.
"""
