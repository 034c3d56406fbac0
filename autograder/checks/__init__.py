"""Hidden checks, one module per chapter (``check_<name>(*student_objects, reference)``).

Each check runs the student's code and the reference module on fresh random inputs and raises
:class:`~autograder.checks.compare.CheckFailed` with a message that says what is wrong.
"""
