"""Reference solutions for the chapter 'mnist'.

GENERATED from book/06_mnist.ipynb by `make generate`: edit the master, never this file.
The hidden checks in autograder/ compare student code with these definitions.
"""



import os
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm


# Chapter-specific imports
import math
import time

import torch.optim as optim
import torchvision
from torchvision import transforms


class MultiLayerPerceptron(nn.Module):
    """An MLP for 28x28 images and 10 classes: 784 inputs -> 100 ReLU units -> 10 logits."""

    def __init__(self):
        super().__init__()
        # self.hidden: a linear layer from the 28 * 28 pixels to 100 hidden units
        self.hidden = nn.Linear(28 * 28, 100)
        # self.output: a linear layer from the 100 hidden units to the 10 class scores
        self.output = nn.Linear(100, 10)

    def forward(self, x):
        """Forward pass.

        Args:
            x: images, a tensor of shape (batch, 1, 28, 28) or (batch, 28, 28).

        Returns:
            the logits, a tensor of shape (batch, 10).
        """
        x = torch.flatten(x, 1)  # (batch, 784): keep the batch dimension, flatten the rest
        # hidden layer -> ReLU -> output layer; no softmax at the end
        x = self.hidden(x)       # (batch, 100)
        x = F.relu(x)
        x = self.output(x)       # (batch, 10)
        return x


# The network to train
model = MultiLayerPerceptron()

# optimizer: Adam on the model's parameters, learning rate 1e-2 (optim is torch.optim)
optimizer = optim.Adam(model.parameters(), lr=1e-2)

# loss_fn: the cross-entropy of logits and integer labels
loss_fn = nn.CrossEntropyLoss()


def train(model, train_loader, loss_fn, optimizer, epoch=-1):
    """Train the model for one epoch (one pass over train_loader); print the loss and accuracy.

    Args:
        model: the network (an nn.Module).
        train_loader: yields batches (inputs, targets): inputs (batch, 1, 28, 28), targets (batch,).
        loss_fn: called as loss_fn(outputs, targets), returns a scalar tensor.
        optimizer: a torch.optim optimizer built on model.parameters().
        epoch: the epoch's index, counted from 0; only used in the printed messages.
    """
    device = next(model.parameters()).device  # the batches go where the model is
    total_loss = 0
    all_predictions = []
    all_targets = []

    # Put the model in training mode
    model.train()
    progress = tqdm(train_loader, desc=f"Epoch {epoch + 1} train", leave=False)
    for i, (inputs, targets) in enumerate(progress):  # 1. fetch the next batch
        inputs, targets = inputs.to(device), targets.to(device)
        # 2. zero the gradients, 3. outputs = the model's logits, shape (batch, 10),
        # 4. loss = a scalar tensor, 5. backpropagate, 6. take an optimizer step
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()

        # Statistics: the running loss, and the predicted class of every image (largest logit)
        total_loss += loss.item()
        preds = torch.argmax(outputs, dim=-1)
        all_predictions.extend(preds.tolist())
        all_targets.extend(targets.tolist())
        if i % 50 == 0:
            progress.set_postfix(loss=f"{total_loss / (i + 1):.3f}", refresh=False)

    # acc: the fraction of the epoch's predictions that equal their targets (a number in [0, 1])
    acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)
    print(f"Epoch {epoch + 1} done. Average train loss = {total_loss / len(train_loader):.2f}, "
          f"average train accuracy = {acc * 100:.3f}%")


def test(model, test_loader, loss_fn, epoch=-1):
    """Evaluate the model on every batch of test_loader; print the loss and accuracy.

    Args:
        model: the network (an nn.Module).
        test_loader: yields batches (inputs, targets) as in train().
        loss_fn: called as loss_fn(outputs, targets), returns a scalar tensor.
        epoch: the epoch's index, counted from 0; only used in the printed message.
    """
    device = next(model.parameters()).device
    total_loss = 0
    all_predictions = []
    all_targets = []

    # Put the model in evaluation mode
    model.eval()
    for inputs, targets in tqdm(test_loader, desc=f"Epoch {epoch + 1} test", leave=False):
        inputs, targets = inputs.to(device), targets.to(device)
        # 3. outputs and 4. loss, computed inside `with torch.no_grad():`, and nothing else
        with torch.no_grad():
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)

        total_loss += loss.item()
        preds = torch.argmax(outputs, dim=-1)
        all_predictions.extend(preds.tolist())
        all_targets.extend(targets.tolist())

    # acc: the fraction of all test predictions that equal their targets
    acc = sum(p == t for p, t in zip(all_predictions, all_targets)) / len(all_targets)
    print(f"Epoch {epoch + 1} done. Average test loss = {total_loss / len(test_loader):.2f}, "
          f"average test accuracy = {acc * 100:.3f}%")


def fit(model, train_loader, test_loader, loss_fn, optimizer, epochs=5):
    """Train for `epochs` epochs, testing after each one (train() and test() print the results)."""
    for epoch in range(epochs):
        train(model, train_loader, loss_fn, optimizer, epoch=epoch)
        test(model, test_loader, loss_fn, epoch=epoch)


def predict(model, images):
    """The predicted class of every image and its probability under the model.

    Args:
        model: the network; returns logits (N, 10).
        images: a tensor of shape (N, 1, 28, 28), on the model's device.

    Returns:
        predictions: int64 tensor of shape (N,), the class with the largest logit.
        confidences: float tensor of shape (N,), the softmax probability of that class.
    """
    # The logits (N, 10), in evaluation mode and without gradients
    model.eval()
    with torch.no_grad():
        logits = model(images)
    # probabilities (N, 10): the softmax over the classes, so that every row sums to 1
    probabilities = F.softmax(logits, dim=1)
    # The largest probability of each row and its index
    confidences, predictions = probabilities.max(dim=1)
    return predictions, confidences


def confusion_matrix(predictions, targets, num_classes=10):
    """Count the images of every true class (rows) predicted as every class (columns).

    Args:
        predictions: int64 tensor of shape (N,), values in 0..num_classes-1.
        targets: int64 tensor of shape (N,), the true classes.
        num_classes: the number of classes.

    Returns:
        int64 tensor of shape (num_classes, num_classes): entry [t, p] is the number of images
        with target t and prediction p.
    """
    predictions, targets = predictions.cpu(), targets.cpu()
    matrix = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    pairs = targets * num_classes + predictions                     # (N,): one number per (t, p)
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    matrix += counts.reshape(num_classes, num_classes)
    return matrix


def sync(device):
    """Wait until the GPU has finished its queued work (nothing to do on a CPU): GPU calls return
    before the work is done, so a timer must wait for it."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def training_step(model, optimizer, loss_fn, inputs, targets):
    """Steps 2 to 6 of a training iteration on one batch."""
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), targets)
    loss.backward()
    optimizer.step()
    return loss


def to_tensors(dataset, device, limit=None):
    """All images of a torchvision MNIST dataset as one normalised tensor, and its labels.

    Returns inputs of shape (N, 1, 28, 28), float32, normalised exactly as ToTensor() followed by
    Normalize(0.1307, 0.3081) would, and targets of shape (N,), int64, both on device.
    """
    pixels = dataset.data[:limit]                                    # (N, 28, 28) uint8
    inputs = pixels.to(device=device, dtype=torch.float32) / 255     # ToTensor: [0, 1]
    inputs = ((inputs - 0.1307) / 0.3081).unsqueeze(1)               # Normalize; (N, 1, 28, 28)
    return inputs, dataset.targets[:limit].to(device)


class TensorBatches:
    """Batches (inputs[idx], targets[idx]) of tensors already in place: a fast DataLoader for data
    that fits on the device. Shuffles anew on every pass when shuffle=True."""

    def __init__(self, inputs, targets, batch_size, shuffle=False):
        self.inputs, self.targets = inputs, targets
        self.batch_size, self.shuffle = batch_size, shuffle

    def __len__(self):
        return math.ceil(len(self.targets) / self.batch_size)

    def __iter__(self):
        n = len(self.targets)
        order = torch.randperm(n, device=self.targets.device) if self.shuffle else \
            torch.arange(n, device=self.targets.device)
        for idx in order.split(self.batch_size):
            yield self.inputs[idx], self.targets[idx]


def accuracy(model, inputs, targets, batch_size=10000):
    """The fraction of inputs that the model classifies right (in evaluation mode, no gradients)."""
    model.eval()
    with torch.no_grad():
        correct = sum((model(x).argmax(dim=1) == y).sum().item()
                      for x, y in zip(inputs.split(batch_size), targets.split(batch_size)))
    return correct / len(targets)


def timed_training(model, optimizer, loss_fn, batches, test_x, test_y, epochs=1, eval_every=None,
                   max_batches=None, scheduler=None):
    """Train with the six steps; return [(training seconds, test accuracy), ...].

    The test accuracy is measured after every epoch and, if eval_every is given, every eval_every
    batches; the clock stops while it is measured. Training stops after max_batches batches. A
    learning-rate scheduler, if given, steps after every batch.
    """
    device = next(model.parameters()).device
    curve, elapsed, done = [], 0.0, 0
    for _ in range(epochs):
        model.train()
        sync(device)
        start = time.perf_counter()
        for inputs, targets in batches:
            training_step(model, optimizer, loss_fn, inputs.to(device), targets.to(device))
            if scheduler is not None:
                scheduler.step()
            done += 1
            if done == max_batches or (eval_every and done % eval_every == 0):
                sync(device)
                elapsed += time.perf_counter() - start
                curve.append((elapsed, accuracy(model, test_x, test_y)))
                if done == max_batches:
                    return curve
                model.train()
                start = time.perf_counter()
        sync(device)
        elapsed += time.perf_counter() - start
        curve.append((elapsed, accuracy(model, test_x, test_y)))
    return curve
