"""Student answers for the spiral-split chapter, as the full source of each answer cell.

``CORRECT[exercise][name]`` must get full marks, ``WRONG[exercise][name]`` must lose points with
feedback that names ``MISTAKES[exercise][name]`` (a regular expression) and no other mistake of its
exercise. Variants build on the original tutorial's code and on ``solutions/spiral_split.py``.
"""
from tests.helpers import run_answer, solution_source, variant

SLUG = "spiral_split"
CHAPTER = "04_spiral_split.ipynb"

# --- shuffle_and_split_data -------------------------------------------------------------------

SPLIT_TUTORIAL = '''
def shuffle_and_split_data(X, y, seed):
    torch.manual_seed(seed)
    # Number of samples
    N = X.shape[0]
    # Shuffle data
    shuffled_indices = torch.randperm(N)   # Get indices to shuffle data, could use torch.randperm
    X = X[shuffled_indices]
    y = y[shuffled_indices]

    # Split data into train/test
    test_size = int(0.2 * N)    # Assign test datset size using 20% of samples
    X_test = X[:test_size]
    y_test = y[:test_size]
    X_train = X[test_size:]
    y_train = y[test_size:]

    return X_test, y_test, X_train, y_train
'''


def split_variant(*replacements: tuple[str, str]) -> str:
    return variant(SPLIT_TUTORIAL, *replacements)


SPLIT_CORRECT = {
    "tutorial": SPLIT_TUTORIAL,
    "reference": solution_source(SLUG, "shuffle_and_split_data"),
    "private_generator_and_index_split": '''
def shuffle_and_split_data(X, y, seed):
    """A private generator seeded like torch.manual_seed draws the same permutation."""
    g = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(X), generator=g)
    n_test = len(X) // 5
    test_idx, train_idx = order[:n_test], order[n_test:]
    return X[test_idx], y[test_idx], X[train_idx], y[train_idx]
''',
    "index_select_on_device": '''
def shuffle_and_split_data(X, y, seed):
    torch.manual_seed(seed)
    perm = torch.randperm(X.size(0)).to(X.device)
    test_size = int(X.size(0) * 0.2)
    X_test, X_train = torch.index_select(X, 0, perm[:test_size]), torch.index_select(X, 0, perm[test_size:])
    y_test, y_train = torch.index_select(y, 0, perm[:test_size]), torch.index_select(y, 0, perm[test_size:])
    return X_test, y_test, X_train, y_train
''',
}

SPLIT_CORRECT.update({
    # Another generator, seeded with the seed: a reproducible shuffle is all the exercise asks
    # (before, it lost the seed point for not being torch.randperm's permutation)
    "numpy_permutation": '''
def shuffle_and_split_data(X, y, seed):
    rng = np.random.default_rng(seed)
    order = torch.as_tensor(rng.permutation(X.shape[0]))
    test_size = int(0.2 * X.shape[0])
    return X[order[:test_size]], y[order[:test_size]], X[order[test_size:]], y[order[test_size:]]
''',
    # Python's random module on a list of indices
    "python_random_shuffle": '''
def shuffle_and_split_data(X, y, seed):
    import random
    indices = list(range(len(X)))
    random.Random(seed).shuffle(indices)
    indices = torch.tensor(indices, dtype=torch.long)
    test_size = int(0.2 * len(indices))
    X, y = X[indices], y[indices]
    return X[:test_size], y[:test_size], X[test_size:], y[test_size:]
''',
})

SPLIT_WRONG = {
    "no_shuffle": split_variant(("shuffled_indices = torch.randperm(N)",
                                 "shuffled_indices = torch.arange(N)")),
    "train_test_sizes_swapped": split_variant(("test_size = int(0.2 * N)", "test_size = int(0.8 * N)")),
    "seed_ignored_global_rng": split_variant(("    torch.manual_seed(seed)\n", "")),
    "x_and_y_different_permutations": split_variant(("y = y[shuffled_indices]",
                                                     "y = y[torch.randperm(N)]")),
    "wrong_return_order": split_variant(("return X_test, y_test, X_train, y_train",
                                         "return X_train, y_train, X_test, y_test")),
    "off_by_one_test_size": split_variant(("test_size = int(0.2 * N)",
                                           "test_size = int(0.2 * N) + 1")),
    "train_set_starts_one_late": split_variant(("X_train = X[test_size:]", "X_train = X[test_size + 1:]"),
                                               ("y_train = y[test_size:]", "y_train = y[test_size + 1:]")),
    "rounding_up": split_variant(("test_size = int(0.2 * N)", "test_size = math.ceil(0.2 * N)")),
    "seeded_after_shuffle": '''
def shuffle_and_split_data(X, y, seed):
    N = X.shape[0]
    shuffled_indices = torch.randperm(N)
    torch.manual_seed(seed)
    X, y = X[shuffled_indices], y[shuffled_indices]
    test_size = int(0.2 * N)
    return X[:test_size], y[:test_size], X[test_size:], y[test_size:]
''',
    "shuffles_inputs_in_place": '''
def shuffle_and_split_data(X, y, seed):
    torch.manual_seed(seed)
    N = X.shape[0]
    shuffled_indices = torch.randperm(N)
    X[:] = X[shuffled_indices]
    y[:] = y[shuffled_indices]
    test_size = int(0.2 * N)
    return X[:test_size], y[:test_size], X[test_size:], y[test_size:]
''',
}

# --- train_test_classification ----------------------------------------------------------------

LOOP_TUTORIAL = '''
def train_test_classification(net, criterion, optimizer, train_loader,
                              test_loader, num_epochs=1, verbose=True,
                              training_plot=False, device='cpu'):
    net.train()
    training_losses = []
    for epoch in tqdm(range(num_epochs)):  # Loop over the dataset multiple times
        running_loss = 0.0
        for i, data in enumerate(train_loader, 0):
            # Get the inputs; data is a list of [inputs, labels]
            inputs, labels = data
            inputs = inputs.to(device).float()
            labels = labels.to(device).long()

            # Zero the parameter gradients
            optimizer.zero_grad()

            # forward + backward + optimize
            outputs = net(inputs)

            loss = criterion(outputs, labels)
            loss.backward()
            optimizer.step()

            # Print statistics
            if verbose:
                training_losses += [loss.item()]

    net.eval()

    def test(data_loader):
        correct = 0
        total = 0
        for data in data_loader:
            inputs, labels = data
            inputs = inputs.to(device).float()
            labels = labels.to(device).long()

            outputs = net(inputs)
            _, predicted = torch.max(outputs, 1)
            total += labels.size(0)
            correct += (predicted == labels).sum().item()

        acc = 100 * correct / total
        return total, acc

    train_total, train_acc = test(train_loader)
    test_total, test_acc = test(test_loader)

    if verbose:
        print(f"Accuracy on the {train_total} training samples: {train_acc:0.2f}")
        print(f"Accuracy on the {test_total} testing samples: {test_acc:0.2f}")

    if training_plot:
        plt.plot(training_losses)
        plt.xlabel('Batch')
        plt.ylabel('Training loss')
        plt.show()

    return train_acc, test_acc
'''


def loop_variant(*replacements: tuple[str, str]) -> str:
    return variant(LOOP_TUTORIAL, *replacements)


LOOP_CORRECT = {
    "tutorial": LOOP_TUTORIAL,
    "reference": solution_source(SLUG, "train_test_classification"),
    # predictions gathered as NumPy arrays, the accuracy from np.mean over every sample
    "numpy_accuracy": '''
def train_test_classification(net, criterion, optimizer, train_loader, test_loader,
                              num_epochs=1, verbose=True, training_plot=False, device="cpu"):
    net.train()
    for epoch in range(num_epochs):
        for X_batch, y_batch in train_loader:
            X_batch, y_batch = X_batch.to(device).float(), y_batch.to(device).long()
            optimizer.zero_grad()
            loss = criterion(net(X_batch), y_batch)
            loss.backward()
            optimizer.step()
    net.eval()
    accuracies = []
    for loader in [train_loader, test_loader]:
        predicted, actual = [], []
        with torch.no_grad():
            for X_batch, y_batch in loader:
                predicted.append(net(X_batch.to(device).float()).argmax(dim=1).cpu().numpy())
                actual.append(y_batch.cpu().numpy())
        accuracies.append(float(np.mean(np.concatenate(predicted) == np.concatenate(actual))) * 100)
    if verbose:
        print(f"train accuracy {accuracies[0]:.2f}%, test accuracy {accuracies[1]:.2f}%")
    return accuracies[0], accuracies[1]
''',
    "zero_grad_after_step_no_grad_eval": '''
def train_test_classification(net, criterion, optimizer, train_loader, test_loader,
                              num_epochs=1, verbose=True, training_plot=False, device="cpu"):
    losses = []
    net.train()
    for _ in tqdm(range(num_epochs)):
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device).float(), labels.to(device).long()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
            net.zero_grad(set_to_none=True)
            losses.append(loss.item())
    net.eval()
    accuracies = []
    with torch.no_grad():
        for loader in (train_loader, test_loader):
            hits = torch.zeros((), dtype=torch.long)
            count = 0
            for inputs, labels in loader:
                logits = net(inputs.to(device).float())
                hits += (logits.argmax(1) == labels.to(device).long()).sum().cpu()
                count += len(labels)
            accuracies.append(100.0 * hits.item() / count)
    if verbose:
        print("train %.2f%%, test %.2f%%" % tuple(accuracies))
    if training_plot:
        plt.plot(losses)
        plt.title("loss")
        plt.show()
    return accuracies[0], accuracies[1]
''',
    "dataset_length_tensor_result": '''
def train_test_classification(net, criterion, optimizer, train_loader, test_loader,
                              num_epochs=1, verbose=True, training_plot=False, device="cpu"):
    for epoch in range(num_epochs):
        net.train()
        for inputs, labels in train_loader:
            optimizer.zero_grad()
            outputs = net(inputs.to(device).float())
            criterion(outputs, labels.to(device).long()).backward()
            optimizer.step()
    net.eval()

    def accuracy(loader):
        correct = 0
        for inputs, labels in loader:
            predicted = net(inputs.to(device).float()).detach().max(dim=1).indices
            correct += (predicted == labels.to(device).long()).float().sum()
        return 100 * correct / len(loader.dataset)      # a 0-d tensor

    return accuracy(train_loader), accuracy(test_loader)
''',
}

LOOP_WRONG = {
    "no_zero_grad": loop_variant(("            optimizer.zero_grad()\n", "")),
    "no_train_mode": loop_variant(("    net.train()\n", "")),
    "no_eval_mode": loop_variant(("    net.eval()\n", "")),
    "accuracy_as_fraction": loop_variant(("acc = 100 * correct / total", "acc = correct / total")),
    "accuracy_mean_of_batch_accuracies": '''
def train_test_classification(net, criterion, optimizer, train_loader, test_loader,
                              num_epochs=1, verbose=True, training_plot=False, device="cpu"):
    net.train()
    for epoch in tqdm(range(num_epochs)):
        for inputs, labels in train_loader:
            inputs, labels = inputs.to(device).float(), labels.to(device).long()
            optimizer.zero_grad()
            loss = criterion(net(inputs), labels)
            loss.backward()
            optimizer.step()
    net.eval()

    def test(loader):
        batch_accuracies = []
        for inputs, labels in loader:
            predicted = net(inputs.to(device).float()).argmax(1)
            batch_accuracies.append((predicted == labels.to(device).long()).float().mean().item())
        return 100 * sum(batch_accuracies) / len(batch_accuracies)

    return test(train_loader), test(test_loader)
''',
    "total_counts_batches": loop_variant(("total += labels.size(0)", "total += 1")),
    "accuracies_swapped": loop_variant(("    return train_acc, test_acc", "    return test_acc, train_acc")),
    "step_before_backward": loop_variant(("            loss.backward()\n            optimizer.step()\n",
                                          "            optimizer.step()\n            loss.backward()\n")),
    "one_epoch_short": loop_variant(("range(num_epochs)", "range(num_epochs - 1)")),
    "test_accuracy_on_train_loader": loop_variant(("test_total, test_acc = test(test_loader)",
                                                   "test_total, test_acc = test(train_loader)")),
    "last_batch_skipped": loop_variant(("        for i, data in enumerate(train_loader, 0):\n",
                                        "        for i, data in enumerate(train_loader, 0):\n"
                                        "            if i == len(train_loader) - 1:\n"
                                        "                break\n")),
    "argmax_over_batch": loop_variant(("_, predicted = torch.max(outputs, 1)",
                                       "_, predicted = torch.max(outputs, 0)")),
}

CORRECT = {"shuffle_and_split_data": SPLIT_CORRECT, "train_test_classification": LOOP_CORRECT}
WRONG = {"shuffle_and_split_data": SPLIT_WRONG, "train_test_classification": LOOP_WRONG}
# The check cells of each exercise.
CHECKS = {
    "shuffle_and_split_data": ["shuffle_and_split_data_split", "shuffle_and_split_data_seed"],
    "train_test_classification": ["train_test_classification_training",
                                  "train_test_classification_accuracy"],
}
# The mistake each wrong answer makes, as a phrase its feedback must contain (and no other's).
MISTAKES = {
    "shuffle_and_split_data": {
        "no_shuffle": r"original order",
        "train_test_sizes_swapped": r"the other 80%",
        "seed_ignored_global_rng": r"same seed",
        "x_and_y_different_permutations": r"SAME permutation",
        "wrong_return_order": r"in another order",
        "off_by_one_test_size": r"one sample too many",
        "train_set_starts_one_late": r"misses one sample",
        "rounding_up": r"one sample too many",
        "seeded_after_shuffle": r"same seed",
        "shuffles_inputs_in_place": r"in place",
    },
    "train_test_classification": {
        "no_zero_grad": r"gradients should be cleared",
        "no_train_mode": r"net\.train\(\)",
        "no_eval_mode": r"net\.eval\(\)",
        "accuracy_as_fraction": r"percentage",
        "accuracy_mean_of_batch_accuracies": r"divide once",
        "total_counts_batches": r"divide once",
        "accuracies_swapped": r"the accuracy on the other loader",
        "step_before_backward": r"optimizer steps",
        "one_epoch_short": r"optimizer steps",
        "test_accuracy_on_train_loader": r"the accuracy on the other loader",
        "last_batch_skipped": r"optimizer steps",
        "argmax_over_batch": r"over the wrong dim",
    },
}


def objects(exercise: str, code: str) -> list:
    """The objects the hidden block hands to the checks, from an answer cell run in the
    notebook's namespace."""
    import math

    import matplotlib.pyplot as plt
    import numpy as np
    from torch import nn
    from tqdm.auto import tqdm
    return [run_answer(code, {"nn": nn, "plt": plt, "tqdm": tqdm, "math": math, "np": np})[exercise]]


# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"shuffle_and_split_data": SPLIT_TUTORIAL, "train_test_classification": LOOP_TUTORIAL}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = [
    "The split looks right: 20% test, labels kept with their points, shuffled.",
    "The seed decides the split.",
    "Training switches modes, steps once per batch and clears the gradients.",
    "Accuracies are right:",
]
