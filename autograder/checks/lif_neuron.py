"""Hidden checks for the LIF-neuron chapter: run_LIF against the reference, trace by trace.

Random cases avoid the places where float rounding alone decides a spike (a potential within a
hair of the threshold, or a refractory period whose end falls on a time point only up to
rounding), so that every correct way of writing the update grades the same. Refractory periods
that end *exactly* on a time point are tested with time steps that floats represent exactly
(0.125, 0.25, 0.5, 1 ms), where `t > t_rest` and `t >= t_rest` differ for every implementation.
When a trace is wrong, the message names the mistake it matches, if it matches a known one.
"""
from __future__ import annotations

import numpy as np
import torch

from autograder.checks.compare import as_tensor, call, call_ref, fail, fetch, generator, type_name

CHAPTER = "lif_neuron"
EULER = "Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt"
TIME_HINT = ("time should be torch.arange(0, T + dt, dt): the time points from 0 to T inclusive "
             "in steps of dt.")

# Known mistakes: the trace each one produces is simulated by model_trace, and a student trace
# that matches one gets its message.
MISTAKES = {
    "dt_ignored": "The Euler step is not multiplied by dt; it should be " + EULER + ".",
    "leak_sign": ("The potential runs away instead of settling at I * Rm: the leak term is "
                  "-Vm[i - 1] / Rm (it pulls the potential back to rest); check its sign."),
    "Cm_multiplies": "The Euler step should divide by Cm (1 / Cm * ...), not multiply by it.",
    "reset_to_V_spike": ("At a spike Vm[i] should be the potential plus V_spike (Vm[i] += V_spike), "
                         "not V_spike itself."),
    "never_recovers": ("After its first spike the neuron never fires again: the refractory period "
                       "should end at the first time point with t > t_rest = t_spike + tau_ref."),
    "recovers_early": ("The refractory period ends one step too early: update Vm only when "
                       "t > t_rest (strictly), with t_rest = t_spike + tau_ref; this also keeps "
                       "Vm[0] = 0, since t = 0 is not after t_rest = 0."),
    "recovers_late": ("The refractory period ends one step too late: the neuron should integrate "
                      "again from the first time point with t > t_spike + tau_ref."),
    "holds_value": ("During the refractory period Vm should stay 0 (the neuron is reset), not "
                    "keep its previous value."),
    "fixed_numbers": ("The Euler step uses fixed numbers instead of the arguments: use dt, Rm and "
                      "Cm as passed to run_LIF."),
}


# --- inputs -----------------------------------------------------------------------------------

def uniform(gen: torch.Generator, low: float, high: float, digits: int = 3) -> float:
    return round(low + (high - low) * torch.rand(1, generator=gen).item(), digits)


def choice(gen: torch.Generator, options):
    return options[int(torch.randint(len(options), (1,), generator=gen))]


def membrane(gen: torch.Generator, dt: float) -> dict:
    """Rm, Cm and Vth with a stable Euler step (dt / (Rm Cm) <= 0.2)."""
    Rm = uniform(gen, 0.5, 10, 2)
    Cm = max(uniform(gen, 1, 20, 2), round(5 * dt / Rm + 0.01, 2))
    return {"Rm": Rm, "Cm": Cm, "Vth": uniform(gen, 0.5, 2, 2)}


def describe(I, params: dict) -> str:
    shown = ", ".join(f"{k}={v:g}" for k, v in params.items())
    return f"run_LIF({float(I):g}{', ' + shown if shown else ''})"


# --- running student code ---------------------------------------------------------------------

def simulate(run_LIF, I, params: dict):
    """Call run_LIF(I, **params); return (what, time, Vm) as flat float64 tensors.

    Under the grader run_LIF lives in the student's kernel: its result stays there (call_ref)
    and each output is fetched and copied on its own, so the two tensors can never be confused.
    """
    what = describe(I, params)
    result = call(call_ref, run_LIF, I, what=what, **params)
    try:
        length = len(result)
    except Exception:  # noqa: BLE001 (anything without a length is the wrong kind of result)
        length = None
    if length != 2 or type_name(result) not in ("tuple", "list"):
        got = type_name(result) + (f" of length {length}" if length is not None else "")
        fail(f"{what} should return two tensors (time, Vm), got {got}.")
    time = as_tensor("time (first output)", fetch(result[0])).double().reshape(-1)
    Vm = as_tensor("Vm (second output)", fetch(result[1])).double().reshape(-1)
    return what, time, Vm


def reference_trace(reference, I, params: dict):
    time, Vm = reference.run_LIF(I, **params)
    return time.double(), Vm.double()


def expect_time(what: str, time, ref_time) -> None:
    if time.numel() != ref_time.numel():
        fail(f"{what}: time (first output) should hold {ref_time.numel()} time points, got "
             f"{time.numel()}. {TIME_HINT}")
    if not torch.allclose(time, ref_time, atol=1e-4, rtol=1e-6):
        fail(f"{what}: time (first output) has the wrong values. {TIME_HINT} Is it the first "
             "output, and Vm the second?")


def expect_vm_shape(what: str, Vm, ref_Vm) -> None:
    if Vm.numel() != ref_Vm.numel():
        fail(f"{what}: Vm (second output) should hold one value per time point "
             f"({ref_Vm.numel()}), got {Vm.numel()}.")


# --- what went wrong --------------------------------------------------------------------------

def model_trace(time, I, p: dict, mistake: str | None = None) -> np.ndarray:
    """The tutorial's simulation in float64, with one known mistake built in (or none)."""
    dt, tau_ref, Rm, Cm = p.get("dt", 0.1), p.get("tau_ref", 10), p.get("Rm", 1), p.get("Cm", 10)
    Vth, V_spike = p.get("Vth", 1), p.get("V_spike", 0.5)
    step = 1.0 if mistake == "dt_ignored" else dt
    gain = Cm if mistake == "Cm_multiplies" else 1 / Cm
    leak = 1.0 if mistake == "leak_sign" else -1.0
    if mistake == "fixed_numbers":
        step, gain, Rm = 0.1, 0.1, 1.0
    f32 = np.float32
    I = float(I)
    Vm = np.zeros(len(time))
    t_rest, spiked = 0.0, False
    for i, t in enumerate(time.float().tolist()):
        active = t >= t_rest if mistake == "recovers_early" else t > t_rest
        if mistake == "never_recovers" and spiked:
            active = False
        if active:
            Vm[i] = Vm[i - 1] + gain * (leak * Vm[i - 1] / Rm + I) * step
        elif mistake == "holds_value" and i > 0:
            Vm[i] = Vm[i - 1]
        if Vm[i] >= Vth:
            Vm[i] = V_spike if mistake == "reset_to_V_spike" else Vm[i] + V_spike
            t_rest = f32(t) + f32(tau_ref)  # float32, as with a time tensor
            if mistake == "recovers_late":
                t_rest = t_rest + f32(dt)
            spiked = True
        if not np.isfinite(Vm[i]):
            break
    return Vm


def known_mistake(time, Vm, I, params: dict) -> str | None:
    """The message of the first known mistake whose trace matches the student's, if any."""
    got = Vm.numpy()
    for mistake, message in MISTAKES.items():
        with np.errstate(all="ignore"):
            model = model_trace(time, I, params, mistake)
            if np.all(np.isfinite(model)) and np.allclose(got, model, rtol=1e-3, atol=1e-3):
                return message
    return None


def spike_times(time, Vm, Vth) -> list:
    return [round(float(t), 4) for t in time[Vm > Vth]]


def shown(times: list) -> str:
    """A list of spike times, cut short when it is long."""
    if len(times) <= 8:
        return f"{times} ms"
    return f"[{', '.join(map(str, times[:6]))}, ...] ms ({len(times)} spikes)"


def explain(what, time, Vm, ref_time, ref_Vm, I, params, problem: str):
    """Fail with the known mistake the trace matches, else with the first difference."""
    mistake = known_mistake(ref_time, Vm, I, params)
    if mistake:
        fail(f"{what}: {problem}. {mistake}")
    gap = (Vm - ref_Vm).abs()
    i = int(torch.argmax((gap > 1e-4 + 1e-3 * ref_Vm.abs()).int()))
    fail(f"{what}: {problem}. The first difference is at t = {float(ref_time[i]):g} ms (index {i}): "
         f"Vm is {float(Vm[i]):.6g} but should be {float(ref_Vm[i]):.6g}. Follow the order of the "
         f"tutorial: if t > t_rest, {EULER}; then, if Vm[i] >= Vth, add V_spike and set "
         "t_rest = t + tau_ref.")


# --- the checks -------------------------------------------------------------------------------

def subthreshold_cases():
    """Currents whose steady state I * Rm stays below Vth (some negative): no spikes at all."""
    gen = generator(CHAPTER, "subthreshold")
    yield 0.5, {}  # the defaults
    yield torch.tensor(0.3), {"T": 20}  # a 0-dim float32 tensor, as from torch.linspace
    for dt in (0.1, 0.05, 0.2, 0.5, 1.0, 0.25):
        params = {"T": int(uniform(gen, 10, min(60, 500 * dt), 0)), "dt": dt,
                  "tau_ref": uniform(gen, 1, 20, 1), **membrane(gen, dt),
                  "V_spike": uniform(gen, 0.2, 1.5, 2)}
        I = round(uniform(gen, -1, 0.9) * params["Vth"] / params["Rm"], 4)
        yield I, params


def check_run_LIF_subthreshold(run_LIF, *, reference):
    for I, params in subthreshold_cases():
        what, time, Vm = simulate(run_LIF, I, params)
        ref_time, ref_Vm = reference_trace(reference, I, params)
        expect_time(what, time, ref_time)
        expect_vm_shape(what, Vm, ref_Vm)
        if not torch.allclose(Vm, ref_Vm, rtol=1e-4, atol=1e-5):
            if float(ref_Vm[0]) == 0 and float(Vm[0]) != 0:
                fail(f"{what}: Vm[0] should be 0 (t = 0 is not after t_rest = 0, so the first "
                     f"time point is not updated), got {float(Vm[0]):.6g}.")
            explain(what, time, Vm, ref_time, ref_Vm, I, params,
                    "below the threshold Vm should follow the Euler steps towards I * Rm, "
                    "but it does not")


def robust(ref_Vm, params: dict, margin: float = 1e-4) -> bool:
    """No step decides a spike by less than `margin` volts."""
    Vth, V_spike = params["Vth"], params["V_spike"]
    spikes = ref_Vm > Vth
    below = Vth - ref_Vm[~spikes]
    above = ref_Vm[spikes] - V_spike - Vth
    return bool(spikes.sum() >= 2 and below.min() > margin and above.min() > margin)


def spiking_cases(reference):
    """(I, params, exact_times): supra-threshold currents with several spikes.

    With exact_times the spike times must match exactly; the tutorial's default case has
    refractory periods whose end falls on a time point only up to float32 rounding, so there
    the spikes after the first may move by one step.
    """
    yield 1.5, {}, False
    gen = generator(CHAPTER, "spikes")
    exact_steps = (0.125, 0.25, 0.5, 1.0, 0.5, 0.25)   # refractory ends exactly on a time point
    inexact_steps = (0.1, 0.2, 0.05)                  # refractory ends between time points
    plans = [(dt, True) for dt in exact_steps] + [(dt, False) for dt in inexact_steps]
    for number, (dt, tie) in enumerate(plans):
        for _ in range(50):
            n_steps = int(uniform(gen, 250, 700, 0))
            params = {"T": n_steps * dt if tie else round(n_steps * dt), "dt": dt}
            k = int(uniform(gen, 2, 40, 0))
            params["tau_ref"] = k * dt if tie else round((k + uniform(gen, 0.25, 0.75)) * dt, 4)
            params.update(membrane(gen, dt))
            params["V_spike"] = uniform(gen, 0.2, 1.5, 2)
            I = round(uniform(gen, 1.3, 4) * params["Vth"] / params["Rm"], 4)
            if number == 0:
                I = torch.tensor(I)   # once as a 0-dim float32 tensor
            if robust(reference_trace(reference, I, params)[1], params):
                yield I, params, True
                break


def check_run_LIF_spikes(run_LIF, *, reference):
    for I, params, exact_times in spiking_cases(reference):
        what, time, Vm = simulate(run_LIF, I, params)
        ref_time, ref_Vm = reference_trace(reference, I, params)
        expect_time(what, time, ref_time)
        expect_vm_shape(what, Vm, ref_Vm)
        Vth = params.get("Vth", 1)
        got, expected = spike_times(ref_time, Vm, Vth), spike_times(ref_time, ref_Vm, Vth)
        if exact_times:
            same = got == expected
        else:  # the first spike exactly; later ones within a step per refractory period
            dt = params.get("dt", 0.1)
            same = (len(got) == len(expected) and got[:1] == expected[:1]
                    and all(abs(a - b) <= n * dt + 1e-6 for n, (a, b) in enumerate(zip(got, expected))))
        if not same:
            explain(what, time, Vm, ref_time, ref_Vm, I, params,
                    f"the spikes (time points with Vm > Vth) should be at t = {shown(expected)}, "
                    f"got {shown(got)}")
        # where rounding may move a refractory end, compare up to the end of the first one
        last = len(ref_Vm) if exact_times else int(torch.nonzero(ref_Vm > Vth)[0]) + 1 + int(
            params.get("tau_ref", 10) / params.get("dt", 0.1)) - 1
        if not torch.allclose(Vm[:last], ref_Vm[:last], rtol=1e-3, atol=1e-4):
            explain(what, time, Vm, ref_time, ref_Vm, I, params, "the spikes are at the right "
                    "times, but the potential between them should match too")
