"""Student answers for approximate_function, as the full source of the answer cell."""

REFERENCE_LOOP = '''
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


def variant(*replacements: tuple[str, str]) -> str:
    source = REFERENCE_LOOP
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


CORRECT = {
    "loop": REFERENCE_LOOP,
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
        ("y_hat = combination_weights @ relu_acts",
         "y_hat = (relu_acts * combination_weights[:, None]).sum(dim=0, keepdim=True).T"),
    ),
}

WRONG = {
    "bias_sign_flipped": variant(("b = -x_train[:-1]", "b = x_train[:-1]")),
    "weights_not_differenced": variant(("combination_weights[i] = slope - prev_slope",
                                        "combination_weights[i] = slope")),
    "bends_one_point_late": variant(("b = -x_train[:-1]", "b = -x_train[1:]")),
    "sum_over_wrong_axis": variant(("y_hat = combination_weights @ relu_acts",
                                    "y_hat = (combination_weights[:, None] * relu_acts).sum(dim=1)")),
    "outputs_in_wrong_order": variant(("return y_hat, relu_acts, x", "return relu_acts, y_hat, x")),
    "prev_slope_never_updated": variant(("        prev_slope = slope\n", "")),
    "hardcoded_sine_range": variant(("torch.linspace(torch.min(x_train), torch.max(x_train), 1000)",
                                     "torch.linspace(0, 2 * 3.141592653589793, 1000)")),
    "too_few_points_on_x": variant(("torch.max(x_train), 1000)", "torch.max(x_train), 100)")),
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

# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"approximate_function": CORRECT["loop"]}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = ["Shapes and order look right."]
