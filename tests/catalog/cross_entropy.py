"""Student answers for the cross-entropy chapter, as the full source of the answer cell.

``CORRECT["cross_entropy_loss"][variant]`` must get full marks; ``WRONG[...][variant]`` must lose
points with feedback that names ``MISTAKES[...][variant]`` (a regular expression) and no other
mistake, and ``LOSES[variant]`` names the checks it must fail (the others it must pass, so that an
answer loses exactly what it gets wrong). The code runs with torch, nn and F in its namespace.
Variants of the reference build on ``solutions/cross_entropy.py``.
"""
from tests.helpers import run_answer, solution_source, variant


SLUG = "cross_entropy"
CHAPTER = "03_cross_entropy.ipynb"
# The vectorised check reads the student's code cells (as the grader reads them from the notebook).
NEEDS_SOURCE = True

REFERENCE = solution_source(SLUG, "cross_entropy_loss")


def ref_variant(*replacements: tuple[str, str]) -> str:
    return variant(REFERENCE, *replacements)


CORRECT = {"cross_entropy_loss": {
    "max_shift": REFERENCE,
    "logsumexp_and_gather": '''
def cross_entropy_loss(x, labels):
    x_of_labels = x.gather(1, labels.unsqueeze(1)).squeeze(1)
    return (torch.logsumexp(x, dim=1) - x_of_labels).mean()
''',
    "log_softmax_rows": '''
def cross_entropy_loss(x, labels):
    log_probs = x - x.max(1, keepdim=True)[0]
    log_probs = log_probs - log_probs.exp().sum(1, keepdim=True).log()
    picked = log_probs[range(len(labels)), labels]
    return -picked.sum() / len(labels)
''',
    "one_hot_mask": '''
def cross_entropy_loss(x, labels):
    one_hot = F.one_hot(labels, num_classes=x.shape[1]).to(x.dtype)
    m, _ = torch.max(x, dim=1)
    lse = m + torch.log(torch.sum(torch.exp(x - m[:, None]), dim=1))
    return torch.mean(lse - (one_hot * x).sum(dim=1))
''',
}}

WRONG = {"cross_entropy_loss": {
    # The tutorial's own answer: a loop for the true-class logits and the direct formula.
    "tutorial_loop_direct_formula": '''
def cross_entropy_loss(x, labels):
    x_of_labels = torch.zeros(len(labels))
    for i, label in enumerate(labels):
        x_of_labels[i] = x[i, label]
    losses = -x_of_labels + torch.log(torch.sum(torch.exp(x), axis=1))
    avg_loss = torch.mean(losses)
    return avg_loss
''',
    "direct_formula_unstable": ref_variant(
        ("    m = x.max(dim=1, keepdim=True).values  # (N, 1)\n", ""),
        ("m.squeeze(1) + torch.log(torch.exp(x - m).sum(dim=1))", "torch.log(torch.exp(x).sum(dim=1))")),
    "shift_by_global_max": ref_variant(("m = x.max(dim=1, keepdim=True).values", "m = x.max().reshape(1, 1)"),
                                   ("m.squeeze(1) +", "m.reshape(()) +")),
    "log_of_softmax_underflows": '''
def cross_entropy_loss(x, labels):
    probabilities = torch.softmax(x, dim=1)
    return -torch.log(probabilities[torch.arange(len(labels)), labels]).mean()
''',
    "shift_not_added_back": ref_variant(("m.squeeze(1) + torch.log", "torch.log")),
    "sum_instead_of_mean": ref_variant(("avg_loss = losses.mean()", "avg_loss = losses.sum()")),
    "indexes_columns_only": ref_variant(("x[torch.arange(x.shape[0], device=x.device), labels]", "x[:, labels]")),
    "returns_python_float": ref_variant(("avg_loss = losses.mean()", "avg_loss = losses.mean().item()")),
    "sign_flipped": ref_variant(("losses = log_sum_exp - x_of_labels", "losses = x_of_labels - log_sum_exp")),
    "max_without_keepdim": ref_variant(("m = x.max(dim=1, keepdim=True).values", "m = x.max(dim=1).values"),
                                   ("m.squeeze(1) +", "m +")),
    "shifts_input_in_place": '''
def cross_entropy_loss(x, labels):
    m = x.max(dim=1, keepdim=True).values
    x -= m
    x_of_labels = x[torch.arange(len(labels)), labels]
    return (torch.log(torch.exp(x).sum(dim=1)) - x_of_labels).mean()
''',
    "casts_to_float32": ref_variant(("    x_of_labels = x[", "    x = x.float()\n    x_of_labels = x[")),
    "calls_the_builtin": '''
def cross_entropy_loss(x, labels):
    return nn.CrossEntropyLoss()(x, labels)
''',
}}

VALUES, STABLE, VECTORISED = ("cross_entropy_loss_values", "cross_entropy_loss_stable",
                              "cross_entropy_loss_vectorised")
# The checks each wrong answer must fail (it must pass the others).
LOSES = {
    "tutorial_loop_direct_formula": {STABLE, VECTORISED},
    "direct_formula_unstable": {STABLE},
    "shift_by_global_max": {STABLE},
    "log_of_softmax_underflows": {STABLE},
    "shift_not_added_back": {VALUES, STABLE},
    "sum_instead_of_mean": {VALUES, STABLE},
    "indexes_columns_only": {VALUES, STABLE, VECTORISED},   # x[:, labels] is batch x batch
    "returns_python_float": {VALUES, STABLE},
    "sign_flipped": {VALUES, STABLE},
    "max_without_keepdim": {VALUES, STABLE, VECTORISED},
    "shifts_input_in_place": {VALUES, STABLE},
    "casts_to_float32": {VALUES, STABLE},
    "calls_the_builtin": {VECTORISED},
}
CHECKS = {"cross_entropy_loss": {VALUES: 2.0, STABLE: 1.0, VECTORISED: 1.0}}

# The mistake each wrong answer makes, as a phrase its feedback must contain (and no other's).
UNSTABLE = r"row's own maximum"   # the same mistake: exp of large logits overflows
MISTAKES = {"cross_entropy_loss": {
    "tutorial_loop_direct_formula": UNSTABLE,    # and the loop, named by the vectorised check
    "direct_formula_unstable": UNSTABLE,
    "shift_by_global_max": UNSTABLE,
    "log_of_softmax_underflows": UNSTABLE,
    "shift_not_added_back": r"misses the row maximum m",
    "sum_instead_of_mean": r"N times the mean",
    "indexes_columns_only": r"a whole column per label",
    "returns_python_float": r"should return a tensor",
    "sign_flipped": r"wrong sign",
    "max_without_keepdim": r"do not broadcast.*without keepdim=True",
    "shifts_input_in_place": r"leave its input x unchanged",
    "casts_to_float32": r"torch\.float64 loss",
    "calls_the_builtin": r"compute the loss itself",
}}


def objects(exercise: str, code: str) -> list:
    """The objects the hidden block hands to the checks, from an answer cell run in the
    notebook's namespace."""
    import torch.nn as nn
    import torch.nn.functional as F
    return [run_answer(code, {"nn": nn, "F": F})[exercise]]

# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"cross_entropy_loss": CORRECT["cross_entropy_loss"]["max_shift"]}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = [
    "cross_entropy_loss matches nn.CrossEntropyLoss.",
    "cross_entropy_loss is stable for logits of size 1000.",
    "no loop.",
]

# Answers that fake the vectorised check from the student's kernel (each must lose exactly that
# check under the grader; graded by the code before the hardening each scored 4/4): the check
# cell handed over a counting mode that the answer's code switched off.
ATTACKS = {"cross_entropy_loss": {
    "builtin_with_torch_function_disabled": '''
def cross_entropy_loss(x, labels):
    with torch._C.DisableTorchFunction():
        return F.cross_entropy(x, labels)
''',
    "loop_with_torch_function_disabled": '''
def cross_entropy_loss(x, labels):
    with torch._C.DisableTorchFunction():
        m = x.max(dim=1, keepdim=True).values
        log_sum_exp = m.squeeze(1) + torch.log(torch.exp(x - m).sum(dim=1))
        x_of_labels = torch.stack([x[i, labels[i]] for i in range(len(labels))])
        return (log_sum_exp - x_of_labels).mean()
''',
}}
