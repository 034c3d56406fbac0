"""Student answers for approximate_function, as the full source of the answer cell.

``CORRECT[name]`` must get full marks, ``WRONG[name]`` must lose points with feedback that names
``MISTAKES[name]`` (a regular expression) and no other mistake (one exercise: flat dictionaries).
Variants of the reference are built on ``solutions/relu_approximation.py`` itself.
"""
from tests.helpers import run_answer, solution_source, variant

SLUG = "relu_approximation"
CHAPTER = "01_relu_approximation.ipynb"
EXERCISE = "approximate_function"
CHECKS = {EXERCISE: ["approximate_function_shapes", "approximate_function_values"]}

REFERENCE = solution_source(SLUG, "approximate_function")

# The original tutorial's code, as a student who completed it hands it in.
TUTORIAL = '''
def approximate_function(x_train, y_train):
    n_relus = x_train.shape[0] - 1
    x = torch.linspace(torch.min(x_train), torch.max(x_train), 1000)
    b = -x_train[:-1]
    relu_acts = torch.zeros((n_relus, x.shape[0]))
    for i_relu in range(n_relus):
        relu_acts[i_relu, :] = torch.relu(x + b[i_relu])
    combination_weights = torch.zeros((n_relus,))
    prev_slope = 0
    for i in range(n_relus):
        delta_x = x_train[i + 1] - x_train[i]
        slope = (y_train[i + 1] - y_train[i]) / delta_x
        combination_weights[i] = slope - prev_slope
        prev_slope = slope
    y_hat = combination_weights @ relu_acts
    return y_hat, relu_acts, x
'''

CORRECT = {
    "loop": TUTORIAL,
    "reference": REFERENCE,
    "vectorised": '''
def approximate_function(x_train, y_train):
    xs, ys = x_train.reshape(-1), y_train.reshape(-1)
    x = torch.linspace(xs.min(), xs.max(), 1000)
    relu_acts = torch.relu(x[None, :] - xs[:-1, None])          # (N-1, 1000)
    slopes = torch.diff(ys) / torch.diff(xs)                     # (N-1,)
    weights = torch.diff(slopes, prepend=torch.zeros(1))        # change of slope
    y_hat = weights @ relu_acts
    return y_hat, relu_acts, x
''',
    "column_shaped_y_hat": variant(
        REFERENCE, ("y_hat = combination_weights @ relu_acts",
                    "y_hat = (relu_acts * combination_weights[:, None]).sum(dim=0, keepdim=True).T")),
    # NumPy for the arithmetic, tensors back at the end
    "numpy": '''
def approximate_function(x_train, y_train):
    xs = x_train.numpy().ravel()
    ys = y_train.numpy().ravel()
    grid = np.linspace(xs.min(), xs.max(), 1000)
    acts = np.maximum(grid[None, :] - xs[:-1, None], 0)
    slopes = (ys[1:] - ys[:-1]) / (xs[1:] - xs[:-1])
    weights = slopes - np.concatenate([[0.0], slopes[:-1]])
    y_hat = weights @ acts
    return torch.from_numpy(y_hat), torch.from_numpy(acts), torch.from_numpy(grid)
''',
    # Python lists of rows, stacked at the end; clamp as the ReLU
    "lists_stack_and_clamp": '''
def approximate_function(x_train, y_train):
    x_train, y_train = x_train.flatten(), y_train.flatten()
    x = torch.linspace(x_train.min().item(), x_train.max().item(), 1000)
    rows, weights, previous = [], [], 0.0
    for i in range(len(x_train) - 1):
        rows.append((x - x_train[i]).clamp(min=0))
        slope = (y_train[i + 1] - y_train[i]) / (x_train[i + 1] - x_train[i])
        weights.append(slope - previous)
        previous = slope
    relu_acts = torch.stack(rows)
    y_hat = sum(w * row for w, row in zip(weights, rows))
    return y_hat, relu_acts, x
''',
}

WRONG = {
    "bias_sign_flipped": variant(REFERENCE, ("b = -x_train[:-1]", "b = x_train[:-1]")),
    "weights_not_differenced": variant(REFERENCE, ("combination_weights[i] = slope - prev_slope",
                                                   "combination_weights[i] = slope")),
    "bends_one_point_late": variant(REFERENCE, ("b = -x_train[:-1]", "b = -x_train[1:]")),
    "sum_over_wrong_axis": variant(REFERENCE, (
        "y_hat = combination_weights @ relu_acts",
        "y_hat = (combination_weights[:, None] * relu_acts).sum(dim=1)")),
    "outputs_in_wrong_order": variant(REFERENCE, ("return y_hat, relu_acts, x", "return relu_acts, y_hat, x")),
    "prev_slope_never_updated": variant(REFERENCE, ("        prev_slope = slope\n", "")),
    "hardcoded_sine_range": variant(REFERENCE, (
        "torch.linspace(torch.min(x_train), torch.max(x_train), 1000)",
        "torch.linspace(0, 2 * 3.141592653589793, 1000)")),
    "too_few_points_on_x": variant(REFERENCE, ("torch.max(x_train), 1000)", "torch.max(x_train), 100)")),
    "extra_relu_per_point": '''
def approximate_function(x_train, y_train):
    xs, ys = x_train.reshape(-1), y_train.reshape(-1)
    x = torch.linspace(xs.min(), xs.max(), 1000)
    relu_acts = torch.relu(x[None, :] - xs[:, None])             # one ReLU too many
    slopes = torch.diff(ys) / torch.diff(xs)
    weights = torch.cat([torch.diff(slopes, prepend=torch.zeros(1)), torch.zeros(1)])
    return weights @ relu_acts, relu_acts, x
''',
}

# The mistake each wrong answer makes, as the phrase its feedback must contain.
MISTAKES = {
    "bias_sign_flipped": r"sign of the biases",
    "weights_not_differenced": r"change of slope",
    "prev_slope_never_updated": r"change of slope",
    "bends_one_point_late": r"one point late",
    "sum_over_wrong_axis": r"sum over the ReLUs",
    "outputs_in_wrong_order": r"in the order \(y_hat, relu_acts, x\)",
    "hardcoded_sine_range": r"from min\(x_train\) to max\(x_train\)",
    "too_few_points_on_x": r"1000 evenly spaced points",
    "extra_relu_per_point": r"one ReLU per interval",
}


def objects(exercise: str, code: str) -> list:
    """The objects the hidden block hands to the checks, from an answer cell run as the notebook
    runs it."""
    return [run_answer(code)[exercise]]


# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {EXERCISE: CORRECT["loop"]}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = ["Shapes and order look right."]
