"""Time one redraw of the LIF transfer-function explorer, four ways, in one run.

    .venv/bin/python benchmarks/lif_transfer.py [--repeats 5]

One redraw = the spike counts of 10 currents (torch.linspace(0, 2, 10)), T = 1000 ms, dt = 1 ms,
as in the original tutorial's explorer. The ways:

- loop:        run_LIF once per current, count Vm > Vth (the original explorer);
- batch:       run_LIF_batch, all currents as one tensor, a loop over time only;
- event:       lif_spike_counts, the chapter's explorer (climb from rest once, then hop from
               spike to spike), plus lif_rate on 400 points: the whole computation of a redraw;
- closed form: the count from the discrete-time formula in float64 (no simulation at all).

Each is timed best of --repeats (event: 10x more) at three slider positions, including the
slowest for the event count (Rm = 4.4). Target (issue): event >= 50x faster than the loop and
under 10 ms. Counts are compared with the loop's: the three simulations must agree exactly; the
closed form is shown for contrast, with its mismatches on the currents at the threshold current
Vth / Rm, where float32 rounding decides. Timings are noisy on a shared machine.
"""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.hidden import reference_module  # noqa: E402
from benchmarks.timing import best_of  # noqa: E402

REF = reference_module("lif_neuron")
CURRENTS = torch.linspace(0, 2, 10)
FINE = np.linspace(0, 2, 400)
SETTINGS = [(1.0, 1.0), (4.4, 1.0), (100.0, 10.0)]  # (Rm, tau_ref): start, slowest, many spikes
T, DT, CM, VTH = 1000, 1, 10, 1


def loop(Is, Rm, tau_ref):
    return np.array([int((REF.run_LIF(I, T=T, dt=DT, tau_ref=tau_ref, Rm=Rm)[1] > VTH).sum())
                     for I in Is])


def batch(Is, Rm, tau_ref):
    return (REF.run_LIF_batch(Is, T=T, dt=DT, tau_ref=tau_ref, Rm=Rm)[1] > VTH).sum(dim=1).numpy()


def event(Is, Rm, tau_ref):
    counts = REF.lif_spike_counts(Is, T=T, dt=DT, tau_ref=tau_ref, Rm=Rm)
    REF.lif_rate(FINE, Rm, tau_ref)
    return counts


def closed_form(Is, Rm, tau_ref):
    """Steps to threshold K = ceil(ln(1 - Vth/(I Rm)) / ln(1 - dt/(Rm Cm))), a refractory period
    of floor(tau_ref/dt) + 1 steps, spikes at K, K + period, ... in real (float64) arithmetic."""
    n_steps = int(round(T / DT)) + 1
    counts = []
    for I in np.asarray(Is, dtype=np.float64):
        drive = I * Rm
        if drive <= VTH:
            counts.append(0)
            continue
        K = math.ceil(math.log(1 - VTH / drive) / math.log(1 - DT / (Rm * CM)))
        gap = math.floor(tau_ref / DT) + 1
        counts.append(0 if K > n_steps - 1 else 1 + (n_steps - 1 - K) // (gap + K - 1))
    return np.array(counts)


WAYS = {"loop": loop, "batch": batch, "event": event, "closed form": closed_form}


def threshold_currents(Rm):
    centre = np.float32(VTH) / np.float32(Rm)
    return torch.tensor([np.nextafter(centre, np.float32(0)), centre, np.nextafter(centre, np.float32(9)),
                         np.nextafter(np.nextafter(centre, np.float32(9)), np.float32(9))])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of {args.repeats} "
          f"(event: {10 * args.repeats}); one redraw = 10 currents, T = {T} ms, dt = {DT} ms\n")
    print(f"{'Rm':>6} {'tau_ref':>7} | " + " | ".join(f"{name:>18}" for name in WAYS) + " | identical")
    ok = True
    for Rm, tau_ref in SETTINGS:
        seconds, counts = {}, {}
        for name, fn in WAYS.items():
            counts[name] = fn(CURRENTS, Rm, tau_ref)
            repeats = 10 * args.repeats if name in ("event", "closed form") else args.repeats
            seconds[name] = best_of(lambda: fn(CURRENTS, Rm, tau_ref), repeats)
        cells = [f"{1000 * seconds[n]:8.2f} ms {seconds['loop'] / seconds[n]:5.0f}x" for n in WAYS]
        same = all(np.array_equal(counts[n], counts["loop"]) for n in ("batch", "event"))
        ok &= same and seconds["event"] < 0.010 and seconds["loop"] / seconds["event"] >= 50
        print(f"{Rm:6.1f} {tau_ref:7.1f} | " + " | ".join(cells) + f" | {same}")
    print("\nCurrents at the threshold current (one float32 step below, at, one and two above):")
    mismatches = 0
    for Rm in (1.1, 1.3, 4.5, 37.3, 77.7):
        Is = threshold_currents(Rm)
        by_loop, by_event, by_formula = (loop(Is, Rm, 1.0), event(Is, Rm, 1.0), closed_form(Is, Rm, 1.0))
        mismatches += int((by_formula != by_loop).sum())
        ok &= np.array_equal(by_event, by_loop)
        print(f"  Rm = {Rm:5}: loop {by_loop.tolist()}, event {by_event.tolist()}, "
              f"closed form {by_formula.tolist()}")
    print(f"The closed form disagrees with the loop on {mismatches} of these currents; "
          "the event count on none." if ok else "FAILED: see above.")
    print("target: event >= 50x the loop and < 10 ms per redraw:", "met" if ok else "NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
