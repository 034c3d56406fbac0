# The shared setup cells. `make sync` stamps each section below into every master cell that
# starts with `#| setup NAME`, so each student notebook stays self-contained (it runs in Colab
# with nothing but Colab's preinstalled packages) while the code is written once.
# Edit here, then run `make sync generate`.

# %% setup imports
import os
import random

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm.auto import tqdm

# %% setup seed
# @title Reproducibility: one seed for Python, NumPy and PyTorch
SEED = 2021


def set_seed(seed=None, seed_torch=True):
    """Seed Python's, NumPy's and (optionally) PyTorch's random generators.

    With seed=None a seed is drawn at random and printed, so any run can be repeated.
    """
    if seed is None:
        seed = int(np.random.choice(2**32))
    random.seed(seed)
    np.random.seed(seed)
    if seed_torch:
        torch.manual_seed(seed)
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    print(f"Random seed {seed} has been set.")


def seed_worker(worker_id):
    """Give each DataLoader worker its own, reproducible seed (pass as worker_init_fn)."""
    worker_seed = torch.initial_seed() % 2**32
    np.random.seed(worker_seed)
    random.seed(worker_seed)


set_seed(SEED)

# %% setup device
# @title Device: tick the box to train on a GPU
USE_GPU = False  # @param {type:"boolean"}


def select_device(use_gpu):
    """Return torch.device('cuda') when asked for and available, else the CPU, saying why."""
    if os.environ.get("NBGRADER_EXECUTION"):
        print("Using the CPU: notebooks are graded on the CPU.")
        return torch.device("cpu")
    if not use_gpu:
        print("Using the CPU. Tick USE_GPU above to use a GPU.")
        return torch.device("cpu")
    if not torch.cuda.is_available():
        print("Using the CPU: USE_GPU is ticked but no GPU is visible "
              "(in Colab: Runtime > Change runtime type > GPU, then run this cell again).")
        return torch.device("cpu")
    print(f"Using the GPU: {torch.cuda.get_device_name(0)}.")
    return torch.device("cuda")


DEVICE = select_device(USE_GPU)

# %% setup figures
# @title Figure settings
from matplotlib_inline.backend_inline import set_matplotlib_formats

set_matplotlib_formats("retina")
plt.rcParams.update({"figure.figsize": (8, 4.5), "axes.grid": True, "grid.alpha": 0.3})
