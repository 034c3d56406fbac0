"""nbgrader reads a test cell's ``execute_result`` as a partial grade (a bare ``0.5`` scores half,
a bare ``False`` scores full). Tests here pass by not raising; a value they happen to display
must never set the grade, so test cells keep no ``execute_result`` outputs."""
from nbgrader import utils
from nbgrader.preprocessors import NbGraderPreprocessor


class IgnoreResultValues(NbGraderPreprocessor):
    """Drop execute_result outputs from autograded test cells before grades are saved."""

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and utils.is_grade(cell) and not utils.is_solution(cell):
            cell.outputs = [o for o in cell.outputs if o.output_type != "execute_result"]
        return cell, resources
