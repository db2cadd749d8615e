"""Helpers shared by the test modules: paths, run builders, mail, the live view rig, corpora.

Test modules import from here (``from support.runs import automation``); pytest puts
``tests/`` on ``sys.path``. Fixtures stay in ``tests/conftest.py``.
"""
