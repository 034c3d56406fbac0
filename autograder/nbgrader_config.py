"""nbgrader configuration for the course, shared by student-notebook generation and grading.

Each line closes a known trap; the grader (autograder.grade) sets the course directory, the time
limits, and replaces Execute with autograder.sandbox.kernel.SandboxedExecute (sandboxed kernels
forked from a zygote; see autograder/workspace.py:grading_config and docs/grading.md). The
stubs students get are the chapter format's (core/chapter.py).
"""
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, ClearHiddenTests,
                                    ClearOutput, DeduplicateIds, Execute, GetGrades, IgnorePattern,
                                    LimitOutput, OverwriteCells, OverwriteKernelspec, SaveAutoGrades)
from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor

from autograder.preprocessors import (IgnoreResultValues, ShortenTracebacks, StderrIsNotFailure,
                                      StripCellTags)
from core.chapter import CODE_STUB, TEXT_STUB

c = get_config()  # noqa: F821 (provided by traitlets when the file is loaded)

# Students get a stub they must replace; a solution marker in an unmarked cell is an error.
c.ClearSolutions.code_stub = {"python": CODE_STUB}
c.ClearSolutions.text_stub = TEXT_STUB
c.ClearSolutions.enforce_metadata = True

# Untrusted code: a per-cell time limit (the grader adds a per-notebook one), and errors in one
# cell never stop the others from running.
c.Execute.timeout = 120
c.Execute.interrupt_on_timeout = True
c.Execute.skip_cells_with_tag = "mlp-course:never-skip"  # belt and braces: tags are stripped too

c.Autograde.sanitize_preprocessors = [
    ClearOutput,
    DeduplicateIds,
    OverwriteKernelspec,
    OverwriteCells,      # test cells come back from the gradebook, whatever the student did
    StripCellTags,       # no skip-execution / raises-exception tags survive
    CheckCellMetadata,
]
c.Autograde.autograde_preprocessors = [
    Execute,
    StderrIsNotFailure,  # a warning on stderr does not zero a passing test
    IgnoreResultValues,  # a displayed value is never read as a (partial) grade
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# Feedback shows visible tests and check messages, never hidden test code or its traceback.
c.GenerateFeedback.preprocessors = [GetGrades, CSSHTMLHeaderPreprocessor, ClearHiddenTests,
                                    ShortenTracebacks]
