"""A failing hidden check's traceback quotes the hidden test and the check library line by line.
Feedback keeps only the last line of every error (``AssertionError: what is wrong``): the
check messages are written to be read alone."""
from nbgrader.preprocessors import NbGraderPreprocessor


class ShortenTracebacks(NbGraderPreprocessor):
    """Replace each error traceback with its final ``ename: evalue`` line."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
                output.traceback = [message]
        return cell, resources
