"""The hidden checks of the LIF chapter against the catalog of student answers, in-process and as
under the grader (the check runs in the oracle on a proxy of the student's function)."""
import pytest
import torch

from autograder.checks.compare import CheckFailed
from autograder.hidden import check, reference_module
from autograder.sandbox import loopback
from tests.catalog.lif_neuron import CORRECT
from tests.helpers import run_answer

CHAPTER = "lif_neuron"
CHECKS = ["run_LIF_subthreshold", "run_LIF_spikes"]
RUNNERS = {"in_process": check, "grader": loopback.check}

# Every catalog entry, in-process and through the oracle (correct ones pass, wrong ones are told
# their own mistake and no other): tests/test_checks_catalogs.py.


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
    swapped = CORRECT["tutorial"].replace("return time, Vm", "return Vm, time")
    with pytest.raises(CheckFailed, match="first output"):
        check(CHAPTER, "run_LIF_subthreshold", run_answer(swapped)["run_LIF"])
    no_endpoint = CORRECT["tutorial"].replace("torch.arange(0, T + dt, dt)",
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
