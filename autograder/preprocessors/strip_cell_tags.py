"""Drop every cell tag before execution, so no tag (``skip-execution``, ``raises-exception``,
or whatever nbclient learns next) can make the grader skip a test or ignore its error."""
from nbgrader.preprocessors import NbGraderPreprocessor


class StripCellTags(NbGraderPreprocessor):
    """Remove ``metadata.tags`` from every cell of a submission."""

    def preprocess_cell(self, cell, resources, index):
        if cell.metadata.pop("tags", None):
            self.log.info("Removed tags from cell %d before grading", index)
        return cell, resources
