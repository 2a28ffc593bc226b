"""units.parquet: its Arrow schema, rows to column buffers to tables, and a writer that streams row groups.

Workers turn their rows into plain column buffers (`unit_columns`: bytes and int arrays, no
pyarrow, which would cost each worker 0.2 s to import); the main process wraps those buffers
as Arrow arrays without copying them (`columns_table`) and `UnitsWriter` writes them in path
order while the other chunks are still being parsed.
"""

from __future__ import annotations

import array
import bisect
import hashlib
import itertools
import operator
from pathlib import Path

UNIT_COLUMNS = [
    "id",
    "path",
    "language",
    "kind",
    "name",
    "heading_path",
    "signature",
    "docstring",
    "text",
    "start_line",
    "end_line",
    "sha256",
    "parent",
    "file_sha256",
    "category",
    # facts about code units (codefacts.py); documents hold the defaults below
    "params",
    "returns",
    "raises",
    "calls",
    "body_kind",
    "test",
    "doc_start_line",
    "doc_end_line",
    "blocks",
    "repo",
]
# A document unit's blocks as the parser saw them (`docs.BLOCK_TYPES`), in order, each with its exact
# 1-based inclusive source span; `text` is the block's text (a code block's code, without a fence),
# `lang` a code block's language, `name` a label's target or a front-matter key, `level` a heading's.
# Code units have none.
BLOCK_FIELDS = [
    ("type", "string"),
    ("text", "string"),
    ("start_line", "int32"),
    ("end_line", "int32"),
    ("lang", "string"),
    ("name", "string"),
    ("level", "int32"),
]
_INTS = {"start_line", "end_line", "doc_start_line", "doc_end_line"}
_LISTS = {"heading_path", "params", "raises", "calls"}
_BOOLS = {"test"}
# what a unit without the key holds (document units carry no code facts)
DEFAULTS = {"params": [], "returns": "", "raises": [], "calls": [], "body_kind": "", "test": False}
DEFAULTS.update(doc_start_line=0, doc_end_line=0, blocks=[], repo="")
_DICTIONARY = ["path", "language", "kind", "file_sha256", "category", "repo"]
_MAX_BUFFER = 2**31 - 1  # a string column with int32 offsets holds this many bytes


def schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("id", pa.string()),
            ("path", pa.string()),
            ("language", pa.string()),
            ("kind", pa.string()),
            ("name", pa.string()),
            ("heading_path", pa.list_(pa.string())),
            ("signature", pa.string()),
            ("docstring", pa.string()),
            ("text", pa.string()),
            ("start_line", pa.int32()),
            ("end_line", pa.int32()),
            ("sha256", pa.string()),
            ("parent", pa.string()),
            ("file_sha256", pa.string()),
            ("category", pa.string()),
            ("params", pa.list_(pa.string())),  # as written, one per parameter
            ("returns", pa.string()),  # the declared return type
            ("raises", pa.list_(pa.string())),  # raised or thrown (and Java's `throws`)
            ("calls", pa.list_(pa.string())),  # callees as written, in order, each once
            ("body_kind", pa.string()),  # "" | stub | abstract | generated
            ("test", pa.bool_()),  # a test inside a source file (`#[test]`, `#[cfg(test)]`, `@Test`)
            ("doc_start_line", pa.int32()),  # the doc comment's lines in the file; 0 when none
            ("doc_end_line", pa.int32()),
            ("blocks", pa.list_(block_type())),
            # the repository's name (ingest's `--name`, a recipe's `repos[].name`, else the directory's name);
            # last, so a reader that selects columns by name or position before it is unaffected
            ("repo", pa.string()),
        ]
    )


def block_type():
    import pyarrow as pa

    return pa.struct([(name, getattr(pa, kind)()) for name, kind in BLOCK_FIELDS])


def unit_id(path: str, u: dict) -> str:
    """Stable id: the same path, span, kind, name and text always give the same id."""
    key = f"{path}\0{u['start_line']}\0{u['end_line']}\0{u['kind']}\0{u['name']}\0{u['sha256']}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def unit_columns(rows: list[dict]) -> dict:
    """Rows (dicts with every UNIT_COLUMNS key; `text` as str or UTF-8 bytes) to column buffers.

    A string column is (int32 offsets, UTF-8 data), an int column its int32 array, `heading_path`
    (list offsets, string offsets, data); all plain bytes, so they pickle as a few memory copies.
    """
    columns = {"n": len(rows)}
    for name in UNIT_COLUMNS:
        if name in DEFAULTS:
            default = DEFAULTS[name]
            values = [r.get(name, default) for r in rows]
        else:
            values = list(map(operator.itemgetter(name), rows))
        if name in _INTS:
            columns[name] = array.array("i", values).tobytes()
        elif name in _BOOLS:
            columns[name] = bytes(map(bool, values))
        elif name in _LISTS:
            columns[name] = (_offsets(map(len, values)), *_string_buffers([h for path in values for h in path]))
        elif name == "blocks":
            flat = [b for blocks in values for b in blocks]
            fields = {}
            for field, kind in BLOCK_FIELDS:
                column = [b[field] for b in flat]
                fields[field] = array.array("i", column).tobytes() if kind == "int32" else _string_buffers(column)
            columns[name] = (_offsets(map(len, values)), len(flat), fields)
        else:
            columns[name] = _string_buffers(values)
    return columns


def _offsets(lengths) -> bytes:
    return array.array("i", itertools.accumulate(lengths, initial=0)).tobytes()


def _string_buffers(values: list) -> tuple[bytes, bytes]:
    try:
        data = list(map(str.encode, values))  # UTF-8
    except TypeError:  # the text column: code units hold bytes already
        data = [v if v.__class__ is bytes else v.encode("utf-8") for v in values]
    if sum(map(len, data)) > _MAX_BUFFER:
        raise OverflowError("a units column over 2 GiB")
    return _offsets(map(len, data)), b"".join(data)


def columns_table(columns: dict):
    """The Arrow table over `unit_columns` buffers (no copy)."""
    import pyarrow as pa

    s, n = schema(), columns["n"]
    arrays = []
    for field in s:
        value = columns[field.name]
        if field.name in _INTS:
            arrays.append(pa.Array.from_buffers(pa.int32(), n, [None, pa.py_buffer(value)]))
        elif field.name in _BOOLS:
            arrays.append(pa.Array.from_buffers(pa.uint8(), n, [None, pa.py_buffer(value)]).cast(pa.bool_()))
        elif field.name in _LISTS:
            offsets, string_offsets, data = value
            strings = _strings_array(len(string_offsets) // 4 - 1, string_offsets, data)
            arrays.append(
                pa.ListArray.from_arrays(
                    pa.Array.from_buffers(pa.int32(), n + 1, [None, pa.py_buffer(offsets)]), strings
                )
            )
        elif field.name == "blocks":
            offsets, count, fields = value
            children = [
                pa.Array.from_buffers(pa.int32(), count, [None, pa.py_buffer(fields[name])])
                if kind == "int32"
                else _strings_array(count, *fields[name])
                for name, kind in BLOCK_FIELDS
            ]
            structs = pa.StructArray.from_arrays(children, fields=list(block_type()))
            offsets_array = pa.Array.from_buffers(pa.int32(), n + 1, [None, pa.py_buffer(offsets)])
            arrays.append(pa.ListArray.from_arrays(offsets_array, structs, type=field.type))
        else:
            arrays.append(_strings_array(n, *value))
    return pa.Table.from_arrays(arrays, schema=s)


def _strings_array(n: int, offsets: bytes, data: bytes):
    import pyarrow as pa

    return pa.Array.from_buffers(pa.string(), n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def units_table(rows: list[dict]):
    """Rows to an Arrow table in the units.parquet schema."""
    try:
        return columns_table(unit_columns(rows))
    except OverflowError:  # over 2 GiB of text in one batch: let Arrow split it into chunks
        import pyarrow as pa

        def plain(v):
            return v.decode("utf-8") if isinstance(v, bytes) else v

        return pa.Table.from_pydict(
            {c: [plain(r.get(c, DEFAULTS.get(c))) for r in rows] for c in UNIT_COLUMNS}, schema=schema()
        )


def by_path(tables: list):
    """One table with the files in path order; rows inside a file keep the order they had.

    Each input table holds whole files, so the result is zero-copy slices, not a sort and take
    of every row (which copies all the text).
    """
    import pyarrow as pa

    runs = []  # (path, table index, offset, length)
    for i, table in enumerate(tables):
        paths = table["path"].to_pylist()
        start = 0
        for j in range(1, len(paths) + 1):
            if j == len(paths) or paths[j] != paths[start]:
                runs.append((paths[start], i, start, j - start))
                start = j
    runs.sort()
    if not runs:
        return units_table([])
    return pa.concat_tables([tables[i].slice(offset, length) for _, i, offset, length in runs])


class UnitsWriter:
    """Writes units.parquet in path order from chunks that finish in any order.

    Chunk i holds the units of a contiguous, path-ordered run of parsed files; `kept` holds the
    units of files reused from the previous run (path-sorted). `add(i, table)` writes every
    chunk whose predecessors are all in, merged with the kept files that sort before the next
    chunk, so the write overlaps the parsing; `close()` writes the rest. Row groups close at
    `group_rows`, so the file is the same whatever order the chunks finished in.
    """

    def __init__(self, path: Path, first_paths: list[str], kept=None, group_rows: int = 16384, repo: str = ""):
        self.path = path
        self.repo = repo  # every unit written carries it (workers leave the column empty)
        self.first_paths = first_paths  # first parsed path of each chunk, ascending
        self.kept = kept  # reused units, path-sorted, or None
        self.kept_paths = kept["path"].to_pylist() if kept is not None else []
        self.kept_at = 0
        self.pending: dict[int, object] = {}
        self.next = 0
        self.buffer, self.buffered = [], 0
        self.group_rows = group_rows
        self.tables = []  # everything written, in order (zero-copy), for the report
        self.writer = None  # opened at the first write: importing pyarrow.parquet overlaps the parsing

    def add(self, index: int, table) -> None:
        self.pending[index] = table
        while self.next in self.pending:
            table = self.pending.pop(self.next)
            self.next += 1
            # kept files sort among this chunk's files and up to the next chunk's first one
            end = (
                bisect.bisect_left(self.kept_paths, self.first_paths[self.next], lo=self.kept_at)
                if self.next < len(self.first_paths)
                else len(self.kept_paths)
            )
            if end > self.kept_at:
                table = by_path([self.kept.slice(self.kept_at, end - self.kept_at), table])
                self.kept_at = end
            self._emit(table)

    def close(self):
        """Write what is left; returns the whole table as written (zero-copy slices)."""
        import pyarrow as pa

        if self.pending:
            raise RuntimeError(f"chunks {sorted(self.pending)} arrived but chunk {self.next} never did")
        if self.kept_at < len(self.kept_paths):  # no file was parsed at all
            self._emit(self.kept.slice(self.kept_at))
        self._flush(final=True)
        self.writer.close()
        return pa.concat_tables(self.tables) if self.tables else units_table([])

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()

    def _emit(self, table) -> None:
        if not table.num_rows:
            return
        table = with_repo(table, self.repo)
        self.tables.append(table)
        self.buffer.append(table)
        self.buffered += table.num_rows
        if self.buffered >= self.group_rows:
            self._flush()

    def _flush(self, final: bool = False) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self.writer is None:
            self.writer = pq.ParquetWriter(self.path, schema(), compression="zstd", use_dictionary=_DICTIONARY)
        if self.buffer or (final and not self.tables):  # an empty run still writes a valid, empty file
            table = pa.concat_tables(self.buffer) if self.buffer else units_table([])
            self.writer.write_table(table, row_group_size=max(table.num_rows, 1))
            self.buffer, self.buffered = [], 0


def with_repo(table, repo: str):
    """`table` with every unit's `repo` set to `repo`."""
    import pyarrow as pa

    column = pa.array([repo] * table.num_rows, pa.string())
    if "repo" in table.column_names:
        return table.set_column(table.column_names.index("repo"), "repo", column)
    return table.append_column("repo", column)


def read_units(path: Path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read()
