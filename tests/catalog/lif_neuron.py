"""Student answers for run_LIF, as the full source of the answer cell.

``CORRECT[name]`` must get full marks, ``WRONG[name]`` must lose points with feedback that names
``MISTAKES[name]`` (a regular expression) and no other mistake (one exercise: flat dictionaries).
Variants build on the original tutorial's code and on ``solutions/lif_neuron.py`` itself.
"""
from tests.helpers import run_answer, solution_source, variant as replaced

SLUG = "lif_neuron"
CHAPTER = "07_lif_neuron.ipynb"
EXERCISE = "run_LIF"
CHECKS = {EXERCISE: ["run_LIF_subthreshold", "run_LIF_spikes"]}

# The original tutorial's code (its comments left out), as a student who completed it hands it in.
TUTORIAL = '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    time = torch.arange(0, T + dt, dt)
    Vm = torch.zeros(len(time))
    t_rest = 0
    for i, t in enumerate(time):
        if t > t_rest:
            Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            t_rest = t + tau_ref
    return time, Vm
'''

REFERENCE = solution_source(SLUG, "run_LIF")


def variant(*replacements: tuple[str, str]) -> str:
    return replaced(TUTORIAL, *replacements)


CORRECT = {
    "tutorial": TUTORIAL,
    "reference": REFERENCE,
    # The tutorial's cell verbatim (two-space indents, its comments), apart from its docstring
    "seed_verbatim": '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10,
            Rm=1, Cm=10, Vth=1, V_spike=0.5):
  # Set up array of time steps
  time = torch.arange(0, T + dt, dt)

  # Set up array for tracking Vm
  Vm = torch.zeros(len(time))

  # Iterate over each time step
  t_rest = 0
  for i, t in enumerate(time):

    # If t is after refractory period
    if t > t_rest:
      Vm[i] = Vm[i-1] + 1/Cm*(-Vm[i-1]/Rm + I)  * dt

    # If Vm is over the threshold
    if Vm[i] >= Vth:

      # Increase volatage by change due to spike
      Vm[i] += V_spike

      # Set up new refactory period
      t_rest = t + tau_ref

  return time, Vm
''',
    # the update written the other way round, the loop from index 1, the spike test nested
    "rearranged": '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    time = torch.arange(0, T + dt, dt)
    Vm = torch.zeros(time.shape[0])
    t_rest = 0.0
    for i in range(1, len(time)):
        t = time[i]
        if t > t_rest:
            Vm[i] = Vm[i - 1] + dt * (I - Vm[i - 1] / Rm) / Cm
            if Vm[i] >= Vth:
                Vm[i] = Vm[i] + V_spike
                t_rest = t + tau_ref
    return time, Vm
''',
    # plain Python floats in a list, converted at the end (t_rest in float64)
    "python_floats": '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    time = torch.arange(0, T + dt, dt)
    I = float(I)
    v, trace, t_rest = 0.0, [], 0.0
    for t in time.tolist():
        if t > t_rest:
            v = v + (I - v / Rm) * dt / Cm
        else:
            v = 0.0
        if v >= Vth:
            trace.append(v + V_spike)
            t_rest = t + tau_ref
            v = 0.0
        else:
            trace.append(v)
    return time, torch.tensor(trace)
''',
    # NumPy arrays for the simulation (time from torch.arange as the docstring says), tensors back
    "numpy_arrays": '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    time = torch.arange(0, T + dt, dt)
    steps = time.numpy()
    Vm = np.zeros(len(steps), dtype=np.float32)
    t_rest = 0
    for i in range(len(steps)):
        if steps[i] > t_rest:
            Vm[i] = Vm[i - 1] + (-Vm[i - 1] / Rm + float(I)) * dt / Cm
        if Vm[i] >= Vth:
            Vm[i] = Vm[i] + V_spike
            t_rest = steps[i] + tau_ref
    return time, torch.from_numpy(Vm)
''',
    # a while loop over the step index, the potential in a Python list, torch.stack at the end
    "while_loop_list_stack": '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    time = torch.arange(0, T + dt, dt)
    values = [torch.tensor(0.0)]
    refractory_until = time[0]
    if values[0] >= Vth:
        values[0] = values[0] + V_spike
        refractory_until = time[0] + tau_ref
    i = 1
    while i < len(time):
        v = values[-1]
        if time[i] > refractory_until:
            v = v + dt / Cm * (I - v / Rm)
        else:
            v = torch.tensor(0.0)
        if v >= Vth:
            refractory_until = time[i] + tau_ref
            v = v + V_spike
        values.append(v)
        i += 1
    return time, torch.stack(values)
''',
}

WRONG = {
    # a flag set at the first spike and never cleared
    "refractory_never_ends": '''
def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
    time = torch.arange(0, T + dt, dt)
    Vm = torch.zeros(len(time))
    t_rest = 0
    refractory = False
    for i, t in enumerate(time):
        if t > t_rest and not refractory:
            Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt
        if Vm[i] >= Vth:
            Vm[i] += V_spike
            t_rest = t + tau_ref
            refractory = True
    return time, Vm
''',
    "reset_to_V_spike": variant(("Vm[i] += V_spike", "Vm[i] = V_spike")),
    "leak_sign_wrong": variant(("(-Vm[i - 1] / Rm + I)", "(Vm[i - 1] / Rm + I)")),
    "off_by_one_at_t_rest": variant(("if t > t_rest:", "if t >= t_rest:")),
    "dt_ignored": variant(("(-Vm[i - 1] / Rm + I) * dt", "(-Vm[i - 1] / Rm + I)")),
    "refractory_one_step_long": variant(("t_rest = t + tau_ref", "t_rest = t + tau_ref + dt")),
    "multiplies_by_Cm": variant(("1 / Cm * (", "Cm * (")),
    "holds_potential_when_refractory": variant(
        ("            Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt\n",
         "            Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt\n"
         "        elif i > 0:\n            Vm[i] = Vm[i - 1]\n")),
    "fixed_defaults": variant(("Vm[i] = Vm[i - 1] + 1 / Cm * (-Vm[i - 1] / Rm + I) * dt",
                               "Vm[i] = Vm[i - 1] + 1 / 10 * (-Vm[i - 1] / 1 + I) * 0.1")),
}

# The mistake each wrong answer makes, as the phrase its feedback must contain (and no other's).
MISTAKES = {
    "refractory_never_ends": r"never fires again",
    "reset_to_V_spike": r"not V_spike itself",
    "leak_sign_wrong": r"check its sign",
    "off_by_one_at_t_rest": r"Vm\[0\] should be 0",
    "dt_ignored": r"not multiplied by dt",
    "refractory_one_step_long": r"one step too late",
    "multiplies_by_Cm": r"divide by Cm",
    "holds_potential_when_refractory": r"should stay 0",
    "fixed_defaults": r"fixed numbers",
}


def objects(exercise: str, code: str) -> list:
    """The objects the hidden block hands to the checks, from an answer cell run as the notebook
    runs it."""
    return [run_answer(code)[exercise]]


# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {EXERCISE: CORRECT["tutorial"]}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = ["The membrane charges up towards I * Rm as it should.",
                     "Spikes, spike heights and the refractory period look right."]
