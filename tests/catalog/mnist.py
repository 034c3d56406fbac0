"""Student answers for the MNIST chapter, as the full source of each answer cell.

Keys of CORRECT and WRONG are the exercise ids of book/06_mnist.ipynb. The "tutorial" variants
are the answers to the original tutorial (which printed every 100 batches and used
sklearn's accuracy_score): code written for it must grade full marks here. Every wrong answer's
feedback must name ``MISTAKES[exercise][name]`` (a regular expression) and no other mistake of its
exercise. The bases are ``solutions/mnist.py``'s answers, without the skeleton's comments.
"""
from tests.helpers import run_answer, solution_source, variant

SLUG = "mnist"
CHAPTER = "06_mnist.ipynb"


# --- Exercise 1: MultiLayerPerceptron ----------------------------------------------------------

MLP = solution_source(SLUG, "MultiLayerPerceptron", bare=True)

MLP_CORRECT = {
    "tutorial": MLP,
    "sequential": '''
class MultiLayerPerceptron(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))

    def forward(self, x):
        return self.layers(x)
''',
    "view_and_relu_module": '''
class MultiLayerPerceptron(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 100)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        return self.fc2(self.act(self.fc1(x)))
''',
    # reshape to (-1, 784) and clamp as the ReLU
    "reshape_and_clamp": '''
class MultiLayerPerceptron(nn.Module):
    def __init__(self):
        super(MultiLayerPerceptron, self).__init__()
        self.fc1 = nn.Linear(784, 100)
        self.fc2 = nn.Linear(100, 10)

    def forward(self, x):
        x = x.reshape(-1, 28 * 28)
        return self.fc2(self.fc1(x).clamp(min=0))
''',
}

MLP_WRONG = {
    "softmax_output": variant(MLP, ("        x = self.output(x)\n",
                                    "        x = self.output(x)\n        x = F.softmax(x, dim=1)\n")),
    "log_softmax_output": variant(MLP, ("        x = self.output(x)\n",
                                        "        x = F.log_softmax(self.output(x), dim=1)\n")),
    "no_relu": variant(MLP, ("        x = F.relu(x)\n", "")),
    "relu_on_output": variant(MLP, ("        x = self.output(x)\n",
                                    "        x = F.relu(self.output(x))\n")),
    "sigmoid_hidden": variant(MLP, ("F.relu(x)", "torch.sigmoid(x)")),
    "hidden_128": variant(MLP, ("nn.Linear(28 * 28, 100)", "nn.Linear(28 * 28, 128)"),
                          ("nn.Linear(100, 10)", "nn.Linear(128, 10)")),
    "no_flatten": variant(MLP, ("        x = torch.flatten(x, 1)\n", "")),
    "flatten_batch_too": variant(MLP, ("torch.flatten(x, 1)", "torch.flatten(x)")),
}

# --- Exercise 2: optimizer and loss ------------------------------------------------------------

SETUP = '''
model = MultiLayerPerceptron()
optimizer = optim.Adam(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()
'''

SETUP_CORRECT = {
    "tutorial": SETUP,
    "functional_loss": '''
model = MultiLayerPerceptron()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
loss_fn = F.cross_entropy
''',
    "explicit_defaults": '''
model = MultiLayerPerceptron()
optimizer = optim.Adam(params=model.parameters(), lr=1e-2, betas=(0.9, 0.999), eps=1e-8)
loss_fn = nn.CrossEntropyLoss(reduction="mean")
''',
    "imported_adam_positional_lr": '''
from torch.optim import Adam

model = MultiLayerPerceptron()
optimizer = Adam(model.parameters(), 0.01)
loss_fn = torch.nn.CrossEntropyLoss()
''',
}

SETUP_WRONG = {
    "sgd": variant(SETUP, ("optim.Adam(", "optim.SGD(")),
    "adam_default_lr": variant(SETUP, ("optim.Adam(model.parameters(), lr=1e-2)", "optim.Adam(model.parameters())")),
    "lr_1e-3": variant(SETUP, ("lr=1e-2", "lr=1e-3")),
    "optimizer_on_another_model": variant(SETUP, ("optim.Adam(model.parameters()",
                                                  "optim.Adam(MultiLayerPerceptron().parameters()")),
    "nll_loss": variant(SETUP, ("nn.CrossEntropyLoss()", "nn.NLLLoss()")),
    "mse_loss": variant(SETUP, ("nn.CrossEntropyLoss()", "nn.MSELoss()")),
    "summed_loss": variant(SETUP, ("nn.CrossEntropyLoss()", 'nn.CrossEntropyLoss(reduction="sum")')),
}

# --- Exercise 3: train -------------------------------------------------------------------------

TRAIN = solution_source(SLUG, "train", bare=True)

TRAIN_TUTORIAL = '''
from sklearn.metrics import accuracy_score


def train(model, train_loader, loss_fn, optimizer, epoch=-1):
    """
    Trains a model for one epoch (one pass through the entire training data).
    """
    total_loss = 0
    all_predictions = []
    all_targets = []

    model.train()  # Set model in training mode
    for i, (inputs, targets) in enumerate(train_loader):  # 1. Fetch next batch of data
        optimizer.zero_grad()  # 2. Zero parameter gradients
        outputs = model(inputs)  # 3. Compute model outputs
        loss = loss_fn(outputs, targets)  # 4. Compute loss between outputs and targets
        loss.backward()  # 5. Backpropagation for parameter gradients
        optimizer.step()  # 6. Gradient descent step

        # Track some values to compute statistics
        total_loss += loss.item()
        preds = torch.argmax(outputs, dim=-1)
        all_predictions.extend(preds.tolist())
        all_targets.extend(targets.tolist())

        # Print some statistics every 100 batches
        if i % 100 == 0:
            running_loss = total_loss / (i + 1)
            print(f"Epoch {epoch + 1}, batch {i + 1}: loss = {running_loss:.2f}")

    acc = accuracy_score(all_targets, all_predictions)

    print(f"Epoch {epoch + 1} done. Average train loss = {total_loss / len(train_loader):.2f}, average train accuracy = {acc * 100:.3f}%")
'''

TRAIN_CORRECT = {
    "reference": TRAIN,
    "tutorial": TRAIN_TUTORIAL,
    "model_zero_grad_and_tensor_accuracy": variant(
        TRAIN, ("optimizer.zero_grad()", "model.zero_grad()"),
        ("acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)",
         "acc = (torch.tensor(all_predictions) == torch.tensor(all_targets)).float().mean().item()")),
    # predictions gathered as NumPy arrays, the accuracy from np.mean
    "numpy_accuracy": '''
def train(model, train_loader, loss_fn, optimizer, epoch=-1):
    model.train()
    losses, hits = [], []
    for inputs, targets in train_loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        hits.append((outputs.argmax(dim=1) == targets).cpu().numpy())
    acc = np.mean(np.concatenate(hits))
    print(f"Epoch {epoch + 1} done. Average train loss = {np.mean(losses):.2f}, "
          f"average train accuracy = {acc * 100:.3f}%")
''',
}

TRAIN_WRONG = {
    "no_zero_grad": variant(TRAIN, ("        optimizer.zero_grad()\n", "")),
    "softmax_before_loss": variant(TRAIN, ("loss = loss_fn(outputs, targets)",
                                           "loss = loss_fn(F.softmax(outputs, dim=1), targets)")),
    "backward_inside_no_grad": variant(TRAIN, (
        "        outputs = model(inputs)\n        loss = loss_fn(outputs, targets)\n",
        "        with torch.no_grad():\n            outputs = model(inputs)\n"
        "            loss = loss_fn(outputs, targets)\n")),
    "accuracy_last_batch_only": variant(TRAIN, (
        "acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)",
        "acc = (preds == targets).float().mean().item()")),
    "accuracy_as_count": variant(TRAIN, (
        "acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)",
        "acc = sum(p == t for p, t in zip(all_predictions, all_targets))")),
    "eval_mode": variant(TRAIN, ("    model.train()\n", "    model.eval()\n")),
    "step_before_backward": variant(TRAIN, (
        "        loss.backward()\n        optimizer.step()\n",
        "        optimizer.step()\n        loss.backward()\n")),
    "zero_grad_after_backward": variant(TRAIN, (
        "        optimizer.zero_grad()\n", ""), (
        "        loss.backward()\n", "        loss.backward()\n        optimizer.zero_grad()\n")),
    "one_step_per_epoch": variant(TRAIN, (
        "        optimizer.step()\n", ""), (
        "    acc = sum(", "    optimizer.step()\n    acc = sum(")),
}

# --- Exercise 4: test --------------------------------------------------------------------------

TEST = solution_source(SLUG, "test", bare=True)

TEST_TUTORIAL = '''
from sklearn.metrics import accuracy_score


def test(model, test_loader, loss_fn, epoch=-1):
    """
    Tests a model for one epoch of test data.
    """
    total_loss = 0
    all_predictions = []
    all_targets = []

    model.eval()  # Set model in evaluation mode
    for i, (inputs, targets) in enumerate(test_loader):  # 1. Fetch next batch of data
        with torch.no_grad():
            outputs = model(inputs)  # 3. Compute model outputs
            loss = loss_fn(outputs, targets)  # 4. Compute loss between outputs and targets

            # Track some values to compute statistics
            total_loss += loss.item()
            preds = torch.argmax(outputs, dim=-1)
            all_predictions.extend(preds.tolist())
            all_targets.extend(targets.tolist())

    acc = accuracy_score(all_targets, all_predictions)

    print(f"Epoch {epoch + 1} done. Average test loss = {total_loss / len(test_loader):.2f}, average test accuracy = {acc * 100:.3f}%")
'''

TEST_CORRECT = {
    "reference": TEST,
    "tutorial": TEST_TUTORIAL,
    "inference_mode_and_counter": '''
def test(model, test_loader, loss_fn, epoch=-1):
    total_loss, correct, seen = 0.0, 0, 0
    model.eval()
    with torch.inference_mode():
        for inputs, targets in test_loader:
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item()
            correct += (outputs.argmax(dim=1) == targets).sum().item()
            seen += len(targets)
    acc = correct / seen
    print(f"Epoch {epoch + 1} done. Average test loss = {total_loss / len(test_loader):.2f}, "
          f"average test accuracy = {acc * 100:.3f}%")
''',
    # predictions in a Python list, torch.cat at the end
    "lists_then_cat": '''
def test(model, test_loader, loss_fn, epoch=-1):
    model.eval()
    predictions, targets_seen, losses = [], [], []
    for inputs, targets in test_loader:
        with torch.no_grad():
            outputs = model(inputs)
            losses.append(loss_fn(outputs, targets).item())
        predictions.append(outputs.argmax(dim=-1))
        targets_seen.append(targets)
    acc = (torch.cat(predictions) == torch.cat(targets_seen)).float().mean().item()
    print(f"Epoch {epoch + 1} done. Average test loss = {sum(losses) / len(losses):.2f}, "
          f"average test accuracy = {acc * 100:.3f}%")
''',
}

TEST_WRONG = {
    "no_eval": variant(TEST, ("    model.eval()\n", "")),
    "train_mode": variant(TEST, ("    model.eval()\n", "    model.train()\n")),
    "no_no_grad": variant(TEST, (
        "        with torch.no_grad():\n            outputs = model(inputs)\n            loss = loss_fn(outputs, targets)\n",
        "        outputs = model(inputs)\n        loss = loss_fn(outputs, targets)\n")),
    "softmax_before_loss": variant(TEST, ("loss = loss_fn(outputs, targets)",
                                          "loss = loss_fn(F.softmax(outputs, dim=1), targets)")),
    "backward_inside_no_grad": variant(TEST, (
        "            loss = loss_fn(outputs, targets)\n",
        "            loss = loss_fn(outputs, targets)\n            loss.backward()\n")),
    "accuracy_last_batch_only": variant(TEST, (
        "acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)",
        "acc = (preds == targets).float().mean().item()")),
    "mean_of_batch_accuracies": '''
def test(model, test_loader, loss_fn, epoch=-1):
    total_loss = 0
    batch_accuracies = []
    model.eval()
    with torch.no_grad():
        for inputs, targets in test_loader:
            outputs = model(inputs)
            total_loss += loss_fn(outputs, targets).item()
            batch_accuracies.append((outputs.argmax(dim=1) == targets).float().mean().item())
    acc = sum(batch_accuracies) / len(batch_accuracies)
    print(f"Epoch {epoch + 1} done. Average test loss = {total_loss / len(test_loader):.2f}, "
          f"average test accuracy = {acc * 100:.3f}%")
''',
}

# --- Exercise 5: fit ---------------------------------------------------------------------------

FIT = solution_source(SLUG, "fit", bare=True)

FIT_CORRECT = {
    "reference": FIT,
    "while_loop": '''
def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):
    epoch = 0
    while epoch < epochs:
        train(model, train_loader, loss_fn, optimizer, epoch)
        test(model, test_loader, loss_fn, epoch)
        epoch += 1
''',
    "keywords": '''
def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):
    for e in range(epochs):
        train(model=model, train_loader=train_loader, loss_fn=loss_fn, optimizer=optimizer, epoch=e)
        test(model=model, test_loader=test_loader, loss_fn=loss_fn, epoch=e)
''',
    "tqdm_over_epochs": '''
def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):
    for epoch in tqdm(range(epochs), desc="epochs"):
        train(model, train_loader, loss_fn, optimizer, epoch=epoch)
        test(model, test_loader, loss_fn, epoch=epoch)
''',
}

FIT_WRONG = {
    "one_epoch_short": variant(FIT, ("range(epochs)", "range(1, epochs)")),
    "epoch_counted_from_1": variant(FIT, ("for epoch in range(epochs):", "for epoch in range(1, epochs + 1):")),
    "test_only_at_the_end": variant(FIT, (
        "        test(model, test_loader, loss_fn, epoch=epoch)\n",
        "    test(model, test_loader, loss_fn, epoch=epoch)\n")),
    "loaders_swapped": variant(FIT, ("train(model, train_loader,", "train(model, test_loader,"),
                               ("test(model, test_loader,", "test(model, train_loader,")),
    "ignores_epochs": variant(FIT, ("range(epochs)", "range(5)")),
    "default_10_epochs": variant(FIT, ("epochs=5", "epochs=10")),
    "epoch_not_passed": variant(FIT, ("optimizer, epoch=epoch)", "optimizer)"),
                                ("loss_fn, epoch=epoch)", "loss_fn)")),
}

# --- Exercise 6: predict -----------------------------------------------------------------------

PREDICT = solution_source(SLUG, "predict", bare=True)

PREDICT_CORRECT = {
    "reference": PREDICT,
    "argmax_and_gather": '''
def predict(model, images):
    model.eval()
    with torch.inference_mode():
        logits = model(images)
        predictions = torch.argmax(logits, dim=1)
        probabilities = torch.softmax(logits, dim=-1)
        confidences = probabilities.gather(1, predictions[:, None]).squeeze(1)
    return predictions, confidences
''',
    "exp_of_log_softmax": '''
def predict(model, images):
    model.eval()
    with torch.no_grad():
        log_p = F.log_softmax(model(images), dim=1)
    top, predictions = torch.max(log_p, 1)
    return predictions, top.exp()
''',
    # the softmax written out, with the max shift
    "softmax_by_hand": '''
def predict(model, images):
    model.eval()
    with torch.no_grad():
        logits = model(images)
    shifted = logits - logits.max(dim=1, keepdim=True).values
    probabilities = shifted.exp() / shifted.exp().sum(dim=1, keepdim=True)
    confidences = probabilities.max(dim=1).values
    predictions = probabilities.argmax(dim=1)
    return predictions, confidences
''',
}

PREDICT_WRONG = {
    "no_softmax": variant(PREDICT, ("probabilities = F.softmax(logits, dim=1)", "probabilities = logits")),
    "softmax_over_batch": variant(PREDICT, ("F.softmax(logits, dim=1)", "F.softmax(logits, dim=0)")),
    "max_over_batch": variant(PREDICT, ("probabilities.max(dim=1)", "probabilities.max(dim=0)")),
    "log_softmax_confidence": variant(PREDICT, ("F.softmax(logits, dim=1)", "F.log_softmax(logits, dim=1)")),
    "no_eval": variant(PREDICT, ("    model.eval()\n", "")),
    "no_no_grad": variant(PREDICT, ("    with torch.no_grad():\n        logits = model(images)\n",
                                    "    logits = model(images)\n")),
    "outputs_swapped": variant(PREDICT, ("return predictions, confidences", "return confidences, predictions")),
}

# --- Exercise 7: confusion_matrix --------------------------------------------------------------

CONFUSION = solution_source(SLUG, "confusion_matrix", bare=True)

CONFUSION_CORRECT = {
    "reference": CONFUSION,
    "loop": '''
def confusion_matrix(predictions, targets, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(targets.tolist(), predictions.tolist()):
        matrix[t, p] += 1
    return matrix
''',
    "index_put_accumulate": '''
def confusion_matrix(predictions, targets, num_classes=10):
    predictions, targets = predictions.cpu(), targets.cpu()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    matrix.index_put_((targets, predictions), torch.ones_like(targets), accumulate=True)
    return matrix
''',
    "sklearn": '''
import sklearn.metrics


def confusion_matrix(predictions, targets, num_classes=10):
    counts = sklearn.metrics.confusion_matrix(targets.cpu().numpy(), predictions.cpu().numpy(),
                                              labels=list(range(num_classes)))
    return torch.from_numpy(counts)
''',
}

CONFUSION_WRONG = {
    "transposed": variant(CONFUSION, ("pairs = targets * num_classes + predictions",
                                      "pairs = predictions * num_classes + targets")),
    "fancy_index_without_accumulate": '''
def confusion_matrix(predictions, targets, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    matrix[targets, predictions] += 1
    return matrix
''',
    "normalised_rows": variant(CONFUSION, ("    return matrix\n",
                                           "    return matrix / matrix.sum(dim=1, keepdim=True).clamp(min=1)\n")),
    "hardcoded_10_classes": variant(CONFUSION, ("num_classes * num_classes)", "100)"),
                                    ("counts.reshape(num_classes, num_classes)", "counts.reshape(10, 10)[:num_classes, :num_classes]")),
    "bincount_without_minlength": '''
def confusion_matrix(predictions, targets, num_classes=10):
    pairs = targets.cpu() * num_classes + predictions.cpu()
    return torch.bincount(pairs).reshape(num_classes, -1)
''',
    "only_correct_counted": '''
def confusion_matrix(predictions, targets, num_classes=10):
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    for t, p in zip(targets.tolist(), predictions.tolist()):
        if t == p:
            matrix[t, p] += 1
    return matrix
''',
}

CORRECT = {
    "MultiLayerPerceptron": MLP_CORRECT,
    "optimizer_and_loss": SETUP_CORRECT,
    "train": TRAIN_CORRECT,
    "test": TEST_CORRECT,
    "fit": FIT_CORRECT,
    "predict": PREDICT_CORRECT,
    "confusion_matrix": CONFUSION_CORRECT,
}
WRONG = {
    "MultiLayerPerceptron": MLP_WRONG,
    "optimizer_and_loss": SETUP_WRONG,
    "train": TRAIN_WRONG,
    "test": TEST_WRONG,
    "fit": FIT_WRONG,
    "predict": PREDICT_WRONG,
    "confusion_matrix": CONFUSION_WRONG,
}

# The hidden checks of each exercise (check ids of the master) and what they are called with.
CHECKS = {
    "MultiLayerPerceptron": ["mlp_structure", "mlp_forward"],
    "optimizer_and_loss": ["optimizer_and_loss_step"],
    "train": ["train_steps", "train_statistics"],
    "test": ["test_evaluation", "test_statistics"],
    "fit": ["fit_epochs"],
    "predict": ["predict_values"],
    "confusion_matrix": ["confusion_matrix_counts"],
}
CHECKED_OBJECTS = {
    "MultiLayerPerceptron": ["MultiLayerPerceptron"],
    "optimizer_and_loss": ["model", "optimizer", "loss_fn"],
    "train": ["train"],
    "test": ["test"],
    "fit": ["fit"],
    "predict": ["predict"],
    "confusion_matrix": ["confusion_matrix"],
}

# The mistake each wrong answer makes, as a phrase its feedback must contain (and no other's).
FLATTEN = r"the input reshaped to \(batch"      # no flatten, or the batch flattened too
ORDER = r"in the order zero_grad\(\), outputs"    # step or zero_grad in the wrong place
EVAL = r"evaluation mode \(model\.eval\(\)\)"     # no eval(), or train() instead
EPOCH_INDEX = r"pass the epoch index"
MISTAKES = {
    "MultiLayerPerceptron": {
        "softmax_output": r"looks like softmax",
        "log_softmax_output": r"looks like log_softmax",
        "no_relu": r"ReLU between the two layers is missing",
        "relu_on_output": r"ReLU after the output layer",
        "sigmoid_hidden": r"uses a sigmoid",
        "hidden_128": r"784 -> 100 and 100 -> 10",
        "no_flatten": FLATTEN,
        "flatten_batch_too": FLATTEN,
    },
    "optimizer_and_loss": {
        "sgd": r"\(SGD with",
        "adam_default_lr": r"\(Adam with lr=0\.001\)",
        "lr_1e-3": r"\(Adam with lr=0\.001\)",
        "optimizer_on_another_model": r"none moved",
        "nll_loss": r"looks like NLLLoss",
        "mse_loss": r"should be the cross-entropy, nn\.CrossEntropyLoss\(\)",
        "summed_loss": r"but it sums",
    },
    "train": {
        "no_zero_grad": r"zeroed at the start of every iteration",
        "softmax_before_loss": r"went through softmax",
        "backward_inside_no_grad": r"outside torch\.no_grad\(\)",
        "accuracy_last_batch_only": r"last batch only",
        "accuracy_as_count": r"a fraction between 0 and 1",
        "eval_mode": r"training mode \(model\.train\(\)\)",
        "step_before_backward": ORDER,
        "zero_grad_after_backward": ORDER,
        "one_step_per_epoch": r"one step for the whole epoch",
    },
    "test": {
        "no_eval": EVAL,
        "train_mode": EVAL,
        "no_no_grad": r"inside `with torch\.no_grad\(\):`",
        "softmax_before_loss": r"went through softmax",
        "backward_inside_no_grad": r"never calls backward",
        "accuracy_last_batch_only": r"last batch only",
        "mean_of_batch_accuracies": r"mean of the per-batch accuracies",
    },
    "fit": {
        "one_epoch_short": r"3 passes over train_loader\); it made 2",
        "epoch_counted_from_1": EPOCH_INDEX,
        "test_only_at_the_end": r"test after every epoch",
        "loaders_swapped": r"the loaders were used in the order",
        "ignores_epochs": r"3 passes over train_loader\); it made 5",
        "default_10_epochs": r"should default to 5",
        "epoch_not_passed": EPOCH_INDEX,
    },
    "predict": {
        "no_softmax": r"not the raw outputs",
        "softmax_over_batch": r"never over the batch",
        "max_over_batch": r"One class per image",
        "log_softmax_confidence": r"confidences is wrong",
        "no_eval": r"evaluation mode first",
        "no_no_grad": r"inside `with torch\.no_grad\(\):`",
        "outputs_swapped": r"in this order",
    },
    "confusion_matrix": {
        "transposed": r"is transposed",
        "fancy_index_without_accumulate": r"once per distinct pair",
        "normalised_rows": r"not fractions of each row",
        "hardcoded_10_classes": r"use the num_classes argument",
        "bincount_without_minlength": r"minlength",
        "only_correct_counted": r"only the correct predictions",
    },
}


def objects(exercise: str, code: str) -> list:
    """The objects the hidden block hands to the checks, from an answer cell run as the notebook
    runs it (its imports, and the reference's answers to the earlier exercises)."""
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    import torch.optim as optim
    from tqdm.auto import tqdm

    from autograder.hidden import reference_module
    with torch.random.fork_rng(devices=[]):
        reference = reference_module(SLUG)
        namespace = run_answer(code, {"nn": nn, "F": F, "optim": optim, "tqdm": tqdm, "np": np,
                                      "MultiLayerPerceptron": reference.MultiLayerPerceptron,
                                      "train": reference.train, "test": reference.test})
    return [namespace[name] for name in CHECKED_OBJECTS[exercise]]


# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {exercise: variants["tutorial" if "tutorial" in variants else "reference"]
          for exercise, variants in CORRECT.items()}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = [
    "The model has the right layers and output shape.",
    "forward computes the logits: hidden layer, ReLU, output layer.",
    "Adam with learning rate 0.01 on the model's parameters, and the cross-entropy loss.",
    "train() takes the six steps on every batch.",
    "train() reports the average loss and the accuracy over the whole epoch.",
    "test() evaluates in evaluation mode, without gradients.",
    "test() reports the average loss and the accuracy over all test images.",
    "fit() trains and tests once per epoch.",
    "predict() returns the classes and their probabilities.",
    "confusion_matrix() counts every (target, prediction) pair.",
]
