"""Grading: nbgrader config and preprocessors, hidden checks, repair of submissions, the grader.

Nothing here is ever shipped to students; hidden tests reach it through autograder.hidden only.
"""
