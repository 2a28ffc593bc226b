"""Walk a repository: honour .gitignore, skip vendored trees, never leave the root through a symlink."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from corpus_ft.ingest.config import IngestConfig

DOC_EXT = {
    ".md": "markdown",
    ".markdown": "markdown",
    ".mdown": "markdown",
    ".mkd": "markdown",
    ".mdx": "mdx",
    ".adoc": "asciidoc",  # AsciiDoc (Asciidoctor, Antora): read as Markdown once rewritten line for line
    ".asciidoc": "asciidoc",  # Markdown with JSX (Docusaurus, Nextra, Starlight): read as Markdown once its JSX is gone
    ".rst": "rst",
    ".rest": "rst",
    ".txt": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".pdf": "pdf",
    ".docx": "docx",
}
CODE_EXT = {
    ".py": "python",
    ".pyi": "python",
    ".pyw": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".java": "java",
    ".go": "go",
    ".c": "c",
    ".h": "c",
    ".cc": "cpp",
    ".cpp": "cpp",
    ".cxx": "cpp",
    ".c++": "cpp",
    ".hpp": "cpp",
    ".hh": "cpp",
    ".hxx": "cpp",
    ".h++": "cpp",
    ".ipp": "cpp",
    ".inl": "cpp",
    ".rs": "rust",
    ".rb": "ruby",
    ".cs": "csharp",
}
EXTENSIONS = {**DOC_EXT, **CODE_EXT}
# Extension-less files that are prose by convention.
TEXT_NAMES = {
    "readme",
    "changelog",
    "changes",
    "license",
    "licence",
    "notice",
    "authors",
    "contributing",
    "copying",
    "install",
    "news",
    "todo",
    "history",
}
VCS_DIRS = {".git", ".hg", ".svn", ".bzr"}
# Deeper directories are reported, not walked: every check of a path (ignore rules, excludes) reads the
# whole path, so a 2,000-level tree made the walk quadratic. Real repositories nest a few dozen levels.
MAX_DEPTH = 128


def language_for(rel: str) -> str | None:
    """The reader for a path by its name (content decides later whether it is binary)."""
    name = rel.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    if dot > 0:
        return EXTENSIONS.get(name[dot:].lower())
    return "text" if name.lower() in TEXT_NAMES else None


@dataclass(slots=True)
class Candidate:
    """A regular file inside the root that the walk kept; `language` None means 'sniff it'."""

    rel: str
    path: str
    size: int
    mtime_ns: int
    ino: int
    language: str | None


@dataclass
class WalkResult:
    files: list[Candidate]
    skipped: list[tuple[str, str, str]]  # (path, reason, detail); a pruned directory ends with "/"
    warnings: list[dict] = field(default_factory=list)  # {"path", "kind", "line", "message"}


def _spec(lines: list[str], source: str, warnings: list[dict]) -> pathspec.GitIgnoreSpec | None:
    """The patterns that compile; each one that does not is reported (source:line) and skipped.

    git itself ignores a pattern it cannot use, so one bad line must not stop a run.
    """
    good = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            pathspec.GitIgnoreSpec.from_lines([line])
        except Exception as e:  # noqa: BLE001 - pathspec raises its own error or re.error
            warnings.append(
                {
                    "path": source,
                    "kind": "bad_ignore_pattern",
                    "line": lineno,
                    "message": f"pattern {line!r} cannot be used ({e}); it was skipped - fix or remove it",
                }
            )
            continue
        good.append(line)
    return pathspec.GitIgnoreSpec.from_lines(good) if good else None


def _read_ignore(path: str, source: str, warnings: list[dict]) -> pathspec.GitIgnoreSpec | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return _spec(f.read().splitlines(), source, warnings)
    except OSError:
        return None


def is_run_dir(entries: list[os.DirEntry]) -> bool:
    """A directory corpus-ft wrote (a run: units.parquet or a manifest.json with a stage) is output, not input."""
    names = {e.name for e in entries}
    if "units.parquet" in names or "ingest_report.json" in names:
        return True
    if "manifest.json" not in names:
        return False
    try:
        with open(next(e.path for e in entries if e.name == "manifest.json"), "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return b'"stage"' in head and b'"versions"' in head


def _ignored(levels: list[tuple[str, pathspec.GitIgnoreSpec]], rel: str) -> bool:
    """git's rule: the deepest .gitignore that has an opinion about the path decides."""
    for prefix, spec in reversed(levels):
        result = spec.check_file(rel[len(prefix) :])
        if result.include is not None:
            return bool(result.include)
    return False


def walk(root: str | os.PathLike, config: IngestConfig, skip_dirs: tuple[str, ...] = ()) -> WalkResult:
    """List the files to read under `root` and every file or directory left out, with its reason."""
    root_real = os.path.realpath(root)
    warnings: list[dict] = []
    excludes = _spec(list(config.default_excludes) + list(config.exclude), "ingest.exclude", warnings)
    includes = _spec(list(config.include), "ingest.include", warnings)
    files: list[Candidate] = []
    skipped: list[tuple[str, str, str]] = []
    skip_ids = set()  # the output directory, known by (device, inode): a realpath per directory is O(depth)
    for d in skip_dirs:
        try:
            st = os.stat(d)
            skip_ids.add((st.st_dev, st.st_ino))
        except OSError:
            continue
    root_levels: list[tuple[str, pathspec.GitIgnoreSpec]] = []
    if config.use_gitignore:
        info = _read_ignore(os.path.join(root_real, ".git", "info", "exclude"), ".git/info/exclude", warnings)
        if info is not None:
            root_levels.append(("", info))
    # Directories are known by (device, inode): each is walked once, so links that point at each
    # other (a/tob -> ../b, b/toa -> ../a) end. Linked directories wait until every real one is
    # walked, so a file is listed under its real path rather than through a link.
    root_st = os.stat(root_real)
    seen: set[tuple[int, int]] = {(root_st.st_dev, root_st.st_ino)}
    # stacks of (directory on disk, its path relative to root with trailing "/", gitignore levels)
    stack: list[tuple[str, str, list]] = [(root_real, "", root_levels)]
    linked: list[tuple[str, str, list, str]] = []
    while stack or linked:
        if not stack:
            target, drel, lv, link_text = linked.pop()
            try:
                st = os.stat(target)
            except OSError as e:
                skipped.append((drel, "unreadable", e.strerror or str(e)))
                continue
            if (st.st_dev, st.st_ino) in seen:
                skipped.append((drel, "symlink_duplicate", f"{link_text}: that directory is already walked"))
                continue
            seen.add((st.st_dev, st.st_ino))
            stack.append((target, drel, lv))
        dir_path, dir_rel, levels = stack.pop()
        try:
            with os.scandir(dir_path) as it:
                entries = list(it)
        except OSError as e:
            skipped.append((dir_rel or "./", "unreadable", e.strerror or str(e)))
            continue
        if dir_rel and is_run_dir(entries):
            skipped.append((dir_rel, "run_directory", "written by corpus-ft (units.parquet or a stage manifest)"))
            continue
        if config.use_gitignore and any(e.name == ".gitignore" for e in entries):
            spec = _read_ignore(os.path.join(dir_path, ".gitignore"), dir_rel + ".gitignore", warnings)
            if spec is not None:
                levels = levels + [(dir_rel, spec)]
        for entry in entries:
            name = entry.name
            rel = dir_rel + name
            if not name.isprintable() or _undecodable(name):  # bytes that are no UTF-8, or a newline
                skipped.append((ascii(rel)[1:-1], "bad_file_name", "not printable UTF-8; rename it"))
                continue
            try:
                is_link = entry.is_symlink()
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError as e:
                skipped.append((rel, "unreadable", e.strerror or str(e)))
                continue
            if is_dir and name in VCS_DIRS:
                continue
            target = entry.path
            if is_link:
                target, reason = _resolve_link(entry.path, root_real)
                if reason:
                    skipped.append((rel + ("/" if os.path.isdir(entry.path) else ""), reason, _readlink(entry.path)))
                    continue
                if not config.follow_symlinks:
                    skipped.append((rel, "symlink", _readlink(entry.path)))
                    continue
                is_dir = os.path.isdir(target)
            if is_dir:
                drel = rel + "/"
                if _ignored(levels, drel):
                    skipped.append((drel, "gitignored", ""))
                elif excludes is not None and excludes.match_file(drel):
                    skipped.append((drel, "excluded", ""))
                elif drel.count("/") > MAX_DEPTH:
                    skipped.append((drel, "too_deep", f"more than {MAX_DEPTH} directory levels below the root"))
                elif _dir_id(target) in skip_ids:
                    skipped.append((drel, "excluded", "the output directory"))
                elif is_link and (dir_path == target or dir_path.startswith(target + os.sep)):
                    skipped.append((drel, "symlink_loop", _readlink(entry.path)))
                elif is_link:
                    linked.append((target, drel, levels, _readlink(entry.path)))
                else:
                    try:
                        st = entry.stat(follow_symlinks=False)
                    except OSError as e:
                        skipped.append((drel, "unreadable", e.strerror or str(e)))
                        continue
                    if (st.st_dev, st.st_ino) in seen:  # a bind mount of a directory already walked
                        skipped.append((drel, "symlink_loop", "the same directory as one already walked"))
                        continue
                    seen.add((st.st_dev, st.st_ino))
                    stack.append((target, drel, levels))
                continue
            if _ignored(levels, rel):
                skipped.append((rel, "gitignored", ""))
                continue
            if excludes is not None and excludes.match_file(rel):
                skipped.append((rel, "excluded", ""))
                continue
            if includes is not None and not includes.match_file(rel):
                skipped.append((rel, "not_included", ""))
                continue
            try:
                st = os.stat(target) if is_link else entry.stat(follow_symlinks=False)
            except OSError as e:
                skipped.append((rel, "unreadable", e.strerror or str(e)))
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append((rel, "not_regular_file", ""))
                continue
            files.append(Candidate(rel, target, st.st_size, st.st_mtime_ns, st.st_ino, language_for(rel)))
    files.sort(key=lambda c: c.rel)
    skipped.sort()
    return WalkResult(files, skipped, warnings)


def _readlink(path: str) -> str:
    """A link's text for the report; a link removed meanwhile (a live tree, /proc) reads as ""."""
    try:
        return os.readlink(path)
    except OSError:
        return ""


def _dir_id(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def check_output(repo: str | os.PathLike, out: str | os.PathLike) -> None:
    """Input and output may not contain each other: a run written over its repository reads itself back
    (its review page, its datasets) and a later write replaces what it reads. An output inside the
    repository is fine: the walk skips it. An output that holds another repository's run is refused."""
    import json

    from corpus_ft.util import CorpusFtError, contains

    if contains(out, repo):
        raise CorpusFtError(
            f"{out}: {'is' if os.path.realpath(out) == os.path.realpath(repo) else 'holds'} the repository "
            f"being ingested ({repo}); input and output may not contain each other - write the run to "
            "another directory (--out, --run-dir)"
        )
    try:
        recorded = json.loads((Path(out) / "manifest.json").read_text(encoding="utf-8"))
        recorded = recorded["inputs"]["repo"]["path"] if recorded.get("stage") == "ingest" else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        recorded = None
    if isinstance(recorded, str) and os.path.realpath(recorded) != os.path.realpath(repo):
        raise CorpusFtError(
            f"{out}: holds the run of {recorded}, not {os.path.realpath(repo)}; ingesting here would replace "
            "its units while its datasets, review and model still belong to the other repository. Use another "
            f"--out, or delete {out} first"
        )


def _undecodable(name: str) -> bool:
    try:
        name.encode("utf-8")
        return False
    except UnicodeEncodeError:
        return True


def _resolve_link(path: str, root_real: str) -> tuple[str, str]:
    """(real target, "") for a link that stays inside the root, else ("", the reason to skip it)."""
    try:
        real = os.path.realpath(path, strict=True)
    except OSError as e:
        return "", "symlink_loop" if e.errno == errno.ELOOP else "broken_symlink"
    if real != root_real and not real.startswith(root_real + os.sep):
        return "", "symlink_outside_root"
    return real, ""
