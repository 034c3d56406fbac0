"""Grading: nbgrader config and preprocessors, hidden checks, repair of submissions, the grader.

``collect`` (LMS downloads -> submissions), ``repair`` (submissions -> the chapter's cells),
``worker`` (one submission graded), ``grade`` (a class: Dask, results store, reports),
``sandbox`` (kernels forked into a sandbox, the oracle that runs hidden checks outside them).
Nothing here is ever shipped to students; inside a grading kernel, ``autograder`` is only the
kernel-side client of the oracle (``sandbox/kernel_client.py`` and ``sandbox/protocol.py``). See
docs/grading.md. Results, the store and the reports are ``results``; the layers are in
docs/authors.md.
"""
