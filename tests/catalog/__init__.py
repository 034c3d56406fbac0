"""Catalogs of realistic student answers per chapter: every WRONG one must lose points, every
CORRECT one must get full marks (checked in-process and through the real grader)."""
