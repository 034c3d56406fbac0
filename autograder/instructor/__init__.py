"""The instructor's term after grading: hand grades, the term gradebook, LMS files, similarity.

These modules work on a grading folder's outputs and never change an automatic score, so they are
outside the code whose hash keys stored results (``autograder.grade.grader_sources``): changing
them never regrades a class.
"""
