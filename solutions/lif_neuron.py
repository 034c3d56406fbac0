"""Reference solutions for the chapter 'lif_neuron'.

GENERATED from book/07_lif_neuron.ipynb by `make generate`: edit the master, never this file.
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


def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    """Simulate a leaky integrate-and-fire neuron driven by a constant input current.

    Args:
        I: input current (mA), a number or a 0-dim tensor.
        T: total time to simulate (ms).
        dt: time step of the Euler integration (ms).
        tau_ref: refractory period (ms): after a spike at time t, Vm stays 0 until the time
            exceeds t + tau_ref.
        Rm: membrane resistance (kOhm).
        Cm: membrane capacitance (uF).
        Vth: spike threshold (V).
        V_spike: added to Vm at each spike step, so that spikes stand out (V).

    Returns:
        time: tensor of shape (n_steps,), the time points 0, dt, 2 dt, ..., T (ms).
        Vm: tensor of shape (n_steps,), the membrane potential at each time point (V).
    """
    # The time points from 0 to T inclusive, shape (n_steps,)
    time = torch.arange(0, T + dt, dt)

    # 1. The membrane potential, shape (n_steps,): all zeros to start with (the neuron starts at
    #    rest, and a step that the loop below never writes keeps Vm = 0)
    Vm = torch.zeros(len(time))

    t_rest = 0  # the neuron is refractory until this time (ms)
    for i, t in enumerate(time):
        # 2. After the refractory period (t > t_rest): one Euler step from Vm[i - 1],
        #    with dVm/dt = (-Vm / Rm + I) / Cm
        if t > t_rest:
            Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt

        # 3. At or above threshold (Vm[i] >= Vth): add V_spike to Vm[i] (the spike) and stay
        #    refractory until tau_ref after this time point
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            t_rest = t + tau_ref

    return time, Vm


def lif_rate(I, Rm, tau_ref, Cm=10, Vth=1):
    """Firing rate (spikes per ms) of the continuous-time LIF neuron for a constant current.

    Args:
        I: current(s) in mA, a number or an array.
        Rm, tau_ref, Cm, Vth: as in run_LIF.

    Returns:
        An array like I: 1 / (tau_ref + t_th) where I * Rm > Vth, else 0, with the time to
        threshold t_th = Rm * Cm * ln(I Rm / (I Rm - Vth)).
    """
    drive = np.asarray(I, dtype=float) * Rm
    fires = drive > Vth
    t_th = np.full(drive.shape, np.inf)
    t_th[fires] = Rm * Cm * np.log(drive[fires] / (drive[fires] - Vth))
    return np.where(fires, 1 / (tau_ref + t_th), 0.0)


def run_LIF_batch(Is, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    """run_LIF for many currents at once: one row per current, a loop over time only.

    Args:
        Is: the currents (mA), shape (n,): a tensor, array or list, used as float32.
        T, dt, tau_ref, Rm, Cm, Vth, V_spike: as in run_LIF.

    Returns:
        time: tensor of shape (n_steps,), as in run_LIF.
        Vm: tensor of shape (n, n_steps); row k is run_LIF(Is[k], ...)[1], bit for bit.
    """
    I = torch.as_tensor(Is, dtype=torch.float32).reshape(-1)
    time = torch.arange(0, T + dt, dt)
    Vm = torch.zeros(len(I), len(time))
    t_rest = torch.zeros(len(I))  # per current: refractory until this time
    for i, t in enumerate(time):
        if i > 0:  # at t = 0 no current is past t_rest = 0
            update = Vm[:, i - 1] + 1 / Cm * (-Vm[:, i - 1] / Rm + I) * dt
            Vm[:, i] = torch.where(t > t_rest, update, 0.0)
        spiking = Vm[:, i] >= Vth
        Vm[:, i] = torch.where(spiking, Vm[:, i] + V_spike, Vm[:, i])
        t_rest = torch.where(spiking, t + tau_ref, t_rest)
    return time, Vm


def climb_from_rest(I, Rm, Cm, dt, Vth, max_steps, chunk=64):
    """Euler steps from Vm = 0 for every current at once, with run_LIF's float32 operations.

    Args:
        I: float32 array of shape (n,), the currents.
        Rm, Cm, dt, Vth: numbers, as in run_LIF.
        max_steps: the number of steps worth simulating.

    Returns:
        K: int array of shape (n,): the first step (1, 2, ...) with Vm >= Vth, or max_steps + 1
            when there is none within max_steps steps.
        V_K: float32 array of shape (n,): Vm at step K (before V_spike is added).
    """
    f32 = np.float32
    Rm, c, dt, Vth = f32(Rm), f32(1 / Cm), f32(dt), f32(Vth)
    K = np.full(len(I), max_steps + 1)
    V_K = np.zeros(len(I), dtype=f32)
    climbing = np.arange(len(I))          # the currents still below threshold
    v = np.zeros(len(I), dtype=f32)
    done = 0
    while done < max_steps and climbing.size:
        path = np.empty((min(chunk, max_steps - done), climbing.size), dtype=f32)
        for j in range(len(path)):
            # run_LIF's Vm + 1/Cm * (-Vm/Rm + I) * dt, rounded to float32 after every operation
            # (-Vm/Rm + I equals I - Vm/Rm exactly; a factor dt of 1 changes nothing)
            step = (I - v / Rm) * c
            v = path[j] = v + (step * dt if dt != 1 else step)
        reached = path >= Vth
        crossed = reached.any(axis=0)
        first = reached.argmax(axis=0)
        K[climbing[crossed]] = done + first[crossed] + 1
        V_K[climbing[crossed]] = path[first[crossed], np.flatnonzero(crossed)]
        before_last = path[-2] if len(path) > 1 else path[-1] - 1
        settled = path[-1] == before_last   # float32 stopped changing: it never will again
        keep = ~(crossed | settled)
        climbing, I, v = climbing[keep], I[keep], path[-1][keep]
        done += len(path)
    return K, V_K


def lif_spike_counts(Is, T=1000, dt=1, tau_ref=1, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    """Spike counts of run_LIF for many currents, identical to looping run_LIF:

        [int((run_LIF(I, T, dt, tau_ref, Rm, Cm, Vth, V_spike)[1] > Vth).sum()) for I in Is]

    Args:
        Is: the currents (mA), shape (n,): a tensor, array or list, used as float32.
        T, dt, tau_ref, Rm, Cm, Vth, V_spike: as in run_LIF.

    Returns:
        int array of shape (n,): the number of time steps with Vm > Vth for each current.
    """
    f32 = np.float32
    time = torch.arange(0, T + dt, dt).numpy()  # run_LIF's time grid, float32
    n_steps = len(time)
    step = np.arange(n_steps)
    # a spike at step s: refractory while time <= time[s] + tau_ref; resume[s] is the first step after
    resume = np.searchsorted(time, time + f32(tau_ref), side="right")
    restarts_from_zero = not np.any((resume == step + 1) & (resume < n_steps))
    if not (f32(Vth) > 0 and n_steps > 1 and restarts_from_zero):
        _, Vm = run_LIF_batch(Is, T, dt, tau_ref, Rm, Cm, Vth, V_spike)
        return (Vm > Vth).sum(dim=1).numpy()

    I = np.asarray(Is, dtype=f32).reshape(-1)
    K, V_K = climb_from_rest(I, Rm, Cm, dt, Vth, max_steps=n_steps - 1)
    counts = np.zeros(len(I), dtype=np.int64)
    fires = K < n_steps                   # the first spike comes at step K
    gap = int(resume[0])
    if np.array_equal(resume, np.minimum(step + gap, n_steps)):
        # every refractory period lasts the same number of steps: spikes at K, K + period, ...
        period = gap + K[fires] - 1
        counts[fires] = 1 + (n_steps - 1 - K[fires]) // period
    else:
        # float32 rounding makes some refractory periods a step longer: hop from spike to spike
        for k in np.unique(K[fires]):
            s, n_spikes = k, 0
            while s < n_steps:
                n_spikes += 1
                s = resume[s] + k - 1
            counts[K == k] = n_spikes
    # run_LIF's count is of steps with Vm > Vth; a spike step holds V_K + V_spike
    return np.where(V_K + f32(V_spike) > f32(Vth), counts, 0)
