"""Student answers for the MNIST chapter, as the full source of each answer cell.

Keys of CORRECT and WRONG are the exercise ids of book/06_mnist.ipynb. The "tutorial" variants
are the answers to the original tutorial (which printed every 100 batches and used
sklearn's accuracy_score): code written for it must grade full marks here.
"""


def variant(source: str, *replacements: tuple[str, str]) -> str:
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


# --- Exercise 1: MultiLayerPerceptron ----------------------------------------------------------

MLP = '''
class MultiLayerPerceptron(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(28 * 28, 100)
        self.output = nn.Linear(100, 10)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.hidden(x)
        x = F.relu(x)
        x = self.output(x)
        return x
'''

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

TRAIN = '''
def train(model, train_loader, loss_fn, optimizer, epoch=-1):
    device = next(model.parameters()).device
    total_loss = 0
    all_predictions = []
    all_targets = []

    model.train()
    progress = tqdm(train_loader, desc=f"Epoch {epoch + 1} train", leave=False)
    for i, (inputs, targets) in enumerate(progress):
        inputs, targets = inputs.to(device), targets.to(device)
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()

        total_loss += loss.item()
        preds = torch.argmax(outputs, dim=-1)
        all_predictions.extend(preds.tolist())
        all_targets.extend(targets.tolist())
        if i % 50 == 0:
            progress.set_postfix(loss=f"{total_loss / (i + 1):.3f}", refresh=False)

    acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)
    print(f"Epoch {epoch + 1} done. Average train loss = {total_loss / len(train_loader):.2f}, "
          f"average train accuracy = {acc * 100:.3f}%")
'''

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

TEST = '''
def test(model, test_loader, loss_fn, epoch=-1):
    device = next(model.parameters()).device
    total_loss = 0
    all_predictions = []
    all_targets = []

    model.eval()
    for inputs, targets in tqdm(test_loader, desc=f"Epoch {epoch + 1} test", leave=False):
        inputs, targets = inputs.to(device), targets.to(device)
        with torch.no_grad():
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)

        total_loss += loss.item()
        preds = torch.argmax(outputs, dim=-1)
        all_predictions.extend(preds.tolist())
        all_targets.extend(targets.tolist())

    acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)
    print(f"Epoch {epoch + 1} done. Average test loss = {total_loss / len(test_loader):.2f}, "
          f"average test accuracy = {acc * 100:.3f}%")
'''

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

FIT = '''
def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):
    for epoch in range(epochs):
        train(model, train_loader, loss_fn, optimizer, epoch=epoch)
        test(model, test_loader, loss_fn, epoch=epoch)
'''

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

PREDICT = '''
def predict(model, images):
    model.eval()
    with torch.no_grad():
        logits = model(images)
    probabilities = F.softmax(logits, dim=1)
    confidences, predictions = probabilities.max(dim=1)
    return predictions, confidences
'''

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

CONFUSION = '''
def confusion_matrix(predictions, targets, num_classes=10):
    predictions, targets = predictions.cpu(), targets.cpu()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    pairs = targets * num_classes + predictions
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    matrix += counts.reshape(num_classes, num_classes)
    return matrix
'''

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
