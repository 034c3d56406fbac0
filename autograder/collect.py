"""Collect submissions from what an LMS hands out: zips, folders, single notebooks.

Nothing is extracted with the archive's own paths: each member is read into memory (with a size
cap), its name is only *parsed* (for the student id), and the copy written under
``OUT/submissions/<student>/`` gets a sanitised name checked to stay inside that folder. So
``../`` or absolute names, symlink members and zip bombs cannot write anywhere.

Student ids come only from the LMS's own naming of the **top-level** submission (the first
name below the folders every file of a download shares), by convention (``--lms``) or a regular
expression (``--name-pattern``, with a named group ``student`` and optionally ``name``), never
from the names of files inside a student's folder or zip: those a student chose. A top-level name
that fits both Canvas's and Moodle's naming (a student uploading a file named like another's
Moodle submission) is read by the convention whose LMS prefix comes first, and flagged for
review; so is a student id that appears under two different student names:

* **Canvas** ("Download Submissions"): ``doejane_12345_6789012_Copy of 01_relu.ipynb``, late ones
  ``doejane_LATE_12345_...``; the id is Canvas's user id (12345). A resubmitted file gets
  ``-1``, ``-2`` before its extension.
* **Moodle** ("Download all submissions"): ``Jane Doe_123456_assignsubmission_file_/x.ipynb`` (a
  folder per student) or ``Jane Doe_123456_assignsubmission_file_x.ipynb``; the id is the
  participant number (123456).
* **folders**: ``<student>/.../x.ipynb`` (e.g. nbgrader's ``submitted/`` layout).
* **files**: the file name without Colab's decorations (``Copy of alice (1).ipynb`` -> ``alice``).

``auto`` (the default) tries them in that order for each file. When a student has several
notebooks, the latest is graded (archive or file time, then the Colab/Canvas copy number:
``X (2).ipynb`` and ``X-2.ipynb`` are later than ``X.ipynb``) and the others are named in the
row's notes. Colab's names (``Copy of X.ipynb``, ``X (1).ipynb``, ``X-1.ipynb``) are accepted.
"""
from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILE = 64 << 20           # a notebook larger than this is not read
MAX_ARCHIVE_DEPTH = 2         # zips inside zips
MAX_UNPACKED = 2 << 30        # what one archive from the LMS may unpack to, in all
MAX_UNPACKED_INNER = 128 << 20  # what a zip inside it (a student's upload) may unpack to
JUNK = re.compile(r"(^|/)(__MACOSX/|\.ipynb_checkpoints/|\._[^/]*$|\.DS_Store$|Thumbs\.db$)")
CANVAS = re.compile(r"^(?P<name>[^_/]+?)_(?:(?P<late>LATE)_)?(?P<student>\d{3,})_(?P<sub>\d{3,})_"
                    r"(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+?)_(?P<student>\d+)_assignsubmission_(?:file|onlinetext)_?"
                    r"(?P<file>.*)$")
COPY_NUMBER = re.compile(r"(?:\s\((?P<paren>\d+)\)|-(?P<dash>\d+))$")
CONVENTIONS = ("auto", "canvas", "moodle", "folders", "files")


class CollectError(ValueError):
    """A source that cannot be read at all (the message says which and why)."""


@dataclass
class Entry:
    """One file found in a source."""

    path: str                 # inside the source, '/'-separated, as the archive or folder names it
    origin: str               # the zip or folder it came from
    data: bytes | None
    when: float | None = None
    notes: list = field(default_factory=list)
    problem: str | None = None


@dataclass
class Submission:
    """What gets graded for one student (or why it cannot be)."""

    student: str
    file: str
    origin: str
    data: bytes | None
    notes: list = field(default_factory=list)
    problem: str | None = None
    name: str = ""
    saved_as: Path | None = None
    review: str = ""          # why a person should check whose submission this is ("": fine)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data or b"").hexdigest()


# --- reading sources ---------------------------------------------------------------------------------

def read_sources(sources: list[Path]) -> list[Entry]:
    entries: list[Entry] = []
    for source in sources:
        source = Path(source)
        if source.is_dir():
            entries += read_folder(source)
        elif zipfile.is_zipfile(source) if source.is_file() else False:
            try:
                with zipfile.ZipFile(source) as archive:
                    entries += read_zip(archive, str(source), "", 0,
                                        Budget(MAX_UNPACKED, source.name))
            except (zipfile.BadZipFile, OSError) as err:
                raise CollectError(f"{source}: not a readable zip archive ({err})") from None
        elif source.is_file():
            entries.append(read_file(source, source.name, str(source.parent)))
        else:
            raise CollectError(f"{source}: no such file or folder")
    return entries


def read_file(path: Path, relative: str, origin: str) -> Entry:
    entry = Entry(relative, origin, None)
    try:
        info = path.lstat()
        entry.when = info.st_mtime
        if stat.S_ISLNK(info.st_mode):
            entry.problem = "a symbolic link, not a file: not read"
        elif info.st_size > MAX_FILE:
            entry.problem = f"larger than {MAX_FILE >> 20} MB: not read"
        else:
            entry.data = path.read_bytes()
    except OSError as err:
        entry.problem = f"cannot be read ({err.strerror})"
    return entry


def read_folder(folder: Path) -> list[Entry]:
    entries = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs.sort()
        for name in sorted(files):
            path = Path(root) / name
            relative = os.fsencode(path.relative_to(folder)).decode("utf-8", "replace")
            if not JUNK.search(relative):
                entries.append(read_file(path, relative, str(folder)))
    return entries


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as its creator meant it (UTF-8 names without the UTF-8 flag are common)."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def safe_parts(name: str) -> tuple[list[str], bool]:
    """Path components of an archive name with '..', '.', roots and drive letters removed."""
    parts = re.split(r"[/\\]+", name)
    clean = [p for p in parts if p not in ("", ".", "..") and not re.fullmatch(r"[A-Za-z]:", p)]
    escaped = ".." in parts or name.startswith(("/", "\\")) or bool(re.match(r"[A-Za-z]:", name))
    return clean, escaped


@dataclass
class Budget:
    """What an archive may still unpack, in all (its members and the zips inside it); an inner
    archive draws on its own budget and on its outer archives' too."""

    limit: int
    name: str
    outer: "Budget | None" = None
    used: int = 0

    def short(self, size: int) -> "Budget | None":
        """The budget (this one or an outer one) that has less than ``size`` left."""
        if self.used + size > self.limit:
            return self
        return self.outer.short(size) if self.outer else None

    def take(self, size: int) -> None:
        self.used += size
        if self.outer:
            self.outer.take(size)

    def problem(self) -> str:
        return (f"not read: the archive {self.name!r} unpacks to more than {self.limit >> 20} MB "
                "in all; ask for the notebook alone")


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, entry: Entry,
                budget: Budget) -> None:
    """Read one member into entry.data, within MAX_FILE and what its archives may still unpack
    (the declared size is checked first, the bytes read after: a member may lie about it)."""
    if info.file_size > MAX_FILE:
        entry.problem = f"larger than {MAX_FILE >> 20} MB: not read"
        return
    short = budget.short(info.file_size)
    if short is not None:
        entry.problem = short.problem()
        return
    try:
        with archive.open(info) as handle:
            data = handle.read(MAX_FILE + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as err:
        entry.problem = f"damaged in the archive ({err})"
        return
    short = budget.short(len(data))
    if len(data) > MAX_FILE:
        entry.problem = f"larger than {MAX_FILE >> 20} MB: not read"
    elif short is not None:
        entry.problem = short.problem()
    else:
        budget.take(len(data))
        entry.data = data


def read_zip(archive: zipfile.ZipFile, origin: str, prefix: str, depth: int,
             budget: Budget) -> list[Entry]:
    entries = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        name = member_name(info)
        parts, escaped = safe_parts(name)
        if not parts:
            continue
        relative = prefix + "/".join(parts)
        if JUNK.search(relative):
            continue
        entry = Entry(relative, origin, None)
        try:
            entry.when = _zip_time(info)
        except ValueError:
            pass
        if escaped:
            entry.notes.append(f"the archive named this file {name!r}; it was read as "
                               f"{relative!r} (nothing is written outside the output folder)")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            entry.problem = "a symbolic link in the archive: not read"
        elif info.flag_bits & 0x1:
            entry.problem = "encrypted in the archive: not read"
        else:
            read_member(archive, info, entry, budget)
        if entry.data and relative.lower().endswith(".zip") and depth < MAX_ARCHIVE_DEPTH:
            try:
                with zipfile.ZipFile(io.BytesIO(entry.data)) as inner:
                    entries += read_zip(inner, origin, relative + "/", depth + 1,
                                        Budget(MAX_UNPACKED_INNER, relative, budget))
                continue
            except zipfile.BadZipFile:
                entry.problem = "a damaged zip inside the archive"
        entries.append(entry)
    return entries


def _zip_time(info: zipfile.ZipInfo) -> float:
    import datetime
    return datetime.datetime(*info.date_time).timestamp()


# --- naming --------------------------------------------------------------------------------------------

def student_id(text: str) -> str:
    """A file-system-safe id (letters, digits, '_', '.', '-'; other characters become '_')."""
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return re.sub(r"[^\w.-]+", "_", text).strip("_.")[:100] or "student"


def colab_base(file_name: str) -> tuple[str, int]:
    """('01_relu', 2) for 'Copy of 01_relu (2).ipynb': the name without Colab's and the LMS's
    decorations, and the copy number (0 for none)."""
    stem = PurePosixPath(file_name).name
    stem = re.sub(r"\.ipynb$", "", stem, flags=re.I)
    number = 0
    while True:
        match = COPY_NUMBER.search(stem)
        if not match:
            break
        number = max(number, int(match["paren"] or match["dash"]))
        stem = stem[:match.start()]
    stem = re.sub(r"^(Copy of |Kopie von |Copie de |Copia de )+", "", stem, flags=re.I)
    return stem.strip(), number


@dataclass
class Identity:
    """Whose file this is, read from the LMS's name of the top-level submission."""

    student: str
    name: str = ""
    notes: list = field(default_factory=list)
    review: str = ""
    lms: str = ""


def lms_names(top: str, convention: str) -> list[tuple[int, Identity]]:
    """The LMS conventions the top-level name fits: (where the student's own part starts, id)."""
    found = []
    match = MOODLE.match(top) if convention in ("auto", "moodle") else None
    if match:
        found.append((match.start("file"), Identity(student_id(match["student"]), match["name"],
                                                    lms="Moodle")))
    match = CANVAS.match(top) if convention in ("auto", "canvas") else None
    if match:
        notes = ["marked LATE by Canvas"] if match["late"] else []
        found.append((match.start("file"), Identity(student_id(match["student"]), match["name"],
                                                    notes, lms="Canvas")))
    return sorted(found, key=lambda item: item[0])


def identify(entry: Entry, convention: str, pattern: re.Pattern | None, common: int) -> Identity:
    """Who one file belongs to. Only the top-level name counts (the LMS names it; whatever is
    inside, file names or a zip's members, the student named). When the top-level name fits two
    LMS conventions the LMS's own prefix is the shorter one (it is prepended to the name the
    student chose), and the file is flagged for review."""
    parts = entry.path.split("/")
    if pattern is not None:
        match = pattern.search(entry.path)
        if match and match.groupdict().get("student"):
            return Identity(student_id(match["student"]), match.groupdict().get("name") or "")
    inner = parts[common:]
    found = lms_names(inner[0], convention)
    if found:
        identity = found[0][1]
        if len(found) > 1:
            identity.review = (
                f"the name {inner[0]!r} fits both Canvas's and Moodle's naming (ids "
                + " and ".join(f"{i.student} by {i.lms}" for _, i in found)
                + f"); graded as {identity.student}'s: check whose submission this is")
        return identity
    if convention in ("auto", "folders") and len(inner) > 1:
        return Identity(student_id(inner[0]), inner[0])
    return Identity(student_id(colab_base(inner[-1])[0]))  # 'alice (1).ipynb' is alice's too


def common_depth(entries: list[Entry], convention: str = "auto") -> int:
    """How many leading folders every file shares (a zip's single top folder, say); an LMS's
    name of a submission is never one of them, even when a download holds a single one."""
    if not entries:
        return 0
    split = [e.path.split("/")[:-1] for e in entries]
    depth = 0
    while all(len(s) > depth for s in split) and len({s[depth] for s in split}) == 1 \
            and not lms_names(split[0][depth], convention):
        depth += 1
    return depth


# --- collecting -------------------------------------------------------------------------------------------

def collect(sources, *, convention: str = "auto", pattern: str | None = None,
            unpack_to: Path | None = None) -> list[Submission]:
    """One Submission per student found in the sources (a dict {student: path} is taken as is)."""
    if convention not in CONVENTIONS:
        raise CollectError(f"unknown LMS convention {convention!r}; use one of {CONVENTIONS}")
    if isinstance(sources, dict):
        subs = []
        for student, path in sources.items():
            entry = read_file(Path(path), Path(path).name, str(Path(path).parent))
            subs.append(Submission(student, entry.path, entry.origin, entry.data, entry.notes,
                                   entry.problem))
        return _unpack(subs, unpack_to)
    regex = re.compile(pattern) if pattern else None
    entries = read_sources([Path(s) for s in sources])
    groups: dict[str, list] = {}
    by_origin: dict[str, list] = {}
    for entry in entries:
        by_origin.setdefault(entry.origin, []).append(entry)
    for origin, found in by_origin.items():
        common = common_depth(found, convention)
        for entry in found:
            identity = identify(entry, convention, regex, common)
            entry.notes += identity.notes
            groups.setdefault(identity.student, []).append((entry, identity))
    subs = [choose(student, items) for student, items in groups.items()]
    if not subs:
        raise CollectError("no submissions found in " + ", ".join(str(s) for s in sources))
    return _unpack(sorted(subs, key=lambda s: s.student), unpack_to)


def review_reason(student: str, identities: list[Identity]) -> str:
    """Why a person should check this student's row: an ambiguous name, or the id under two
    different student names (never resolved by silently keeping one of them)."""
    reasons = list(dict.fromkeys(i.review for i in identities if i.review))
    names = sorted({i.name for i in identities if i.name})
    if len(names) > 1:
        reasons.append(f"the student id {student} appears under {len(names)} names ("
                       + ", ".join(repr(n) for n in names) + "): check whose submission is graded")
    return "; ".join(reasons)


def choose(student: str, items: list) -> Submission:
    review = review_reason(student, [i for _, i in items])
    sub = choose_latest(student, [(e, i.name) for e, i in items])
    if review:
        sub.review = review
        sub.notes.append(review)
    return sub


def choose_latest(student: str, items: list) -> Submission:
    notebooks = [(e, n) for e, n in items if e.path.lower().endswith(".ipynb")]
    others = [e for e, _ in items if not e.path.lower().endswith(".ipynb")]
    name = next((n for _, n in items if n), "")
    if not notebooks:
        found = ", ".join(repr(PurePosixPath(e.path).name) for e in others)
        first = others[0]
        return Submission(student, first.path, first.origin, None, [], name=name,
                          problem=f"no .ipynb notebook in this submission (found {found}); ask "
                                  "the student for File > Download > Download .ipynb")

    def order(item):
        entry = item[0]
        return (entry.problem is None, entry.when or 0.0, colab_base(entry.path)[1], entry.path)

    notebooks.sort(key=order)
    chosen, _ = notebooks[-1]
    notes = list(chosen.notes)
    older = [e for e, _ in notebooks[:-1]]
    if older:
        notes.append(f"{len(notebooks)} notebooks from this student: graded the latest, "
                     f"{PurePosixPath(chosen.path).name!r}; not graded: "
                     + ", ".join(repr(PurePosixPath(e.path).name) for e in older))
    if others:
        notes.append("ignored (not notebooks): "
                     + ", ".join(repr(PurePosixPath(e.path).name) for e in others))
    return Submission(student, chosen.path, chosen.origin, chosen.data, notes, chosen.problem,
                      name)


def _unpack(subs: list[Submission], folder: Path | None) -> list[Submission]:
    """Copies of what is graded under folder/<student>/, with names that cannot escape it."""
    if folder is None:
        return subs
    folder = Path(folder).resolve()
    for sub in subs:
        if sub.data is None:
            continue
        target_dir = (folder / student_id(sub.student)).resolve()
        name = student_id(PurePosixPath(sub.file).name)
        name = name if name.lower().endswith(".ipynb") else name + ".ipynb"
        target = (target_dir / name).resolve()
        if not target.is_relative_to(folder):
            continue  # cannot happen with sanitised names; never write outside the folder
        target_dir.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != sub.data:
            target.write_bytes(sub.data)
        sub.saved_as = target
    return subs
