"""IngestConfig: what `corpus-ft ingest` reads, skips and caps (the `ingest:` block of a recipe)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

# Trees and files that are almost never the organisation's own prose or code. gitignore syntax;
# a recipe replaces the whole list with `default_excludes: [...]` (or `[]` to read everything).
DEFAULT_EXCLUDES = [
    "node_modules/",
    "bower_components/",
    "vendor/",
    "third_party/",
    "/dist/",
    "/build/",
    "/out/",
    "/target/",
    "__pycache__/",
    ".venv/",
    "venv/",
    ".tox/",
    ".nox/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    ".idea/",
    ".vscode/",
    ".next/",
    ".nuxt/",
    "coverage/",
    "site-packages/",
    "*.egg-info/",
    "*.min.js",
    "*.min.css",
    "*.min.mjs",
    "*.map",
    "*.bundle.js",
    "*-bundle.js",
    "*.pb.go",
    "*_pb2.py",
    "*.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "go.sum",
    "Cargo.lock",
    "poetry.lock",
    "Pipfile.lock",
    "composer.lock",
    "Gemfile.lock",
    "uv.lock",
]


class IngestConfig(BaseModel):
    """Walk, decode and size limits for ingestion; the defaults suit a real enterprise repository."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] = Field(
        default_factory=list,
        description=("gitignore-style globs; when given, only files matching one are read (e.g. 'docs/**', '*.py')."),
    )
    exclude: list[str] = Field(
        default_factory=list,
        description=("Extra gitignore-style globs to skip, on top of .gitignore and default_excludes."),
    )
    default_excludes: list[str] = Field(
        default_factory=lambda: list(DEFAULT_EXCLUDES),
        description=("Vendored and generated trees skipped by default; set to [] to read them too."),
    )
    use_gitignore: bool = Field(True, description="Honour .gitignore files (nested ones too) and .git/info/exclude.")
    follow_symlinks: bool = Field(
        True, description=("Follow symlinks whose target lies inside the repository (never outside it).")
    )
    max_file_bytes: int = Field(
        2_000_000,
        le=2**40,
        gt=0,
        description=("Files larger than this are skipped as too_large (generated dumps, data files)."),
    )
    max_line_length: int = Field(
        5_000,
        le=1_000_000_000,
        gt=0,
        description=("A file with a longer line is skipped as minified (bundles, one-line JSON blobs)."),
    )
    read_pdf: bool = Field(True, description="Read .pdf files with pypdf (one section per page).")
    read_docx: bool = Field(True, description="Read .docx files with python-docx (sections from Heading styles).")
    parallel_min_bytes: int = Field(
        1_000_000,
        le=2**50,
        ge=0,
        description=("Below this many bytes to parse, one process reads everything (starting workers costs more)."),
    )
    min_section_chars: int = Field(
        1,
        le=10_000_000,
        ge=0,
        description=("Document sections whose body (without the heading) is shorter than this are dropped."),
    )
