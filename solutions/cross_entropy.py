"""Reference solutions for the chapter 'cross_entropy'.

GENERATED from book/03_cross_entropy.ipynb by `make generate`: edit the master, never this file.
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


def cross_entropy_loss(x, labels):
    """The average cross-entropy of a batch, computed stably and without loops.

    Args:
        x: tensor of shape (N, K), the logits of N samples over K classes.
        labels: tensor of shape (N,), integers in [0, K - 1], the true classes.

    Returns:
        avg_loss: 0-dim tensor, the batch average of the per-sample losses
            -x[i, labels[i]] + log(sum_j exp(x[i, j])).
    """
    # 1. x_of_labels: the logit of the true class of each sample, shape (N,)
    x_of_labels = x[torch.arange(x.shape[0], device=x.device), labels]

    # 2. log_sum_exp: log(sum_j exp(x[i, j])) for each sample, shape (N,),
    #    computed with the shift by the row maximum m
    m = x.max(dim=1, keepdim=True).values  # (N, 1)
    log_sum_exp = m.squeeze(1) + torch.log(torch.exp(x - m).sum(dim=1))

    # 3. losses: the loss of each sample, shape (N,); avg_loss: their average
    losses = log_sum_exp - x_of_labels
    avg_loss = losses.mean()
    return avg_loss
