"""Named data sources: TFDS datasets and local TSV/CSV/JSONL/plain-text files (gzipped or not).

A source is a spec string `KIND:LOCATION`:
  tfds:glue/sst2                      a TFDS dataset (splits by TFDS name: train, validation, ...)
  tsv:../shared/data/sst2             a folder holding `<split>.tsv` (or .tsv.gz, or `<split>-*.tsv*`)
  csv:data/{split}.csv                a pattern; `{split}` is replaced by the split name
  jsonl:data/reviews-*.jsonl.gz       a file or glob: the whole of it is the `train` split
  text:corpus.txt.gz                  one example per line, no labels
The split names `validation`, `dev` and `val` are aliases of each other for local files.

Labelled splits are read whole into memory: classification sets are small, reading them once lets every
bad row be reported with its file and line, and the pipeline needs their size (dev carving, exact
evaluation). Errors are `DataError`s whose message starts with `file:line:`.
"""

from __future__ import annotations

import csv
import dataclasses
import glob as globlib
import gzip
import itertools
import json
import os
import re
from typing import Iterator, Optional, Sequence

import numpy as np
from absl import logging

from textcls_jax import failures

LOCAL_KINDS = {'tsv': ('tsv',), 'csv': ('csv',), 'jsonl': ('jsonl', 'json'), 'text': ('txt', 'text')}
KINDS = ('tfds',) + tuple(LOCAL_KINDS)
# Unlabeled pretraining sources that name a split of the run's own labelled data (data.source, its
# test split or fold held out first): the texts of task-adaptive pretraining (Gururangan et al.,
# 2020; ULMFiT's second stage), which never include the test split.
TASK_TEXT_SOURCES = ('task:train', 'task:dev')
_SPLIT_ALIASES = (('validation', 'dev', 'val'),)
_INT_RE = re.compile(r'^[+-]?\d+$')


class DataError(failures.UserError, ValueError):
  """Bad input data or a bad data spec; the message names the file, line and field."""


@dataclasses.dataclass
class Examples:
  """One split of texts, with raw labels (str or int) where the source has them.

  `origins[i]` says where example i came from (`file:line`), for error messages.
  `label_names` is set when the source defines the label set itself (a TFDS ClassLabel).
  `pairs[i]`, for sentence-pair data (data.pair_field), is the second text of example i (BERT's
  segment B; `texts[i]` is segment A); None for single texts.
  """
  texts: list[str]
  labels: Optional[list]
  origins: list[str]
  name: str
  label_names: Optional[list[str]] = None
  pairs: Optional[list[str]] = None

  def __len__(self) -> int:
    return len(self.texts)

  def subset(self, indices: Sequence[int], name: str) -> 'Examples':
    return Examples(
        texts=[self.texts[i] for i in indices],
        labels=None if self.labels is None else [self.labels[i] for i in indices],
        origins=[self.origins[i] for i in indices], name=name, label_names=self.label_names,
        pairs=None if self.pairs is None else [self.pairs[i] for i in indices])


def parse_spec(spec: str) -> tuple[str, str]:
  kind, sep, location = spec.partition(':')
  if not sep or kind not in KINDS or not location:
    raise DataError(f"bad data source {spec!r}: expected KIND:LOCATION with KIND one of "
                    f"{', '.join(KINDS)} (e.g. 'tfds:glue/sst2', 'tsv:data/{{split}}.tsv')")
  return kind, location


def load_split(spec: str, split: str, *, text_field: str, label_field: str = '',
               tfds_data_dir: Optional[str] = None, encoding: str = 'utf-8', header: bool = True,
               text_join: str = ' ', pair_field: str = '') -> Examples:
  """Reads one split of a source. `label_field=''` reads texts only (labels None).

  Local files: `text_field` 'title+description' joins several columns (or JSON fields) with
  `text_join`; `header=False` reads CSV/TSV files without a header row, their columns named by
  position from 0 ('0', '1+2'). `pair_field` (a column, JSON field or TFDS feature, joined the
  same way) makes each example a sentence pair: `Examples.pairs` holds its second texts.
  """
  kind, location = parse_spec(spec)
  if kind == 'tfds':
    examples = _load_tfds(location, split, text_field, label_field, tfds_data_dir, pair_field)
  else:
    paths = resolve_local_files(kind, location, split)
    texts, labels, origins = [], [] if label_field else None, []
    pairs = [] if pair_field else None
    for path in paths:
      for text, label, origin in read_local_file(kind, path, text_field, label_field, encoding,
                                                 header=header, text_join=text_join,
                                                 pair_field=pair_field):
        if pairs is not None:
          text, second = text
          pairs.append(second)
        texts.append(text)
        origins.append(origin)
        if labels is not None:
          labels.append(label)
    if not texts:
      raise DataError(f'{", ".join(paths)}: no examples (only a header, or empty)')
    examples = Examples(texts, labels, origins, name=f'{spec} [{split}]', pairs=pairs)
  _check_label_types(examples)
  empty = sum(1 for t in examples.texts if not t.strip())
  if empty:
    logging.warning('%s: %d empty text(s) kept; they are classified from [CLS] alone '
                    '(first at %s)', examples.name, empty,
                    next(o for t, o in zip(examples.texts, examples.origins) if not t.strip()))
  logging.info('Read %d examples from %s', len(examples), examples.name)
  return examples


def _aliases(split: str) -> tuple[str, ...]:
  for group in _SPLIT_ALIASES:
    if split in group:
      return (split,) + tuple(a for a in group if a != split)
  return (split,)


def _expand(pattern: str) -> list[str]:
  if any(c in pattern for c in '*?['):
    return sorted(p for p in globlib.glob(pattern) if os.path.isfile(p))
  return [pattern] if os.path.isfile(pattern) else []


def resolve_local_files(kind: str, location: str, split: str) -> list[str]:
  """The files that hold `split` of a local source, or a DataError saying what was looked for."""
  exts = LOCAL_KINDS[kind]
  tried = []
  if '{split}' in location:
    for alias in _aliases(split):
      pattern = location.replace('{split}', alias)
      tried.append(pattern)
      if paths := _expand(pattern):
        return paths
  elif os.path.isdir(location):
    for alias in _aliases(split):
      for ext in exts:
        for pattern in (f'{alias}.{ext}', f'{alias}.{ext}.gz', f'{alias}-*.{ext}',
                        f'{alias}-*.{ext}.gz'):
          tried.append(os.path.join(location, pattern))
          if paths := _expand(tried[-1]):
            return paths
  else:
    paths = _expand(location)
    if not paths:
      what = 'no files match' if any(c in location for c in '*?[') else 'file not found:'
      raise DataError(f'{what} {location}')
    if split != 'train':
      raise DataError(
          f'{kind}:{location} is a single file set, which is the train split only; it has no '
          f"{split!r} split (set data.eval_split='' to carve a dev split from train)")
    return paths
  raise DataError(f'no files for split {split!r} of {kind}:{location}; looked for '
                  + ', '.join(tried))


def _open_lines(path: str) -> Iterator[bytes]:
  """Yields raw lines split on b'\\n' only (not on \\x85 or \\u2028, unlike str.splitlines)."""
  opener = gzip.open if path.endswith('.gz') else open
  try:
    with opener(path, 'rb') as f:
      yield from f
  except gzip.BadGzipFile as e:
    raise DataError(f'{path}: not a valid gzip file ({e})') from None


def _decode_lines(path: str, encoding: str) -> Iterator[tuple[int, str]]:
  """(line number, text) for each line, without the line ending; a BOM on line 1 is dropped."""
  any_line = False
  for lineno, raw in enumerate(_open_lines(path), start=1):
    any_line = True
    try:
      line = raw.decode(encoding)
    except UnicodeDecodeError as e:
      bad = raw[e.start:e.start + 1]
      raise DataError(
          f'{path}:{lineno}: not valid {encoding} (byte 0x{bad.hex()} at byte {e.start} of the '
          f'line); convert the file (e.g. iconv -f cp1252 -t utf-8) or set data.encoding') from None
    if lineno == 1:
      line = line.lstrip('\ufeff')
    yield lineno, line.rstrip('\n').rstrip('\r')
  if not any_line:
    raise DataError(f'{path}: file is empty')


def read_local_file(kind: str, path: str, text_field: str, label_field: str,
                    encoding: str = 'utf-8', *, header: bool = True, text_join: str = ' ',
                    pair_field: str = '') -> Iterator[tuple[object, object, str]]:
  """Yields (text, raw label or None, 'path:line') from one local file (see load_split); with
  `pair_field`, the text is a pair (first text, second text)."""
  if kind == 'text':
    if label_field or pair_field:
      raise DataError(f'{path}: text files hold one text a line and no labels or pairs; '
                      'use tsv/csv/jsonl for labelled data and sentence pairs')
    for lineno, line in _decode_lines(path, encoding):
      yield line, None, f'{path}:{lineno}'
  elif kind == 'jsonl':
    yield from _read_jsonl(path, text_field, label_field, encoding, text_join, pair_field)
  else:
    yield from _read_delimited(kind, path, text_field, label_field, encoding, header, text_join,
                               pair_field)


TEXT_FIELD_JOIN = '+'  # text_field 'title+description': several columns, joined into one text.


def _read_delimited(kind, path, text_field, label_field, encoding, header, text_join, pair_field):
  # TSV: no quoting (texts hold bare quotes); CSV: standard RFC-4180 quoting.
  reader_args = (dict(delimiter='\t', quoting=csv.QUOTE_NONE) if kind == 'tsv'
                 else dict(delimiter=','))
  lines = _decode_lines(path, encoding)
  if kind == 'csv':
    # Quoted CSV fields may span lines: let csv track lines, count them ourselves.
    rows = _csv_rows(path, lines, reader_args)
  else:
    rows = ((lineno, line.split('\t')) for lineno, line in lines)
  rows = ((lineno, row) for lineno, row in rows if row and row != [''])  # Blank lines hold nothing.
  first = next(rows, None)
  if first is None:
    return
  first_lineno, first_row = first
  if header:
    names = first_row
    def column(field, role):
      if field in names:
        return names.index(field)
      raise DataError(f'{path}:{first_lineno}: no {role} column {field!r}; the columns are: '
                      + ', '.join(repr(h) for h in names))
  else:
    rows = itertools.chain([first], rows)
    def column(field, role):
      if not _INT_RE.match(field) or int(field) < 0:
        raise DataError(f'{path}: {role} column {field!r}: with data.header=False columns are '
                        'named by position, from 0')
      if int(field) >= len(first_row):
        raise DataError(f'{path}:{first_lineno}: no {role} column {field}: the rows have '
                        f'{len(first_row)} columns (0 to {len(first_row) - 1})')
      return int(field)
  text_cols = [column(f, 'text') for f in text_field.split(TEXT_FIELD_JOIN)]
  pair_cols = [column(f, 'pair') for f in pair_field.split(TEXT_FIELD_JOIN)] if pair_field else []
  label_col = column(label_field, 'label') if label_field else None
  for lineno, row in rows:
    if len(row) != len(first_row):
      what = (f'the header has {len(first_row)} ({", ".join(first_row)})' if header
              else f'line {first_lineno} has {len(first_row)}')
      raise DataError(f'{path}:{lineno}: {len(row)} fields, but {what}')
    text = text_join.join(row[c] for c in text_cols)
    if pair_cols:
      text = (text, text_join.join(row[c] for c in pair_cols))
    yield text, row[label_col] if label_col is not None else None, f'{path}:{lineno}'


def _csv_rows(path, lines, reader_args):
  # One reader over the whole file: only a real quoted field spans lines. (Counting quotes per
  # line took a bare quote inside an unquoted field, which csv reads literally, as an open field,
  # and silently dropped the rows after it.)
  linenos, exhausted = [], []
  def feed():
    for lineno, line in lines:
      linenos.append(lineno)
      yield line + '\n'
    exhausted.append(True)
  reader = csv.reader(feed(), strict=True, **reader_args)
  start = 0
  while True:
    try:
      row = next(reader)
    except StopIteration:
      return
    except csv.Error as e:
      if exhausted:
        raise DataError(f'{path}:{linenos[start]}: unterminated quoted CSV field') from None
      raise DataError(f'{path}:{linenos[start]}: malformed CSV ({e})') from None
    yield linenos[start], row
    start = len(linenos)


def _read_jsonl(path, text_field, label_field, encoding, text_join, pair_field):
  text_fields = text_field.split(TEXT_FIELD_JOIN)
  pair_fields = pair_field.split(TEXT_FIELD_JOIN) if pair_field else []
  for lineno, line in _decode_lines(path, encoding):
    if not line.strip():
      continue
    try:
      obj = json.loads(line)
    except json.JSONDecodeError as e:
      raise DataError(f'{path}:{lineno}: malformed JSON ({e.msg} at column {e.colno})') from None
    if not isinstance(obj, dict):
      raise DataError(f'{path}:{lineno}: expected a JSON object, got {type(obj).__name__}')
    for field in text_fields + pair_fields + [label_field]:
      if field and field not in obj:
        raise DataError(f'{path}:{lineno}: no field {field!r}; the fields are: '
                        + ', '.join(repr(k) for k in obj))
      if field != label_field and not isinstance(obj[field], str):
        raise DataError(f'{path}:{lineno}: field {field!r} is {type(obj[field]).__name__}, '
                        'not a string')
    text = text_join.join(obj[f] for f in text_fields)
    if pair_fields:
      text = (text, text_join.join(obj[f] for f in pair_fields))
    label = obj[label_field] if label_field else None
    if label_field and not isinstance(label, (str, int)) or isinstance(label, bool):
      raise DataError(f'{path}:{lineno}: label field {label_field!r} is '
                      f'{type(label).__name__}; labels must be strings or integers')
    yield text, label, f'{path}:{lineno}'


def _load_tfds(name, split, text_field, label_field, data_dir, pair_field=''):
  import tensorflow_datasets as tfds  # Imported lazily: TF is heavy.

  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except Exception as e:  # tfds raises several types for unknown names.
    raise DataError(f'tfds:{name}: cannot open the TFDS dataset ({e})') from None
  features = builder.info.features
  for field, role in ((text_field, 'text'), (pair_field, 'pair'), (label_field, 'label')):
    if field and field not in features:
      raise DataError(f'tfds:{name}: no {role} feature {field!r}; the features are: '
                      + ', '.join(repr(k) for k in features))
  try:
    ds = builder.as_dataset(split=split, shuffle_files=False)
  except Exception as e:
    splits = ', '.join(builder.info.splits) or 'unknown'
    raise DataError(f'tfds:{name}: cannot read split {split!r} (splits: {splits}): {e}') from None
  texts, labels, origins = [], [] if label_field else None, []
  pairs = [] if pair_field else None
  def decoded(ex, field, i):
    try:
      return ex[field].decode('utf-8')
    except UnicodeDecodeError:
      raise DataError(f'tfds:{name}[{split}] example {i}: {field!r} is not UTF-8') from None
  for i, ex in enumerate(tfds.as_numpy(ds)):
    texts.append(decoded(ex, text_field, i))
    if pairs is not None:
      pairs.append(decoded(ex, pair_field, i))
    if labels is not None:
      labels.append(int(ex[label_field]))
    origins.append(f'tfds:{name}[{split}] example {i}')
  if not texts:
    raise DataError(f'tfds:{name}[{split}]: no examples')
  label_names = None
  if label_field and hasattr(features[label_field], 'names'):
    label_names = list(features[label_field].names)
    if any(not 0 <= l < len(label_names) for l in labels):
      bad = next(i for i, l in enumerate(labels) if not 0 <= l < len(label_names))
      raise DataError(f'{origins[bad]}: label {labels[bad]} is not a class of {label_field!r} '
                      '(hidden test labels are -1: that split cannot be evaluated)')
    labels = [label_names[l] for l in labels]
  return Examples(texts, labels, origins, name=f'tfds:{name} [{split}]', label_names=label_names,
                  pairs=pairs)


def _check_label_types(examples: Examples) -> None:
  if examples.labels is None:
    return
  kinds = {type(l) for l in examples.labels}
  if len(kinds) > 1:
    first_int = next(o for l, o in zip(examples.labels, examples.origins) if isinstance(l, int))
    first_str = next(o for l, o in zip(examples.labels, examples.origins) if isinstance(l, str))
    raise DataError(f'{examples.name}: mixed label types: integers (e.g. {first_int}) and strings '
                    f'(e.g. {first_str}); use one type in the label column')


def read_label_names(path: str, encoding: str = 'utf-8') -> list[str]:
  """Class names, one a line, in the order of their indices (AG News' classes.txt)."""
  names = [(lineno, line.strip()) for lineno, line in _decode_lines(path, encoding)]
  while names and not names[-1][1]:
    names.pop()  # Blank lines at the end.
  seen = {}
  for lineno, name in names:
    if not name:
      raise DataError(f'{path}:{lineno}: a blank class name')
    if name in seen:
      raise DataError(f'{path}:{lineno}: class name {name!r} again (first at line {seen[name]})')
    seen[name] = lineno
  if not names:
    raise DataError(f'{path}: no class names')
  return [name for _, name in names]


def name_labels(examples: Examples, names: Sequence[str], index_base: int,
                named_by: str) -> Examples:
  """Integer labels i -> names[i - index_base]; the class order is the names' order.

  named_by says where the names came from, for errors (a file, or 'data.label_names').
  """
  last = index_base + len(names) - 1
  labels = []
  for label, origin in zip(examples.labels, examples.origins):
    if isinstance(label, str) and _INT_RE.match(label.strip()):
      label = int(label)
    if not isinstance(label, int) or not index_base <= label <= last:
      raise DataError(f'{origin}: label {label!r} is not a class index: {named_by} names '
                      f'{len(names)} classes, {index_base} to {last} (data.label_index_base='
                      f'{index_base})')
    labels.append(names[label - index_base])
  return Examples(examples.texts, labels, examples.origins, examples.name, label_names=list(names),
                  pairs=examples.pairs)


def carve_dev(train: Examples, fraction: float, seed: int) -> tuple[Examples, Examples]:
  """Splits `fraction` of train off as a dev split, by a seeded permutation."""
  if not 0 < fraction < 1:
    raise DataError(f'data.dev_fraction must be in (0, 1), got {fraction}')
  order = np.random.default_rng(seed).permutation(len(train))
  n_dev = max(1, int(round(fraction * len(train))))
  dev_idx, train_idx = np.sort(order[:n_dev]), np.sort(order[n_dev:])
  return (train.subset(train_idx, f'{train.name} minus dev'),
          train.subset(dev_idx, f'{train.name} dev {fraction:g} seed {seed}'))


class LabelVocab:
  """Maps raw labels to ids 0..C-1. Integer labels sort numerically, strings alphabetically,
  unless the source names its classes (TFDS ClassLabel), whose order is kept."""

  def __init__(self, names: Sequence[str], kind: str):
    if kind not in ('int', 'str'):
      raise ValueError(f'label kind must be int or str, got {kind!r}')
    self.names = list(names)
    self.kind = kind
    self._index = {n: i for i, n in enumerate(self.names)}

  @classmethod
  def from_examples(cls, train: Examples) -> 'LabelVocab':
    if train.labels is None:
      raise DataError(f'{train.name}: no labels (set data.label_field)')
    if train.label_names is not None:
      return cls(train.label_names, 'str')
    values = set(train.labels)
    if all(isinstance(v, int) or _INT_RE.match(v) for v in values):
      ints = sorted({int(v) for v in values})
      return cls([str(v) for v in ints], 'int')
    return cls(sorted(str(v) for v in values), 'str')

  def _key(self, label) -> str:
    if self.kind == 'int' and isinstance(label, str) and _INT_RE.match(label):
      return str(int(label))
    return str(label)

  def encode(self, examples: Examples) -> np.ndarray:
    """Raw labels -> int32 [N] ids; a label not in the vocabulary is a DataError."""
    ids = np.empty(len(examples), np.int32)
    for i, (label, origin) in enumerate(zip(examples.labels, examples.origins)):
      index = self._index.get(self._key(label))
      if index is None:
        raise DataError(f'{origin}: label {label!r} never appears in the training split '
                        f'(its labels: {", ".join(self.names)})')
      ids[i] = index
    return ids

  def decode(self, index: int):
    name = self.names[index]
    return int(name) if self.kind == 'int' else name

  def __len__(self) -> int:
    return len(self.names)

  def to_json(self) -> dict:
    return {'names': self.names, 'kind': self.kind}

  @classmethod
  def from_json(cls, d: dict) -> 'LabelVocab':
    return cls(d['names'], d['kind'])
