"""Every quantitative claim in the chapters' prose holds in the executed book.

Each row names a chapter, a phrase its prose must contain (the claim, so that rewording it
without updating the row fails here), a regular expression over the text the executed chapter
printed, and a predicate on the numbers the expression captures. The executed pages are those of
the full book (``full_html`` builds it once per session, reusing the execution cache), so these
tests carry the ``book`` marker.

Timings vary with the machine: their rows compare ratios measured in the same run, with bounds
well below what a quiet machine shows. Numbers that are settings or definitions (learning rates,
784 inputs, 60 000 images) are not claims and have no row.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import nbformat
import pytest

from core import paths

NUM = r"([-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?)"


@dataclass(frozen=True)
class Claim:
    chapter: str          # master stem prefix, e.g. "04"
    phrase: str           # must occur in the chapter's markdown
    pattern: str          # regex over the executed outputs; groups are numbers (or text)
    holds: Callable[[list], bool]
    what: str             # said when it fails

    def __str__(self):
        return f"{self.chapter}: {self.what}"


def num(text: str) -> float:
    return float(text.replace(",", ""))


def all_matches(fn):
    """Predicate over every match (a list of tuples of numbers) instead of the first one."""
    fn.all_matches = True
    return fn


CLAIMS = [
    # 1. ReLU approximation
    Claim("01", "doubling the number of ReLUs\ndivides the error by about four",
          r"largest error " + NUM,
          all_matches(lambda errs: len(errs) >= 4 and all(
              3.0 <= a[0] / b[0] <= 5.0 for a, b in zip(errs, errs[1:]))),
          "each doubling of N divides the largest error by 3 to 5"),
    # 2. General MLP
    Claim("02", "so one layer gets\nat most 3 of the 4 right",
          r"one layer: (\d) of 4 right[\s\S]*?one hidden layer: (\d) of 4 right",
          lambda m: m[0] <= 3 and m[1] == 4, "one layer at most 3 of 4, a hidden layer 4 of 4"),
    Claim("02", "they agree on every input, up to rounding",
          r"Largest difference between MLP and MLP2 on 1000 random inputs: " + NUM,
          lambda m: m[0] < 1e-5, "MLP and MLP2 agree"),
    Claim("02", "Wide inputs make the difference plain",
          r"MLP  : the outputs have standard deviation\s+" + NUM + r"\s+MLP2 : the outputs have standard deviation\s+" + NUM,
          lambda m: m[0] > 10 and m[1] < 2 and m[0] / m[1] > 20,
          "torch.randn weights blow the outputs up, nn.Linear's keep their scale"),
    Claim("02", "55 + 18 + 8 = 81$ parameters", r"Total params: " + NUM,
          lambda m: m[0] == 81, "MLP(10, 5, 3, 2) has 81 parameters"),
    Claim("02", "$5010 + 88 + 27 = 5125$", r"fc1 \(Linear\)\s+\[32, 10\]\s+" + NUM + r"[\s\S]*?Total params: " + NUM,
          lambda m: m[0] == 5010 and m[1] == 5125, "MLP2(500, 10, 8, 3): 5125 parameters, 5010 in fc1"),
    Claim("02", "Almost all the parameters of `MLP2(500, 10, 8, 3)` sit in its first layer",
          r"fc1 \(Linear\)\s+\[32, 10\]\s+" + NUM + r"[\s\S]*?Total params: " + NUM,
          lambda m: m[0] / m[1] > 0.95, "over 95% of MLP2's parameters sit in fc1"),
    Claim("02", "where its 242,762 parameters live", r"Total params: (242,762)",
          lambda m: m[0] == 242762, "the image classifier has 242,762 parameters"),
    Claim("02", "over 150 million weights", r"with 1000 units: " + NUM + " parameters",
          lambda m: m[0] > 150e6, "a first layer of 1000 units on 224x224x3 inputs"),
    # 3. Cross-entropy
    Claim("03", r"$s \approx 88.72 / 3 \approx 29.6$ on the left",
          r"overflow: logits s \* \(3, 1, -2\): the direct formula gives inf from s = " + NUM,
          lambda m: 29.6 <= m[0] <= 29.6 * 1.05, "the direct formula overflows from s = 29.6"),
    Claim("03", r"and at $s \approx 104$ on the right",
          r"underflow: logits s \* \(-1, -2, -3\): the direct formula gives -inf from s = " + NUM,
          lambda m: 103 <= m[0] <= 104 * 1.05, "the direct formula underflows from s = 104"),
    Claim("03", r"formula gives `inf` from $s \approx 8.9$ on",
          r"sample 0 \(correct\): the direct formula gives inf from s = " + NUM,
          lambda m: 8.87 <= m[0] <= 8.9 * 1.11, "the direct loss is inf from s = 8.9 (grid step 10%)"),
    Claim("03", r"Both start not far from $\log 3 \approx 1.10$",
          r"initial loss " + NUM + r"; largest gap between the curves " + NUM,
          lambda m: abs(m[0] - 1.0986) < 0.3, "the initial loss is near log 3"),
    Claim("03", "two curves should lie on top of each other",
          r"initial loss " + NUM + r"; largest gap between the curves " + NUM,
          lambda m: m[1] < 1e-4, "both losses train identically"),
    Claim("03", r"The gradient should be the formula of section 2",
          r"largest gap between autograd's gradient and \(p - one_hot\) / N: " + NUM,
          lambda m: m[0] < 1e-6, "autograd's gradient is (p - one_hot) / N"),
    # 4. Spiral split
    Claim("04", "The test set covers all four arms in about equal numbers",
          r"test points per class: \[(\d+), (\d+), (\d+), (\d+)\]",
          lambda m: all(150 <= n <= 250 for n in m), "each arm has 150 to 250 of the 800 test points"),
    Claim("04", "After 100 epochs about 98% of the training points\nand 97% of the test points",
          r"Accuracy on the 3200 training samples: " + NUM + r"\s+Accuracy on the 800 test samples: " + NUM,
          lambda m: abs(m[0] - 98) <= 1 and abs(m[1] - 97) <= 1, "about 98% / 97%"),
    Claim("04", "the test accuracy (about 97%) is close to the training\naccuracy (about 98%)",
          r"Accuracy on the 3200 training samples: " + NUM + r"\s+Accuracy on the 800 test samples: " + NUM,
          lambda m: abs(m[0] - 98) <= 1 and abs(m[1] - 97) <= 1 and abs(m[0] - m[1]) <= 3,
          "the Think! answer's 97% / 98%"),
    Claim("04", "standard deviations of about 0.4 (printed below)",
          r"input means \[\s*" + NUM + r"\s+" + NUM + r"\], standard deviations \[\s*" + NUM + r"\s+" + NUM + r"\]",
          lambda m: abs(m[0]) < 0.1 and abs(m[1]) < 0.1 and all(0.3 <= s <= 0.5 for s in m[2:]),
          "means near 0, standard deviations about 0.4"),
    Claim("04", "which then computes exactly the same outputs",
          r"the restored network computes the same outputs: (True|False)",
          lambda m: m[0] == "True", "saved and restored weights give the same outputs"),
    Claim("04", "One line makes this faster on a CPU",
          r"DataLoader, default threads .*\(\s*1\.0x\)[^\n]*\n\s*DataLoader, one thread .*\(\s*" + NUM + r"x\)",
          lambda m: m[0] > 1, "one thread is faster than the default threads"),
    Claim("04", "measures where the time of a training run goes\nand makes it faster",
          r"InMemoryLoader, one thread .*\(\s*" + NUM + r"x\)",
          lambda m: m[0] > 1, "the fast loader with one thread is faster"),
    Claim("04", "The workers cost the most",
          r"DataLoader, 2 workers\s+" + NUM + r" ms per epoch\s+DataLoader, no workers\s+" + NUM
          + r" ms per epoch\s+InMemoryLoader\s+" + NUM + " ms",
          lambda m: m[0] >= 2 * m[1], "two workers cost more than twice the loader without workers"),
    Claim("04", "Indexing tensors in memory is faster still, by more than an order of magnitude",
          r"DataLoader, no workers\s+" + NUM + r" ms per epoch\s+InMemoryLoader\s+" + NUM + " ms",
          lambda m: m[0] >= 10 * m[1], "InMemoryLoader at least 10x faster than the plain DataLoader"),
    Claim("04", "The same recipe and about the same accuracy",
          r"default threads .*accuracies " + NUM + r"% / " + NUM + r"%\s+.*one thread .*accuracies " + NUM
          + r"% / " + NUM + r"%\s+InMemoryLoader, one thread\s+20 epochs in\s+" + NUM + r" s .*accuracies "
          + NUM + r"% / " + NUM + "%",
          lambda m: max(m[0], m[2], m[5]) - min(m[0], m[2], m[5]) <= 3
          and max(m[1], m[3], m[6]) - min(m[1], m[3], m[6]) <= 3,
          "the three runs end within 3 points of each other"),
    # 5. Backprop
    Claim("05", r"$\eta = 0.05$ is stable but slow, $\eta = 0.9$ converges while zig-zagging",
          r"eta = (0\.05|0\.3|0\.9|1\.05): each step multiplies x - 2 by " + NUM + r" \(1 - 2 eta = " + NUM + r"\)",
          all_matches(lambda rows: {r[0] for r in rows} == {0.05, 0.3, 0.9, 1.05} and all(
              abs(r[1] - r[2]) < 1e-6 for r in rows) and all(
              (0 < r[1] < 1) if r[0] in (0.05, 0.3) else (-1 < r[1] < 0) if r[0] == 0.9 else r[1] < -1
              for r in rows)),
          "the distance is multiplied by 1 - 2 eta: smooth, zig-zag, divergent"),
    Claim("05", r"With $\eta = 0.02$ the path creeps along the valley floor",
          r"eta = (0\.02|0\.15|0\.21): f = " + NUM + r" at the start, " + NUM + " after 20 steps",
          all_matches(lambda rows: (lambda f: f[0.02][1] > 1 and f[0.15][1] < 0.05 and f[0.21][1] > f[0.21][0])(
              {r[0]: (r[1], r[2]) for r in rows})),
          "0.02 still high, 0.15 at the minimum, 0.21 worse than the start"),
    Claim("05", "its gradient norm is about 0.64, larger than at two of the starts that reach a valley",
          r"start \(([-\d.]+), ([-\d.]+)\): gradient norm " + NUM + r", (stays in the square|leaves the square at step \d+)",
          all_matches(lambda rows: [r[2] for r in rows if r[:2] == [-0.95, 0.95]] == [0.64]
                      and sum(r[2] < 0.64 for r in rows if r[3].startswith("stays")) >= 2),
          "the corner start's gradient norm is 0.64, above two valley starts'"),
    Claim("05", "the path leaves the plotted square within 3 steps",
          r"start \(-0\.95, 0\.95\): .*leaves the square at step (\d+)",
          lambda m: m[0] <= 3, "the corner start leaves the square by step 3"),
    Claim("05", "four paths roll downhill into one\nof the two valleys",
          r"stays in the square, ends at \(([-\d.]+), ([-\d.]+)\) with height ([-\d.]+)",
          all_matches(lambda rows: len(rows) == 4 and all(r[2] < -0.3 for r in rows)),
          "four starts end in a valley (negative height)"),
    Claim("05", "where the height and the gradient are almost zero",
          r"leaves the square at step \d+, ends at .* with height " + NUM + " and gradient norm " + NUM,
          lambda m: abs(m[0]) < 0.05 and m[1] < 0.05, "the escaped path ends on the flat plain"),
    Claim("05", "cosines of 0.90 and 0.99 above",
          r"\s20 samples .*cosine " + NUM + r", length " + NUM,
          all_matches(lambda rows: sorted(round(r[0], 2) for r in rows) == [0.90, 0.99]),
          "the 20-sample cosines are 0.90 and 0.99"),
    Claim("05", "its length can be off by half; only with thousands of samples is\nit within a few per cent",
          r"(\d+) samples .*cosine " + NUM + r", length " + NUM,
          all_matches(lambda rows: max(abs(r[2] - 1) for r in rows if r[0] == 20) >= 0.3
                      and all(abs(r[2] - 1) <= 0.05 for r in rows if r[0] == 20000)),
          "20 samples: length off by 30% or more somewhere; 20000 samples: within 5%"),
    Claim("05", "agrees with autograd to within about $10^{-15}$ and with\nfinite differences to within about $10^{-8}$",
          r"\n(?:W|b)\d\s+\(\d+(?:, \d+)?,?\)\s+" + NUM + r"\s+" + NUM,
          all_matches(lambda rows: len(rows) == 6 and max(r[0] for r in rows) < 1e-14
                      and max(r[1] for r in rows) < 1e-8),
          "hand gradients: < 1e-14 from autograd, < 1e-8 from finite differences"),
    Claim("05", "40 give the network time to get every point right",
          r"final training accuracy (\d+)%", lambda m: m[0] == 100, "100% after 40 steps"),
    Claim("05", "A training step builds a graph of tens of thousands of `Value`s",
          r"the loss graph holds " + NUM + " values", lambda m: 1e4 <= m[0] < 1e5,
          "tens of thousands of values"),
    Claim("05", "Two helpers make it several\ntimes faster", r"speed-up: " + NUM + "x",
          lambda m: m[0] >= 2, "the helpers make a step at least 2x faster"),
    # 6. MNIST
    Claim("06", "On a laptop CPU this takes a few minutes",
          r"Using the (CPU|GPU)[\s\S]*?5 epochs in " + NUM + " s",
          lambda m: m[0] == "GPU" or 30 <= m[1] <= 900,
          "five epochs on a CPU take minutes (30 s to 15 min; the only bound in seconds)"),
    Claim("06", "the model stops improving after an epoch or two: look at the test",
          r"average test accuracy = " + NUM + "%",
          all_matches(lambda rows: len(rows) == 5 and any(b[0] < a[0] for a, b in zip(rows, rows[1:]))
                      and max(r[0] for r in rows) - rows[1][0] < 2.5),
          "the test accuracy goes down at least once and gains < 2.5 points after epoch 2"),
    Claim("06", "It has many more parameters than our MLP",
          r"The CNN has " + NUM + r" parameters \(the MLP " + NUM + r"\)",
          lambda m: m[0] >= 10 * m[1], "the CNN has at least 10x the MLP's parameters"),
    Claim("06", "Fetching the data costs several times more than learning from it",
          r"For one epoch of \d+ batches: " + NUM + " s fetching, " + NUM + " s training",
          lambda m: m[0] >= 2 * m[1], "fetching at least twice the training time"),
    Claim("06", "(MNIST: 188 MB)", r"on cpu, " + NUM + " MB|on cuda(?::\\d)?, " + NUM + " MB",
          lambda m: (m[0] or m[1]) == 188, "the training images take 188 MB"),
    Claim("06", "makes the same training much faster by feeding the model from tensors",
          r"pipeline take about " + NUM + " times as long", lambda m: m[0] >= 5,
          "the fast path reaches its accuracy at least 5x sooner"),
    Claim("06", "reach a better accuracy much sooner (the ratio is printed)",
          r"batch 256, Adam 4e-3 to 0: 5 epochs in [\d.]+ s, test accuracy " + NUM
          + r"%\.\nThe fast path passed [\d.]+% after [\d.]+ s of training; .* about " + NUM + " times",
          lambda m: m[0] > 97 and m[1] >= 5, "the fast path passes 97% at least 5x sooner"),
    # 7. LIF neuron
    Claim("07", "crosses the threshold at about 11 ms",
          r"\n\s+1\.5\s+" + NUM + " ms", lambda m: abs(m[0] - 11) <= 0.5, "the first spike at 1.5 mA"),
    Claim("07", "inputs near threshold take tens of milliseconds",
          r"\n\s+1\.1\s+" + NUM + " ms", lambda m: m[0] >= 10, "the first spike at 1.1 mA"),
    Claim("07", "So 150 ms allow only about 10 to 15 stages in sequence",
          r"\n\s+1\.5\s+[\d.]+ ms\s+[\d.]+ ms\s+(\d+)", lambda m: 10 <= m[0] <= 15,
          "at 1.5 mA, 10 to 15 stages in 150 ms"),
    Claim("07", "the two strongest currents both need 6 steps to reach the threshold and fire equally often",
          r"Rm = 100 kΩ, τ_ref = 1 ms: spike counts \[([\d, ]+)\]; the two strongest currents reach the "
          r"threshold after \[(\d+), (\d+)\] steps",
          lambda m: m[1] == m[2] == 6 and m[0].split(", ")[-1] == m[0].split(", ")[-2],
          "6 steps and equal counts for the two strongest currents at Rm = 100"),
    Claim("07", "for hundreds of times the loop's speed",
          r"lif_spike_counts:\s+[\d.]+ ms per redraw,\s+" + NUM + "x the loop's speed",
          lambda m: m[0] >= 100, "lif_spike_counts at least 100x the loop"),
    Claim("07", "Hundreds of times faster, with identical counts",
          r"run_LIF_batch:[^\n]*counts (\[[\d, ]+\])\n\s+lif_spike_counts:[^\n]*x the loop's speed, counts (\[[\d, ]+\])",
          lambda m: m[0] == m[1], "identical counts"),
    Claim("07", "the neuron exactly at threshold never fires here",
          r"-> loop \[(\d+), (\d+), (\d+), \d+\], lif_spike_counts \[\d+, \d+, \d+, \d+\], identical: (True|False)",
          all_matches(lambda rows: len(rows) == 3 and all(r[1] == 0 and r[3] == "True" for r in rows)),
          "at the threshold current: no spike, and the same counts both ways"),
    Claim("07", "makes the simulation fast enough for\n  a live explorer without changing a single spike",
          r"run_LIF_batch: \d+ ms \((\d+)x faster\); the same counts: (True|False)",
          lambda m: m[0] >= 2 and m[1] == "True", "the batched simulation is faster and identical"),
]


def convert(groups):
    out = []
    for g in groups:
        if g is None:
            out.append(None)
            continue
        try:
            out.append(num(g) if re.fullmatch(NUM, g) else g)
        except ValueError:
            out.append(g)
    return out


@pytest.fixture(scope="session")
def executed_pages(full_html):
    """{chapter number: (markdown of the master, printed text of the executed page)}."""
    pages = {}
    for master in paths.masters():
        page = nbformat.read(str(paths.BUILD / "src-full" / paths.BOOK.name / master.name), as_version=4)
        prose = "\n".join(c.source for c in nbformat.read(str(master), as_version=4).cells
                          if c.cell_type == "markdown")
        printed = []
        for cell in page.cells:
            for out in cell.get("outputs", []):
                if out.output_type == "stream":
                    printed.append(out.text)
                elif "text/plain" in out.get("data", {}):
                    printed.append(out.data["text/plain"])
        pages[master.name[:2]] = (prose, "\n".join(printed))
    return pages


def claim_holds(claim: Claim, prose: str, printed: str) -> None:
    assert claim.phrase in prose, f"the prose no longer says {claim.phrase!r}: update this row"
    if getattr(claim.holds, "all_matches", False):
        rows = [convert(m.groups()) for m in re.finditer(claim.pattern, printed)]
        assert rows, f"nothing printed matches {claim.pattern!r}"
        ok = claim.holds(rows)
        shown = rows
    else:
        found = re.search(claim.pattern, printed)
        assert found, f"nothing printed matches {claim.pattern!r}"
        shown = convert(found.groups())
        ok = claim.holds(shown)
    assert ok, f"{claim.what}: the executed chapter printed {shown}"


def test_claims_name_existing_chapters():
    chapters = {m.name[:2] for m in paths.all_masters()}
    assert {c.chapter for c in CLAIMS} <= chapters


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c.chapter}-{c.what[:40]}")
def test_prose_claim_holds_in_the_executed_chapter(claim, executed_pages):
    if claim.chapter not in executed_pages:
        pytest.skip(f"chapter {claim.chapter} is not in this build (CHAPTERS)")
    prose, printed = executed_pages[claim.chapter]
    claim_holds(claim, prose, printed)


def test_a_wrong_number_in_the_prose_fails(executed_pages):
    """The control: the claim "about 98% ... and 97%" changed to 90% no longer matches its row
    (the phrase is gone), and a row asking for 90% fails against the printed accuracy."""
    if "04" not in executed_pages:
        pytest.skip("chapter 04 is not in this build")
    prose, printed = executed_pages["04"]
    row = next(c for c in CLAIMS if c.phrase.startswith("After 100 epochs about 98%"))
    wrong_prose = prose.replace("about 98% of the training points", "about 90% of the training points")
    with pytest.raises(AssertionError, match="no longer says"):
        claim_holds(row, wrong_prose, printed)
    wrong_row = Claim("04", "about 90% of the training points", row.pattern,
                      lambda m: abs(m[0] - 90) <= 1, "about 90%")
    with pytest.raises(AssertionError, match="the executed chapter printed"):
        claim_holds(wrong_row, wrong_prose, printed)
