"""nbgrader scores a test cell 0 when it printed anything on stderr, so a harmless warning
(a deprecation in torch, a tqdm bar) fails a passing test. Only a raised error should fail it:
stderr output of test cells is re-labelled stdout (still shown in feedback, no longer a zero)."""
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class StderrIsNotFailure(NbGraderPreprocessor):
    """Turn stderr streams of autograded test cells into stdout streams."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            for output in cell.outputs:
                if output.output_type == "stream" and output.name == "stderr":
                    output.name = "stdout"
        return cell, resources
