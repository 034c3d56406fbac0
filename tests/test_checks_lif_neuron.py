"""The hidden checks of the LIF chapter against the catalog of student answers, in-process and as
under the grader (the check runs in the oracle on a proxy of the student's function)."""
import pytest
import torch

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from autograder.sandbox import loopback
from tests.catalog.lif_neuron import CORRECT, WRONG
from tests.helpers import run_answer

CHAPTER = "lif_neuron"
CHECKS = ["run_LIF_subthreshold", "run_LIF_spikes"]
RUNNERS = {"in_process": check, "grader": loopback.check}

# wrong answer -> a phrase the message must contain (the mistake is named, not just found)
NAMED = {
    "refractory_never_ends": "never fires again",
    "reset_to_V_spike": "not V_spike itself",
    "leak_sign_wrong": "check its sign",
    "off_by_one_at_t_rest": "Vm[0] should be 0",
    "dt_ignored": "not multiplied by dt",
    "refractory_one_step_long": "one step too late",
    "multiplies_by_Cm": "divide by Cm",
    "holds_potential_when_refractory": "should stay 0",
    "fixed_defaults": "fixed numbers",
}


def failures(fn, runner=check) -> list[str]:
    messages = []
    for name in CHECKS:
        try:
            runner(CHAPTER, name, fn)
        except CheckFailed as failure:
            messages.append(str(failure))
    return messages


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("name", sorted(CORRECT["run_LIF"]))
def test_correct_answers_pass_every_check(name, runner):
    fn = run_answer(CORRECT["run_LIF"][name])["run_LIF"]
    for check_name in CHECKS:
        RUNNERS[runner](CHAPTER, check_name, fn)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
@pytest.mark.parametrize("name", sorted(WRONG["run_LIF"]))
def test_wrong_answers_fail_with_a_message_that_names_the_mistake(name, runner):
    messages = failures(run_answer(WRONG["run_LIF"][name])["run_LIF"], RUNNERS[runner])
    assert messages, f"{name} passed every hidden check"
    assert all("should" in m or "raised" in m for m in messages), messages
    assert any(NAMED[name] in m for m in messages), messages


def test_catalog_is_complete():
    assert len(CORRECT["run_LIF"]) >= 2 and len(WRONG["run_LIF"]) >= 5
    assert set(NAMED) == set(WRONG["run_LIF"])


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_reference_passes_and_a_stub_reports_not_implemented(runner):
    check = RUNNERS[runner]
    reference = reference_module(CHAPTER)
    for check_name in CHECKS:
        check(CHAPTER, check_name, reference.run_LIF)

    def stub(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):
        raise NotImplementedError()

    for check_name in CHECKS:
        with pytest.raises(CheckFailed, match="not implemented"):
            check(CHAPTER, check_name, stub)


@pytest.mark.parametrize("runner", sorted(RUNNERS))
def test_wrong_return_values_are_explained(runner):
    check = RUNNERS[runner]
    only_vm = "def run_LIF(I, T=50, dt=0.1, tau_ref=10, Rm=1, Cm=10, Vth=1, V_spike=0.5):\n" \
              "    return torch.zeros(int(round(T / dt)) + 1)\n"
    with pytest.raises(CheckFailed, match=r"two tensors \(time, Vm\)"):
        check(CHAPTER, "run_LIF_subthreshold", run_answer(only_vm)["run_LIF"])
    swapped = CORRECT["run_LIF"]["tutorial"].replace("return time, Vm", "return Vm, time")
    with pytest.raises(CheckFailed, match="first output"):
        check(CHAPTER, "run_LIF_subthreshold", run_answer(swapped)["run_LIF"])
    no_endpoint = CORRECT["run_LIF"]["tutorial"].replace("torch.arange(0, T + dt, dt)",
                                                          "torch.arange(0, T, dt)")
    with pytest.raises(CheckFailed, match="0 to T inclusive"):
        check(CHAPTER, "run_LIF_subthreshold", run_answer(no_endpoint)["run_LIF"])


def test_checks_leave_the_students_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for check_name in CHECKS:
        check(CHAPTER, check_name, reference_module(CHAPTER).run_LIF)
    assert torch.equal(torch.rand(3), expected)


def test_the_seed_tutorials_code_grades_full():
    """The original tutorial's run_LIF, verbatim apart from its docstring, passes every check."""
    seed = '''
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
'''
    fn = run_answer(seed)["run_LIF"]
    for check_name in CHECKS:
        check(CHAPTER, check_name, fn)
