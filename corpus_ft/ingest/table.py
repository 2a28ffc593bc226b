"""units.parquet: its Arrow schema, rows to a table, and an atomic write."""

from __future__ import annotations

import array
import hashlib
import itertools
import operator
from pathlib import Path

from corpus_ft.util import atomic_file

UNIT_COLUMNS = ["id", "path", "language", "kind", "name", "heading_path", "signature", "docstring", "text",
                "start_line", "end_line", "sha256", "parent", "file_sha256"]


def schema():
    import pyarrow as pa

    return pa.schema([("id", pa.string()), ("path", pa.string()), ("language", pa.string()),
                      ("kind", pa.string()), ("name", pa.string()), ("heading_path", pa.list_(pa.string())),
                      ("signature", pa.string()), ("docstring", pa.string()), ("text", pa.string()),
                      ("start_line", pa.int32()), ("end_line", pa.int32()), ("sha256", pa.string()),
                      ("parent", pa.string()), ("file_sha256", pa.string())])


def unit_id(path: str, u: dict) -> str:
    """Stable id: the same path, span, kind, name and text always give the same id."""
    key = f"{path}\0{u['start_line']}\0{u['end_line']}\0{u['kind']}\0{u['name']}\0{u['sha256']}"
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def units_table(rows: list[dict]):
    """Rows (dicts with every UNIT_COLUMNS key) to an Arrow table in the units.parquet schema.

    Columns are built from raw buffers, not with `pa.array`: that imports pandas, 0.4 s of CPU
    in every worker process, for a conversion these plain lists of str and int do not need.
    """
    import pyarrow as pa

    s = schema()
    if sum(len(r["text"]) for r in rows) > 2**28:  # int32 offsets hold 2 GiB, 4 bytes a character at most
        return pa.Table.from_pydict({c: [r[c] for r in rows] for c in UNIT_COLUMNS}, schema=s)
    columns = []
    for field in s:
        values = list(map(operator.itemgetter(field.name), rows))
        if field.type == pa.int32():
            columns.append(_ints(values))
        elif field.type == pa.string():
            columns.append(_strings(values))
        else:  # heading_path: a list of strings
            columns.append(pa.ListArray.from_arrays(_ints(_offsets(map(len, values))),
                                                    _strings([h for path in values for h in path])))
    return pa.Table.from_arrays(columns, schema=s)


def _offsets(lengths) -> array.array:
    return array.array("i", itertools.accumulate(lengths, initial=0))


def _ints(values: list[int]):
    import pyarrow as pa

    return pa.Array.from_buffers(pa.int32(), len(values), [None, pa.py_buffer(array.array("i", values))])


def _strings(values: list[str]):
    import pyarrow as pa

    data = list(map(str.encode, values))  # UTF-8
    return pa.Array.from_buffers(pa.string(), len(values),
                                 [None, pa.py_buffer(_offsets(map(len, data))), pa.py_buffer(b"".join(data))])


def by_path(tables: list):
    """One table with the files in path order; rows inside a file keep the order the worker gave.

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


def write_units(path: Path, table) -> None:
    """Write through a temp file and os.replace, so a reader never sees half a file."""
    import pyarrow.parquet as pq

    with atomic_file(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=["path", "language", "kind", "file_sha256"])


def read_units(path: Path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path).read()
