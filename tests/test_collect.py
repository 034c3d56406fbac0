"""Collecting submissions from LMS downloads: names -> student ids, safe unpacking, the latest of
several submissions, Colab's file names. Fast: no grading."""
import hashlib
import os
import stat
import zipfile
from pathlib import Path

import pytest

from autograder import collect as collect_module
from autograder.collect import CollectError, colab_base, collect, student_id

NB = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def make_zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name)
            archive.writestr(info, data)
    return path


def by_student(subs):
    return {s.student: s for s in subs}


def test_canvas_names_give_user_ids_and_late_flags(tmp_path):
    archive = make_zip(tmp_path / "submissions.zip", {
        "doejane_12345_6789012_Copy of 01_relu_approximation.ipynb": NB,
        "roejohn_LATE_23456_6789013_01_relu_approximation (1).ipynb": NB,
    })
    subs = by_student(collect([archive]))
    assert set(subs) == {"12345", "23456"}
    assert subs["12345"].name == "doejane"
    assert any("LATE" in note for note in subs["23456"].notes)


def test_moodle_folders_and_flat_files(tmp_path):
    archive = make_zip(tmp_path / "moodle.zip", {
        "Jane Doe_123456_assignsubmission_file_/Copy of 01_relu_approximation.ipynb": NB,
        "John Roe_234567_assignsubmission_file_01_relu_approximation.ipynb": NB,
    })
    subs = by_student(collect([archive]))
    assert set(subs) == {"123456", "234567"}
    assert subs["123456"].name == "Jane Doe"


def test_folder_per_student_and_flat_folder(tmp_path):
    (tmp_path / "class" / "alice").mkdir(parents=True)
    (tmp_path / "class" / "bob").mkdir()
    (tmp_path / "class" / "alice" / "Copy of 01_relu.ipynb").write_bytes(NB)
    (tmp_path / "class" / "bob" / "01_relu (1).ipynb").write_bytes(NB)
    assert set(by_student(collect([tmp_path / "class"]))) == {"alice", "bob"}
    (tmp_path / "flat").mkdir()
    (tmp_path / "flat" / "carol.ipynb").write_bytes(NB)
    (tmp_path / "flat" / "dan.ipynb").write_bytes(NB)
    assert set(by_student(collect([tmp_path / "flat"]))) == {"carol", "dan"}


def test_numbers_in_ordinary_names_are_not_mistaken_for_canvas_ids(tmp_path):
    (tmp_path / "nbformat_4_0_no_ids.ipynb").write_bytes(NB)
    assert [s.student for s in collect([tmp_path])] == ["nbformat_4_0_no_ids"]


def test_a_name_pattern_overrides_the_conventions(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"hw1-s0042-final.ipynb": NB, "hw1-s0043.ipynb": NB})
    subs = collect([archive], pattern=r"-(?P<student>s\d+)")
    assert {s.student for s in subs} == {"s0042", "s0043"}


def test_the_latest_of_several_submissions_is_graded_and_the_others_named(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {
        zipfile.ZipInfo("doejane_12345_1000_01_relu.ipynb", (2026, 3, 1, 9, 0, 0)): b"old",
        zipfile.ZipInfo("doejane_12345_1001_01_relu-1.ipynb", (2026, 3, 2, 9, 0, 0)): b"new",
        zipfile.ZipInfo("doejane_12345_1002_notes.pdf", (2026, 3, 2, 9, 0, 0)): b"%PDF",
    })
    (sub,) = collect([archive])
    assert sub.data == b"new"
    assert any("graded the latest" in n and "01_relu.ipynb" in n for n in sub.notes)
    assert any("not notebooks" in n and "notes.pdf" in n for n in sub.notes)


def test_colab_copy_numbers_break_ties_between_equal_times(tmp_path):
    when = (2026, 3, 1, 9, 0, 0)
    archive = make_zip(tmp_path / "a.zip", {
        zipfile.ZipInfo("s/ann/01_relu.ipynb", when): b"first",
        zipfile.ZipInfo("s/ann/01_relu (2).ipynb", when): b"third",
        zipfile.ZipInfo("s/ann/Copy of 01_relu (1).ipynb", when): b"second",
        zipfile.ZipInfo("s/bob/01_relu.ipynb", when): b"bob's",
    })
    subs = by_student(collect([archive]))
    assert subs["ann"].data == b"third" and subs["bob"].data == b"bob's"
    (tmp_path / "flat").mkdir()
    for name in ("alice.ipynb", "alice (1).ipynb", "Copy of bob.ipynb"):
        (tmp_path / "flat" / name).write_bytes(name.encode())
    subs = by_student(collect([tmp_path / "flat"]))
    assert set(subs) == {"alice", "bob"} and subs["alice"].data == b"alice (1).ipynb"


def test_colab_names():
    assert colab_base("Copy of 01_relu_approximation (1).ipynb") == ("01_relu_approximation", 1)
    assert colab_base("01_relu_approximation-2.ipynb") == ("01_relu_approximation", 2)
    assert colab_base("Copy of Copy of hw.ipynb") == ("hw", 0)


def test_archive_paths_never_escape_the_output_folder(tmp_path):
    out = tmp_path / "out"
    archive = make_zip(tmp_path / "evil.zip", {
        "../../../escaped_12345_1000_a.ipynb": b"one",
        "/abs/olute_23456_1001_b.ipynb": b"two",
        "C:\\win\\dows_34567_1002_c.ipynb": b"three",
        "x/../../up_45678_1003_../../d.ipynb": b"four",
    })
    subs = collect([archive], unpack_to=out)
    # only a top-level name is an LMS's: '/abs/olute_23456_...' is the folder 'abs' (folders)
    assert len(subs) == 4 and {s.student for s in subs} == {"12345", "abs", "win", "x"}
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p != archive]
    assert written and all(p.resolve().is_relative_to(out.resolve()) for p in written)
    assert any("was read as" in n for s in subs for n in s.notes)


def test_symlinks_and_oversized_members_are_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(collect_module, "MAX_FILE", 10)
    link = zipfile.ZipInfo("linker_12345_1000_a.ipynb")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    archive = make_zip(tmp_path / "a.zip", {link: "/etc/passwd",
                                           "big_23456_1001_b.ipynb": b"x" * 11})
    subs = by_student(collect([archive]))
    assert "symbolic link" in subs["12345"].problem and subs["12345"].data is None
    assert "larger than" in subs["23456"].problem
    (tmp_path / "folder").mkdir()
    os.symlink("/etc/passwd", tmp_path / "folder" / "eve.ipynb")
    (sub,) = collect([tmp_path / "folder"])
    assert "symbolic link" in sub.problem and sub.data is None


class Latin1Name(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):
        return self.filename.encode("latin-1"), self.flag_bits & ~0x800


class Utf8WithoutFlag(zipfile.ZipInfo):
    def _encodeFilenameFlags(self):
        return self.filename.encode("utf-8"), self.flag_bits & ~0x800


def test_non_utf8_and_unflagged_utf8_names(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {
        Latin1Name("müllerjörg_12345_1000_relu.ipynb"): NB,
        Utf8WithoutFlag("Zoë Çelik_23456_assignsubmission_file_relu.ipynb"): NB,
    })
    subs = by_student(collect([archive], unpack_to=tmp_path / "out"))
    assert set(subs) == {"12345", "23456"}
    assert subs["23456"].name == "Zoë Çelik"
    assert all(s.saved_as.exists() for s in subs.values())


def test_non_utf8_file_names_in_a_folder(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / os.fsdecode(b"m\xfcller.ipynb")).write_bytes(NB)   # Latin-1 bytes on disk
    (sub,) = collect([folder], unpack_to=tmp_path / "out")
    assert sub.student == "m_ller" and sub.data == NB and sub.saved_as.exists()


def test_nested_zips_and_junk(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {"bob/hw.ipynb": NB})
    archive = make_zip(tmp_path / "outer.zip", {
        "alice/hw.ipynb": NB, "inner.zip": inner.read_bytes(),
        "__MACOSX/alice/._hw.ipynb": b"junk", "alice/.ipynb_checkpoints/hw-checkpoint.ipynb": NB})
    subs = by_student(collect([archive]))
    assert set(subs) == {"alice", "inner.zip"}   # junk and checkpoints are skipped
    moodle = make_zip(tmp_path / "moodle.zip", {
        "Jane Doe_123456_assignsubmission_file_/work.zip": inner.read_bytes()})
    assert [s.student for s in collect([moodle])] == ["123456"]


def test_a_student_without_a_notebook_gets_a_reason(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"doejane_12345_1000_hw.py": b"print(1)"})
    (sub,) = collect([archive])
    assert sub.data is None and "no .ipynb notebook" in sub.problem and "hw.py" in sub.problem


def test_sources_are_only_read(tmp_path):
    archive = make_zip(tmp_path / "a.zip", {"../x_12345_1000_a.ipynb": NB})
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "bob.ipynb").write_bytes(NB)
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.rglob("*") if p.is_file()}
    collect([archive, tmp_path / "folder"], unpack_to=tmp_path / "out")
    assert all(hashlib.sha256(p.read_bytes()).hexdigest() == h for p, h in before.items())


def test_unreadable_sources_are_clear_errors(tmp_path):
    with pytest.raises(CollectError, match="no such file"):
        collect([tmp_path / "missing.zip"])
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CollectError, match="no submissions"):
        collect([tmp_path / "empty"])


def test_a_dict_is_taken_as_given(tmp_path):
    (tmp_path / "x.ipynb").write_bytes(NB)
    (sub,) = collect({"Exact Name!": tmp_path / "x.ipynb"})
    assert sub.student == "Exact Name!" and sub.data == NB


def test_student_ids_are_safe_in_paths():
    assert student_id("../../etc/passwd") == "etc_passwd"
    assert student_id("Zoë Çelik") == "Zoë_Çelik"
    assert student_id("\udcff") == "student"


# --- Cause 6 of the hardening: no one else's grade -------------------------------------------------
# Each attack is a file a student uploaded, named as the LMS names it; each must fail on the code
# before the fix (there, ids were read from any folder's Moodle name or the last file's Canvas name).

def test_an_upload_named_like_anothers_moodle_submission_keeps_its_canvas_owner(tmp_path):
    archive = make_zip(tmp_path / "canvas.zip", {
        "doejane_12345_6789012_01_relu.ipynb": b"jane's",
        "attacker_23456_6789013_Jane Doe_12345_assignsubmission_file_01_relu.ipynb": b"evil",
    })
    subs = by_student(collect([archive]))
    assert subs["12345"].data == b"jane's" and not subs["12345"].review   # control: Jane's own
    assert subs["23456"].data == b"evil" and "fits both Canvas's and Moodle's" in subs["23456"].review


def test_a_zip_holding_anothers_canvas_or_moodle_name_is_its_uploaders(tmp_path):
    inner = make_zip(tmp_path / "inner.zip", {
        "doejane_12345_6789012_01_relu.ipynb": b"evil",
        "Jane Doe_12345_assignsubmission_file_/01_relu.ipynb": b"evil too"})
    archive = make_zip(tmp_path / "canvas.zip", {
        "doejane_12345_6789012_01_relu.ipynb": b"jane's",
        "attacker_23456_6789013_work.zip": inner.read_bytes()})
    subs = by_student(collect([archive]))
    assert set(subs) == {"12345", "23456"} and subs["12345"].data == b"jane's"
    moodle = make_zip(tmp_path / "moodle.zip", {
        "Jane Doe_12345_assignsubmission_file_/01_relu.ipynb": b"jane's",
        "Eve Attacker_23456_assignsubmission_file_/work.zip": inner.read_bytes()})
    subs = by_student(collect([moodle]))
    assert set(subs) == {"12345", "23456"} and subs["12345"].data == b"jane's"
    assert not subs["12345"].review


def test_a_lone_attackers_download_is_still_the_attackers(tmp_path):
    """A download of one submission: its LMS folder is not a wrapper folder to strip. (A guard
    for the fix, which strips only shared folders that are no LMS name; the old code read every
    folder's Moodle name and got this one right.)"""
    inner = make_zip(tmp_path / "inner.zip", {"doejane_12345_6789012_01_relu.ipynb": b"evil"})
    moodle = make_zip(tmp_path / "moodle.zip", {
        "Eve Attacker_23456_assignsubmission_file_/work.zip": inner.read_bytes()})
    assert [s.student for s in collect([moodle])] == ["23456"]


def test_an_id_under_two_student_names_is_flagged_never_silently_replaced(tmp_path):
    first = make_zip(tmp_path / "a.zip", {"doejane_12345_6789012_01_relu.ipynb": b"jane's"})
    second = make_zip(tmp_path / "b.zip", {"roejohn_12345_6789013_01_relu.ipynb": b"john's"})
    (sub,) = collect([first, second])
    assert "appears under 2 names" in sub.review and sub.review in sub.notes
    # control: one student's two submissions (the same name) are not flagged
    again = make_zip(tmp_path / "c.zip", {"doejane_12345_6789099_01_relu-1.ipynb": b"jane's 2"})
    (sub,) = collect([first, again])
    assert not sub.review


def test_a_flagged_submission_is_graded_but_needs_review():
    from autograder.grade import to_result
    from autograder.collect import Submission
    record = {"status": "graded", "notes": [], "key": "k", "scores": {"a": 1}}
    flagged = Submission("23456", "x.ipynb", "o", b"", review="fits both")
    assert to_result(record, flagged, store=None).status == "needs review"
    assert to_result(record, Submission("12345", "x.ipynb", "o", b""), store=None).status == "graded"
