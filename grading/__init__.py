"""The instructor's grading workflow on top of nbgrader: release, collect, autograde, feedback, export, summary.

Run it from the course root (where nbgrader_config.py is): ``python -m grading --help``, or the make targets
(``make help``). The book's instructor guide (guides/instructors.md) explains each step.
"""
