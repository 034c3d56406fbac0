"""Bad inputs and a realistic class for the grading tests and benchmark (make_corpus.py)."""
