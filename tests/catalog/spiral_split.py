"""Student answers for the spiral-split chapter, as the full source of each answer cell.

CORRECT answers must get full marks, WRONG ones must lose points on their exercise's checks.
"""

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
    source = SPLIT_TUTORIAL
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


SPLIT_CORRECT = {
    "tutorial": SPLIT_TUTORIAL,
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
    source = LOOP_TUTORIAL
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


LOOP_CORRECT = {
    "tutorial": LOOP_TUTORIAL,
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
# Expected reasons: a phrase of the first failing message for each wrong answer.
WRONG_MESSAGES = {
    "shuffle_and_split_data": {
        "no_shuffle": "original order",
        "train_test_sizes_swapped": "int(0.2 * N)",
        "seed_ignored_global_rng": "same seed",
        "x_and_y_different_permutations": "SAME permutation",
        "wrong_return_order": "X_test (first output) should have shape",
        "off_by_one_test_size": "int(0.2 * N)",
        "train_set_starts_one_late": "int(0.2 * N)",
        "rounding_up": "int(0.2 * N)",
        "seeded_after_shuffle": "same seed",
        "shuffles_inputs_in_place": "in place",
    },
    "train_test_classification": {
        "no_zero_grad": "zero_grad",
        "no_train_mode": "net.train()",
        "no_eval_mode": "net.eval()",
        "accuracy_as_fraction": "percentage",
        "accuracy_mean_of_batch_accuracies": "divide once",
        "total_counts_batches": "divide once",
        "accuracies_swapped": "the accuracy on the other loader",
        "step_before_backward": "optimizer steps",
        "one_epoch_short": "optimizer steps",
        "test_accuracy_on_train_loader": "the accuracy on the other loader",
        "last_batch_skipped": "optimizer steps",
        "argmax_over_batch": "",
    },
}

# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"shuffle_and_split_data": SPLIT_TUTORIAL, "train_test_classification": LOOP_TUTORIAL}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = [
    "The split looks right: 20% test, labels kept with their points, shuffled.",
    "The seed decides the split.",
    "Training switches modes, steps once per batch and clears the gradients.",
    "Accuracies are right:",
]
