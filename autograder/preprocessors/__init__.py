"""nbgrader preprocessors that close the known grading traps, one small transformation each."""
from .ignore_result_values import IgnoreResultValues
from .shorten_tracebacks import ShortenTracebacks
from .stderr_is_not_failure import StderrIsNotFailure
from .strip_cell_tags import StripCellTags

__all__ = ["IgnoreResultValues", "ShortenTracebacks", "StderrIsNotFailure", "StripCellTags"]
