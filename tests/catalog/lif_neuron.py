"""Student answers for run_LIF, as the full source of the answer cell."""

REFERENCE = '''
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


def variant(*replacements: tuple[str, str]) -> str:
    source = REFERENCE
    for old, new in replacements:
        assert old in source, old
        source = source.replace(old, new)
    return source


CORRECT = {"run_LIF": {
    # the original tutorial's code, as a student who copied its structure writes it
    "tutorial": REFERENCE,
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
}}

WRONG = {"run_LIF": {
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
}}

# One correct answer per exercise: fills the student notebook in tests/test_student_notebooks.py.
SOLVED = {"run_LIF": CORRECT["run_LIF"]["tutorial"]}
# What the visible self-checks print when they pass.
SELF_CHECK_OUTPUT = ["The membrane charges up towards I * Rm as it should.",
                     "Spikes, spike heights and the refractory period look right."]
