"""The explorer's fast spike counts are those of the original loop, to the last spike.

`lif_spike_counts` (event-driven) and `run_LIF_batch` (all currents at once) must give exactly
what looping the reference `run_LIF` over the currents gives, on the explorer's settings and on
the places where float32 rounding decides: currents at the threshold current Vth / Rm (give or
take a float32 step), refractory periods whose end falls on a time point only up to rounding
(dt = 0.1), refractory periods shorter than a step and thresholds at or below 0 (both fall back
to the batch simulation).
"""
import math

import numpy as np
import pytest
import torch

from autograder.hidden import reference_module

REF = reference_module("lif_neuron")
f32 = np.float32
EXPLORER = dict(T=1000, dt=1)
CURRENTS = torch.linspace(0, 2, 10)  # the explorer's currents, float32 as in the tutorial


def loop_counts(Is, **settings):
    """The original explorer: run_LIF once per current, count the steps with Vm > Vth."""
    Vth = settings.get("Vth", 1)
    return np.array([int((REF.run_LIF(I, **settings)[1] > Vth).sum()) for I in Is])


def at_threshold(Rm, Vth=1.0, ulps=2):
    """float32 currents at Vth / Rm and `ulps` float32 steps either side."""
    centre = f32(Vth) / f32(Rm)
    below = [centre]
    above = [centre]
    for _ in range(ulps):
        below.append(np.nextafter(below[-1], f32(-np.inf)))
        above.append(np.nextafter(above[-1], f32(np.inf)))
    return torch.tensor(sorted(set(below + above)), dtype=torch.float32)


@pytest.mark.parametrize("Rm, tau_ref", [(1.0, 1.0), (4.4, 1.0), (4.5, 10.0), (13.7, 2.5),
                                         (100.0, 1.0), (100.0, 10.0), (100.0, 100.0)])
def test_explorer_settings_match_the_loop(Rm, tau_ref):
    settings = dict(EXPLORER, Rm=Rm, tau_ref=tau_ref)
    expected = loop_counts(CURRENTS, **settings)
    np.testing.assert_array_equal(REF.lif_spike_counts(CURRENTS, **settings), expected)


@pytest.mark.parametrize("Rm", [1.0, 1.1, 1.3, 4.5, 37.3, 77.7])
def test_currents_at_the_threshold_match_the_loop(Rm):
    Is = at_threshold(Rm)
    settings = dict(EXPLORER, Rm=Rm, tau_ref=1.0)
    np.testing.assert_array_equal(REF.lif_spike_counts(Is, **settings), loop_counts(Is, **settings))


def test_the_threshold_grid_holds_a_case_that_rounding_decides():
    """At Rm = 1.1 the float32 current one step above Vth / Rm makes I * Rm > Vth in exact
    arithmetic, and an exact Euler climb would cross Vth within 200 steps; in float32 the
    potential settles just below Vth and the neuron never fires. The fast count must agree."""
    Rm = 1.1
    I = at_threshold(Rm, ulps=1)[-1]
    a = float(f32(1 / 10)) / float(f32(Rm))  # dt / (Rm Cm) with the float32 factors
    drive = float(I) * float(f32(Rm))
    assert drive > 1
    steps_exact = math.ceil(math.log(1 - 1 / drive) / math.log(1 - a))
    assert steps_exact < 1000  # real arithmetic: it fires, several times
    settings = dict(EXPLORER, Rm=Rm, tau_ref=1.0)
    assert loop_counts([I], **settings).tolist() == [0]  # float32: it never fires
    assert REF.lif_spike_counts([I], **settings).tolist() == [0]


@pytest.mark.parametrize("tau_ref", [10.0, 2.5, 0.3, 1.0])
def test_refractory_ends_decided_by_rounding_match_the_loop(tau_ref):
    """With dt = 0.1 the end of a refractory period falls on a time point only up to float32
    rounding, so some refractory periods last a step longer than others."""
    time = torch.arange(0, 50 + 0.1, 0.1).numpy()
    resume = np.searchsorted(time, time + f32(tau_ref), side="right")
    assert len(set((resume - np.arange(len(time)))[resume < len(time)].tolist())) > 1
    Is = torch.tensor([0.9, 1.05, 1.5, 2.2, 3.7, 8.0])
    settings = dict(T=50, dt=0.1, tau_ref=tau_ref, Rm=1.0)
    np.testing.assert_array_equal(REF.lif_spike_counts(Is, **settings), loop_counts(Is, **settings))


@pytest.mark.parametrize("settings", [
    dict(T=30, dt=0.1, tau_ref=0.05, Rm=1.0),                 # refractory shorter than a step
    dict(T=30, dt=0.5, tau_ref=0.0, Rm=2.0, V_spike=0.0),     # no refractory at all
    dict(T=30, dt=0.25, tau_ref=2.0, Rm=3.0, Vth=0.0),        # a threshold at rest
    dict(T=30, dt=0.25, tau_ref=2.0, Rm=3.0, Vth=1.0, V_spike=-0.3),  # spikes below Vth
])
def test_settings_that_fall_back_match_the_loop(settings):
    Is = torch.tensor([-0.5, 0.0, 0.2, 0.9, 1.5, 3.0])
    np.testing.assert_array_equal(REF.lif_spike_counts(Is, **settings), loop_counts(Is, **settings))


def test_batch_traces_are_bit_for_bit_those_of_run_LIF():
    Is = torch.cat([torch.tensor([-0.3, 0.0, 0.7, 1.5, 4.0]), at_threshold(2.3, ulps=1)])
    for settings in (dict(), dict(T=20, dt=0.25, tau_ref=1.5, Rm=2.3, Cm=3, Vth=1.0, V_spike=0.7)):
        time, Vm = REF.run_LIF_batch(Is, **settings)
        for row, I in zip(Vm, Is):
            ref_time, ref_Vm = REF.run_LIF(I, **settings)
            assert torch.equal(time, ref_time) and torch.equal(row, ref_Vm)


def test_random_settings_match_the_batch_simulation():
    """A wider random grid against run_LIF_batch (itself bit for bit run_LIF, see above)."""
    rng = np.random.default_rng(7)
    for _ in range(40):
        dt = float(rng.choice([0.05, 0.1, 0.2, 0.25, 0.3, 0.5, 1.0]))
        Rm = round(float(rng.uniform(0.5, 100)), 1)
        Vth = float(rng.choice([0.5, 1.0, 1.3, 2.0]))
        settings = dict(T=int(rng.choice([20, 50, 100])), dt=dt, Rm=Rm, Vth=Vth,
                        tau_ref=round(float(rng.uniform(0, 15)), 1), Cm=float(rng.choice([1, 5, 10, 20])),
                        V_spike=float(rng.choice([0.5, 1.0])))
        Is = torch.cat([torch.from_numpy(rng.uniform(-0.5, 3, 6).astype(f32)), at_threshold(Rm, Vth, 1)])
        _, Vm = REF.run_LIF_batch(Is, **settings)
        np.testing.assert_array_equal(REF.lif_spike_counts(Is, **settings),
                                      (Vm > Vth).sum(dim=1).numpy(), err_msg=str(settings))
