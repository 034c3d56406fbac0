"""Reference solutions, one module per chapter, GENERATED from the masters in book/.

The hidden checks load these by file path (autograder.hidden), never by import, so a student's
notebook cannot reach them through sys.path.
"""
