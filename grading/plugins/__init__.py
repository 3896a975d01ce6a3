"""What nbgrader loads, and what runs inside a student's kernel.

- :mod:`~grading.plugins.preprocessors`: the preprocessors nbgrader_config.py names (``ResilientExecute`` runs a
  submission in its sandbox, ``LearnerExecute`` runs ``make validate``, and what graded notebooks and feedback show);
- :mod:`~grading.plugins.judge`: the trusted side of the judge, which the preprocessor drives: an exercise's tests,
  run in the grading process;
- ``judge_kernel.py`` and :mod:`~grading.plugins.wire`: the kernel's side of the judge (their text is sent into each
  graded kernel) and the data format both sides speak;
- :mod:`~grading.plugins.exchange`: the exchange classes every server's nbgrader loads (release, fetch, submit,
  collect through the hub's shared folder; deploy/jupyterhub/jupyter/nbgrader_config.py names them).

Nothing here is imported by this package's ``__init__``: nbgrader imports the preprocessors and the exchange
through its configuration files, and the kernel's side is read as text.
"""
