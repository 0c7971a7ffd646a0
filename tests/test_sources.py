"""Data sources: local TSV/CSV/JSONL/text files (plain and gzipped), TFDS, labels, dev carving, and
the errors for bad input (each must name the file, the line and the field)."""

import gzip
import json
import logging
import os
import re

import pytest

from textcls_jax.data import sources
from textcls_jax.data.sources import DataError, Examples, LabelVocab

from conftest import SHARED_DATA

# ../shared/data beside the repository, as conftest finds it (present only on the project machines).
MR_POS = str(SHARED_DATA / 'mr' / 'rt-polarity.pos')


def write(path, content, gz=False):
  """Writes str (as UTF-8) or bytes to `path`, gzipped when `gz`; returns the path as a str."""
  data = content.encode('utf-8') if isinstance(content, str) else content
  path.parent.mkdir(parents=True, exist_ok=True)
  with (gzip.open if gz else open)(path, 'wb') as f:
    f.write(data)
  return str(path)


def load(spec, split='train', text_field='sentence', label_field='label', **kw):
  return sources.load_split(spec, split, text_field=text_field, label_field=label_field, **kw)


def raises(match_all, fn, *args, **kwargs):
  """Calls fn, expects a DataError whose message contains every string of `match_all`."""
  with pytest.raises(DataError) as info:
    fn(*args, **kwargs)
  message = str(info.value)
  for part in match_all:
    assert part in message, f'{part!r} not in {message!r}'
  return message


# --- Each local format reads correctly. ---


def test_tsv_keeps_bare_quotes(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\n'
               '"quoted" at the start\t1\n'
               'a 5" screen, and "half\t0\n'
               'ends with a quote "\t1\n')
  ex = load(f'tsv:{path}')
  assert ex.texts == ['"quoted" at the start', 'a 5" screen, and "half', 'ends with a quote "']
  assert ex.labels == ['1', '0', '1']
  assert ex.origins == [f'{path}:2', f'{path}:3', f'{path}:4']
  assert ex.label_names is None
  assert len(ex) == 3


def test_csv_standard_quoting_and_multiline_fields(tmp_path):
  path = write(tmp_path / 'a.csv', 'text,label\n'
               'plain,pos\n'                       # line 2
               '"with, a comma",neg\n'             # line 3
               '"spans\ntwo lines",pos\n'          # lines 4-5
               'after the long one,neg\n'          # line 6
               '"has ""escaped"" quotes",pos\n'    # line 7
               '"three\n\nlines, with a blank",neg\n'  # lines 8-10
               'last,pos\n')                       # line 11
  ex = load(f'csv:{path}', text_field='text')
  assert ex.texts == ['plain', 'with, a comma', 'spans\ntwo lines', 'after the long one',
                      'has "escaped" quotes', 'three\n\nlines, with a blank', 'last']
  assert ex.labels == ['pos', 'neg', 'pos', 'neg', 'pos', 'neg', 'pos']
  assert [o.rsplit(':', 1)[1] for o in ex.origins] == ['2', '3', '4', '6', '7', '8', '11']
  assert all(o.startswith(path + ':') for o in ex.origins)


def test_csv_bare_quote_in_unquoted_field_keeps_later_rows(tmp_path):
  # csv reads a quote inside an unquoted field literally; it must not open a multi-line field
  # (that once swallowed the rows after it without a word).
  path = write(tmp_path / 'a.csv', 'text,label\na 5" screen,1\ngood,0\nanother 2" thing,1\nlast,0\n')
  ex = load(f'csv:{path}', text_field='text')
  assert ex.texts == ['a 5" screen', 'good', 'another 2" thing', 'last']
  assert ex.labels == ['1', '0', '1', '0']
  assert ex.origins == [f'{path}:{i}' for i in (2, 3, 4, 5)]


def test_jsonl_string_and_int_labels(tmp_path):
  s = write(tmp_path / 's.jsonl', '{"text": "good", "label": "pos"}\n\n'
            '{"text": "bad \\"film\\"", "label": "neg", "extra": 1}\n')
  ex = load(f'jsonl:{s}', text_field='text')
  assert ex.texts == ['good', 'bad "film"']
  assert ex.labels == ['pos', 'neg']
  assert ex.origins == [f'{s}:1', f'{s}:3']  # The blank line 2 is skipped, numbering is not.
  i = write(tmp_path / 'i.jsonl', '{"text": "a", "label": 10}\n{"text": "b", "label": 2}\n')
  ex = load(f'jsonl:{i}', text_field='text')
  assert ex.labels == [10, 2]
  assert all(type(l) is int for l in ex.labels)


def test_jsonl_without_labels(tmp_path):
  path = write(tmp_path / 'a.jsonl', '{"text": "x"}\n{"text": "y"}\n')
  ex = load(f'jsonl:{path}', text_field='text', label_field='')
  assert ex.texts == ['x', 'y'] and ex.labels is None


def test_text_one_example_per_line(tmp_path):
  path = write(tmp_path / 'a.txt', 'first line\nsecond\tline with a tab\nthird, "quoted"\n')
  ex = load(f'text:{path}', text_field='', label_field='')
  assert ex.texts == ['first line', 'second\tline with a tab', 'third, "quoted"']
  assert ex.labels is None
  assert ex.origins == [f'{path}:1', f'{path}:2', f'{path}:3']


def test_text_last_line_without_newline(tmp_path):
  path = write(tmp_path / 'a.txt', 'one\ntwo')
  assert load(f'text:{path}', label_field='').texts == ['one', 'two']


FORMAT_SAMPLES = {
    'tsv': ('sentence\tlabel\nfine "film"\t1\nbad\t0\n', 'sentence', 'label',
            ['fine "film"', 'bad'], ['1', '0']),
    'csv': ('sentence,label\n"fine, film",1\n"bad\nfilm",0\n', 'sentence', 'label',
            ['fine, film', 'bad\nfilm'], ['1', '0']),
    'jsonl': ('{"s": "fine", "y": 1}\n{"s": "bad", "y": 0}\n', 's', 'y', ['fine', 'bad'], [1, 0]),
    'text': ('fine\nbad\n', '', '', ['fine', 'bad'], None),
}


@pytest.mark.parametrize('kind', sorted(FORMAT_SAMPLES))
def test_gzipped_files_read_like_plain_ones(tmp_path, kind):
  content, text_field, label_field, texts, labels = FORMAT_SAMPLES[kind]
  plain = write(tmp_path / f'a.{kind}', content)
  gz = write(tmp_path / f'a.{kind}.gz', content, gz=True)
  for path in (plain, gz):
    ex = load(f'{kind}:{path}', text_field=text_field, label_field=label_field)
    assert ex.texts == texts
    assert ex.labels == labels
    assert ex.origins[0] == f'{path}:{1 if kind in ("jsonl", "text") else 2}'


def test_glob_reads_files_in_sorted_order(tmp_path):
  for name, text in (('part-b.tsv', 'bee'), ('part-c.tsv', 'sea'), ('part-a.tsv', 'ay')):
    write(tmp_path / name, f'sentence\tlabel\n{text}\t1\n{text}2\t0\n')
  write(tmp_path / 'other.tsv', 'sentence\tlabel\nnot me\t1\n')
  ex = load(f'tsv:{tmp_path}/part-*.tsv')
  assert ex.texts == ['ay', 'ay2', 'bee', 'bee2', 'sea', 'sea2']
  assert ex.origins[0] == f'{tmp_path}/part-a.tsv:2'
  assert ex.origins[-1] == f'{tmp_path}/part-c.tsv:3'


def test_glob_mixing_plain_and_gzipped(tmp_path):
  write(tmp_path / 'x-1.txt', 'one\n')
  write(tmp_path / 'x-2.txt.gz', 'two\n', gz=True)
  assert load(f'text:{tmp_path}/x-*', label_field='').texts == ['one', 'two']


def test_directory_source_and_split_aliases(tmp_path):
  d = tmp_path / 'sst'
  write(d / 'train.tsv', 'sentence\tlabel\ntrain text\t1\n')
  write(d / 'dev.tsv', 'sentence\tlabel\ndev text\t0\n')
  assert load(f'tsv:{d}').texts == ['train text']
  for split in ('validation', 'dev', 'val'):
    ex = load(f'tsv:{d}', split)
    assert ex.texts == ['dev text'], split
    assert ex.origins == [f'{d}/dev.tsv:2']
    assert split in ex.name
  message = raises(["no files for split 'test'", f'{d}/test.tsv', f'{d}/test.tsv.gz'],
                   load, f'tsv:{d}', 'test')
  assert 'dev.tsv' not in message  # 'test' has no aliases.


def test_directory_source_gzipped_and_sharded(tmp_path):
  d = tmp_path / 'data'
  write(d / 'train-00001-of-00002.jsonl.gz', '{"t": "second", "l": 1}\n', gz=True)
  write(d / 'train-00000-of-00002.jsonl.gz', '{"t": "first", "l": 0}\n', gz=True)
  write(d / 'validation.json', '{"t": "val", "l": 1}\n')  # .json is a jsonl extension too.
  assert load(f'jsonl:{d}', text_field='t', label_field='l').texts == ['first', 'second']
  assert load(f'jsonl:{d}', 'dev', text_field='t', label_field='l').texts == ['val']


def test_directory_prefers_the_exact_split_name(tmp_path):
  d = tmp_path / 'data'
  write(d / 'validation.tsv', 'sentence\tlabel\nvalidation file\t1\n')
  write(d / 'dev.tsv', 'sentence\tlabel\ndev file\t1\n')
  assert load(f'tsv:{d}', 'dev').texts == ['dev file']
  assert load(f'tsv:{d}', 'validation').texts == ['validation file']


def test_split_pattern_source(tmp_path):
  write(tmp_path / 'train.csv', 'sentence,label\ntrain a,x\ntrain b,y\n')
  write(tmp_path / 'val.csv', 'sentence,label\nval a,x\n')
  spec = f'csv:{tmp_path}/{{split}}.csv'
  assert load(spec).texts == ['train a', 'train b']
  assert load(spec, 'validation').texts == ['val a']
  raises(["no files for split 'test'", f'{tmp_path}/test.csv'], load, spec, 'test')


def test_split_pattern_with_glob(tmp_path):
  write(tmp_path / 'train-0.txt', 'a\n')
  write(tmp_path / 'train-1.txt', 'b\n')
  assert load(f'text:{tmp_path}/{{split}}-*.txt', label_field='').texts == ['a', 'b']


def test_utf8_bom_on_line_one_is_dropped(tmp_path):
  tsv = write(tmp_path / 'a.tsv', '\ufeffsentence\tlabel\nx\t1\n')
  assert load(f'tsv:{tsv}').texts == ['x']  # The header's first column is found.
  csv_path = write(tmp_path / 'a.csv', '\ufeffsentence,label\ny,1\n')
  assert load(f'csv:{csv_path}').texts == ['y']
  txt = write(tmp_path / 'a.txt', '\ufefffirst\n\ufeffsecond keeps it\n')
  assert load(f'text:{txt}', label_field='').texts == ['first', '\ufeffsecond keeps it']
  jl = write(tmp_path / 'a.jsonl', '\ufeff{"text": "z", "label": 1}\n')
  assert load(f'jsonl:{jl}', text_field='text').texts == ['z']
  gz = write(tmp_path / 'b.tsv.gz', '\ufeffsentence\tlabel\nw\t1\n', gz=True)
  assert load(f'tsv:{gz}').texts == ['w']


def test_crlf_line_endings_are_stripped(tmp_path):
  tsv = write(tmp_path / 'a.tsv', 'sentence\tlabel\r\nfirst\t1\r\nsecond\t0\r\n')
  ex = load(f'tsv:{tsv}')
  assert ex.texts == ['first', 'second'] and ex.labels == ['1', '0']
  csv_path = write(tmp_path / 'a.csv', 'sentence,label\r\n"two\r\nlines",1\r\nnext,0\r\n')
  ex = load(f'csv:{csv_path}')
  assert ex.texts == ['two\nlines', 'next'] and ex.labels == ['1', '0']
  assert ex.origins == [f'{csv_path}:2', f'{csv_path}:4']
  txt = write(tmp_path / 'a.txt', 'one\r\ntwo\r\n')
  assert load(f'text:{txt}', label_field='').texts == ['one', 'two']
  jl = write(tmp_path / 'a.jsonl', '{"text": "j", "label": "a"}\r\n')
  assert load(f'jsonl:{jl}', text_field='text').labels == ['a']


# U+2026 is e2 80 a6, U+0085 is c2 85, U+2028 is e2 80 a8: str.splitlines would split at the last
# two, and a reader that split bytes on 0x85 would break the encoding of the first two.
ODD_TEXTS = ['wait\u2026 what', 'next \u0085 line', 'para\u2028graph', 'form\x0cfeed \x1d gs']


def test_odd_line_breaks_inside_utf8_do_not_split_examples(tmp_path):
  assert b'\x85' in '\u2026'.encode('utf-8') + '\u0085'.encode('utf-8')
  txt = write(tmp_path / 'a.txt', ''.join(t + '\n' for t in ODD_TEXTS))
  assert load(f'text:{txt}', label_field='').texts == ODD_TEXTS
  tsv = write(tmp_path / 'a.tsv', 'sentence\tlabel\n' + ''.join(f'{t}\t1\n' for t in ODD_TEXTS))
  assert load(f'tsv:{tsv}').texts == ODD_TEXTS
  csv_path = write(tmp_path / 'a.csv', 'sentence,label\n' + ''.join(f'"{t}",1\n' for t in ODD_TEXTS))
  ex = load(f'csv:{csv_path}')
  assert ex.texts == ODD_TEXTS
  assert ex.origins[-1] == f'{csv_path}:{len(ODD_TEXTS) + 1}'
  jl = write(tmp_path / 'a.jsonl', ''.join(
      json.dumps({'text': t, 'label': 1}, ensure_ascii=False) + '\n' for t in ODD_TEXTS))
  assert load(f'jsonl:{jl}', text_field='text').texts == ODD_TEXTS
  gz = write(tmp_path / 'b.txt.gz', ''.join(t + '\n' for t in ODD_TEXTS), gz=True)
  assert load(f'text:{gz}', label_field='').texts == ODD_TEXTS


def test_other_encoding(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\ncaf\xe9 \u201cquoted\u201d\t1\n'.encode('cp1252'))
  assert load(f'tsv:{path}', encoding='cp1252').texts == ['caf\xe9 \u201cquoted\u201d']


# --- Labels. ---


def test_label_vocab_int_labels_sort_numerically(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\na\t10\nb\t1\nc\t0\nd\t1\ne\t10\n')
  ex = load(f'tsv:{path}')
  vocab = LabelVocab.from_examples(ex)
  assert vocab.kind == 'int'
  assert vocab.names == ['0', '1', '10']  # Not '0', '1', '10' by luck: '10' < '2' as strings.
  assert len(vocab) == 3
  assert vocab.encode(ex).tolist() == [2, 1, 0, 1, 2]
  assert vocab.encode(ex).dtype.name == 'int32'
  assert [vocab.decode(i) for i in range(3)] == [0, 1, 10]
  assert all(type(vocab.decode(i)) is int for i in range(3))


def test_label_vocab_int_labels_numeric_not_string_order(tmp_path):
  path = write(tmp_path / 'a.jsonl', ''.join(
      json.dumps({'text': 't', 'label': l}) + '\n' for l in (10, 2, -1, 2)))
  ex = load(f'jsonl:{path}', text_field='text')
  vocab = LabelVocab.from_examples(ex)
  assert vocab.kind == 'int' and vocab.names == ['-1', '2', '10']
  assert vocab.encode(ex).tolist() == [2, 1, 0, 1]
  # Int labels read from a TSV (strings) encode with a vocabulary built from JSONL ints.
  tsv = write(tmp_path / 'dev.tsv', 'sentence\tlabel\nx\t10\ny\t-1\n')
  assert vocab.encode(load(f'tsv:{tsv}')).tolist() == [2, 0]


def test_label_vocab_string_labels_sort_alphabetically(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\na\tpos\nb\tneutral\nc\tneg\nd\tpos\n')
  ex = load(f'tsv:{path}')
  vocab = LabelVocab.from_examples(ex)
  assert vocab.kind == 'str'
  assert vocab.names == ['neg', 'neutral', 'pos']
  assert vocab.encode(ex).tolist() == [2, 1, 0, 2]
  assert vocab.decode(1) == 'neutral'


def test_label_vocab_mixed_digits_and_words_are_strings():
  ex = Examples(['a', 'b', 'c'], ['1', 'two', '10'], ['f:1', 'f:2', 'f:3'], 'mixed')
  vocab = LabelVocab.from_examples(ex)
  assert vocab.kind == 'str' and vocab.names == ['1', '10', 'two']


def test_label_vocab_json_round_trip():
  for names, kind in ((['0', '1', '10'], 'int'), (['neg', 'pos'], 'str')):
    vocab = LabelVocab(names, kind)
    back = LabelVocab.from_json(json.loads(json.dumps(vocab.to_json())))
    assert back.names == vocab.names and back.kind == vocab.kind
    assert [back.decode(i) for i in range(len(back))] == [vocab.decode(i) for i in range(len(vocab))]
    ex = Examples(['t'] * len(names), list(names), ['f:1'] * len(names), 'x')
    assert back.encode(ex).tolist() == vocab.encode(ex).tolist() == list(range(len(names)))


def test_label_vocab_bad_kind():
  with pytest.raises(ValueError):
    LabelVocab(['a'], 'float')


def test_label_vocab_unseen_label_names_origin_and_known_labels(tmp_path):
  train = write(tmp_path / 'train.tsv', 'sentence\tlabel\na\tpos\nb\tneg\n')
  dev = write(tmp_path / 'dev.tsv', 'sentence\tlabel\nc\tpos\nd\tmaybe\n')
  vocab = LabelVocab.from_examples(load(f'tsv:{train}'))
  raises([f'{dev}:3', "'maybe'", 'neg, pos'], vocab.encode, load(f'tsv:{dev}'))


def test_label_vocab_needs_labels(tmp_path):
  path = write(tmp_path / 'a.txt', 'x\n')
  raises(['no labels', 'data.label_field'], LabelVocab.from_examples,
         load(f'text:{path}', label_field=''))


# --- Dev carving. ---


def _examples(n):
  return Examples([f'text {i}' for i in range(n)], [i % 3 for i in range(n)],
                  [f'f.tsv:{i + 2}' for i in range(n)], 'f')


@pytest.mark.parametrize('n,fraction,n_dev', [(100, 0.1, 10), (57, 0.25, 14), (10, 0.01, 1)])
def test_carve_dev(n, fraction, n_dev):
  ex = _examples(n)
  train, dev = sources.carve_dev(ex, fraction, seed=3)
  train2, dev2 = sources.carve_dev(ex, fraction, seed=3)
  assert train.texts == train2.texts and dev.texts == dev2.texts  # Deterministic.
  assert len(dev) == n_dev and len(train) == n - n_dev
  assert not set(train.texts) & set(dev.texts)
  assert sorted(train.texts + dev.texts) == sorted(ex.texts)
  for part in (train, dev):  # Texts, labels and origins stay aligned, in the original order.
    idx = [int(t.split()[1]) for t in part.texts]
    assert idx == sorted(idx)
    assert part.labels == [i % 3 for i in idx]
    assert part.origins == [f'f.tsv:{i + 2}' for i in idx]
  assert 'dev' in dev.name and 'seed 3' in dev.name


def test_carve_dev_seed_changes_the_split():
  ex = _examples(100)
  dev_a = sources.carve_dev(ex, 0.2, seed=0)[1]
  dev_b = sources.carve_dev(ex, 0.2, seed=1)[1]
  assert dev_a.texts != dev_b.texts
  assert len(dev_a) == len(dev_b) == 20


def test_carve_dev_without_labels():
  ex = Examples(['a', 'b', 'c', 'd'], None, ['f:1', 'f:2', 'f:3', 'f:4'], 'f')
  train, dev = sources.carve_dev(ex, 0.5, seed=0)
  assert train.labels is None and dev.labels is None and len(train) == len(dev) == 2


@pytest.mark.parametrize('fraction', [0, 1, -0.1, 1.5])
def test_carve_dev_bad_fraction(fraction):
  raises(['data.dev_fraction', str(fraction)], sources.carve_dev, _examples(10), fraction, 0)


# --- Bad input: a DataError naming the file, the line and the field. ---


def test_missing_file(tmp_path):
  path = str(tmp_path / 'nope.tsv')
  raises(['file not found', path], load, f'tsv:{path}')


def test_missing_directory_split_pattern(tmp_path):
  raises(['no files for split', str(tmp_path / 'nope')], load, f'tsv:{tmp_path}/nope/{{split}}.tsv')


def test_empty_glob(tmp_path):
  pattern = f'{tmp_path}/*.tsv'
  raises(['no files match', pattern], load, f'tsv:{pattern}')


@pytest.mark.parametrize('kind', ['tsv', 'csv', 'jsonl', 'text'])
def test_empty_file(tmp_path, kind):
  path = write(tmp_path / f'empty.{kind}', b'')
  raises([path, 'file is empty'], load, f'{kind}:{path}', text_field='text',
         label_field='' if kind == 'text' else 'label')


def test_empty_gzipped_file(tmp_path):
  path = write(tmp_path / 'empty.tsv.gz', b'', gz=True)
  raises([path, 'file is empty'], load, f'tsv:{path}')


def test_not_a_gzip_file(tmp_path):
  path = write(tmp_path / 'a.tsv.gz', 'sentence\tlabel\nx\t1\n')
  raises([path, 'not a valid gzip file'], load, f'tsv:{path}')


@pytest.mark.parametrize('content', ['sentence\tlabel\n', 'sentence\tlabel', 'sentence\tlabel\n\n'])
def test_header_only_tsv(tmp_path, content):
  path = write(tmp_path / 'a.tsv', content)
  raises([path, 'no examples'], load, f'tsv:{path}')


def test_jsonl_with_only_blank_lines(tmp_path):
  path = write(tmp_path / 'a.jsonl', '\n  \n')
  raises([path, 'no examples'], load, f'jsonl:{path}', text_field='text')


def test_missing_text_column(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\nx\t1\n')
  raises([f'{path}:1', "no text column 'text'", "'sentence', 'label'"],
         load, f'tsv:{path}', text_field='text')


def test_missing_label_column(tmp_path):
  path = write(tmp_path / 'a.csv', 'text,polarity\nx,1\n')
  raises([f'{path}:1', "no label column 'label'", "'text', 'polarity'"],
         load, f'csv:{path}', text_field='text')


def test_ragged_tsv_row(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\nfine\t1\ntab\tinside\t0\nok\t1\n')
  raises([f'{path}:3', '3 fields', 'header has 2', 'sentence, label'], load, f'tsv:{path}')
  short = write(tmp_path / 'b.tsv', 'sentence\tlabel\nfine\t1\nno label\n')
  raises([f'{short}:3', '1 fields', 'header has 2'], load, f'tsv:{short}')


def test_ragged_csv_row_after_a_multiline_field(tmp_path):
  path = write(tmp_path / 'a.csv', 'text,label\n"two\nlines",1\nok,0\ncomma, not quoted,1\n')
  raises([f'{path}:5', '3 fields', 'header has 2', 'text, label'], load, f'csv:{path}',
         text_field='text')


def test_malformed_csv(tmp_path):
  path = write(tmp_path / 'a.csv', 'text,label\nok,1\n"quoted"junk,0\n')
  raises([f'{path}:3', 'malformed CSV'], load, f'csv:{path}', text_field='text')


def test_unterminated_csv_quote(tmp_path):
  path = write(tmp_path / 'a.csv', 'text,label\nok,1\n"never closed,0\nmore,1\n')
  raises([f'{path}:3', 'unterminated quoted CSV field'], load, f'csv:{path}', text_field='text')


def test_non_utf8_bytes(tmp_path):
  path = write(tmp_path / 'a.tsv', b'sentence\tlabel\nfine\t1\ncaf\xe9 \x93quoted\x94\t0\n')
  raises([f'{path}:3', 'not valid utf-8', '0xe9', 'iconv', 'data.encoding'], load, f'tsv:{path}')
  txt = write(tmp_path / 'a.txt', b'caf\xe9 \x93quoted\x94\n')
  raises([f'{txt}:1', 'not valid utf-8'], load, f'text:{txt}', label_field='')


def test_non_utf8_real_file():
  if not os.path.exists(MR_POS):
    pytest.skip(f'{MR_POS} not found (only on the project machines)')
  message = raises([MR_POS, 'not valid utf-8'], load, f'text:{MR_POS}', label_field='')
  assert re.search(re.escape(MR_POS) + r':\d+: ', message), message


def test_malformed_jsonl_line(tmp_path):
  path = write(tmp_path / 'a.jsonl', '{"text": "a", "label": 1}\n\n{"text": "b", "label": 1\n')
  raises([f'{path}:3', 'malformed JSON'], load, f'jsonl:{path}', text_field='text')


def test_jsonl_not_an_object(tmp_path):
  path = write(tmp_path / 'a.jsonl', '["text", 1]\n')
  raises([f'{path}:1', 'expected a JSON object', 'list'], load, f'jsonl:{path}', text_field='text')


def test_jsonl_missing_field(tmp_path):
  path = write(tmp_path / 'a.jsonl', '{"text": "a", "label": 1}\n{"text": "b", "y": 0}\n')
  raises([f'{path}:2', "no field 'label'", "'text', 'y'"], load, f'jsonl:{path}', text_field='text')
  raises([f'{path}:1', "no field 'sentence'", "'text', 'label'"], load, f'jsonl:{path}')


@pytest.mark.parametrize('line,what', [('{"text": 3, "label": 1}', "field 'text' is int"),
                                       ('{"text": "a", "label": true}', 'bool'),
                                       ('{"text": "a", "label": 1.0}', 'float'),
                                       ('{"text": "a", "label": null}', 'NoneType')])
def test_jsonl_bad_types(tmp_path, line, what):
  path = write(tmp_path / 'a.jsonl', line + '\n')
  raises([f'{path}:1', what], load, f'jsonl:{path}', text_field='text')


def test_jsonl_mixed_label_types(tmp_path):
  path = write(tmp_path / 'a.jsonl', '{"text": "a", "label": 1}\n{"text": "b", "label": "pos"}\n')
  raises(['mixed label types', f'{path}:1', f'{path}:2'], load, f'jsonl:{path}', text_field='text')


@pytest.mark.parametrize('spec', ['xml:foo', 'tsv:', 'no-colon', ':foo', 'TSV:foo'])
def test_bad_spec(spec):
  raises(['bad data source', repr(spec), 'tfds', 'jsonl'], load, spec)


def test_single_file_has_no_validation_split(tmp_path):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\nx\t1\n')
  raises([f'tsv:{path}', "'validation'", "data.eval_split=''"], load, f'tsv:{path}', 'validation')
  raises(["data.eval_split=''"], load, f'tsv:{tmp_path}/*.tsv', 'validation')


def test_text_files_have_no_labels(tmp_path):
  path = write(tmp_path / 'a.txt', 'x\n')
  raises([path, 'no labels'], load, f'text:{path}', label_field='label')


def test_empty_texts_are_kept_with_a_warning(tmp_path, caplog):
  path = write(tmp_path / 'a.tsv', 'sentence\tlabel\nfine\t1\n\t0\n   \t1\n')
  with caplog.at_level(logging.WARNING):
    ex = load(f'tsv:{path}')
  assert ex.texts == ['fine', '', '   ']
  assert ex.labels == ['1', '0', '1']
  warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
  assert any('2 empty text(s) kept' in w and f'{path}:3' in w for w in warnings), warnings


def test_empty_lines_of_text_files_are_kept(tmp_path, caplog):
  path = write(tmp_path / 'a.txt', 'one\n\nthree\n')
  with caplog.at_level(logging.WARNING):
    ex = load(f'text:{path}', label_field='')
  assert ex.texts == ['one', '', 'three']
  assert any('1 empty text(s) kept' in r.getMessage() and f'{path}:2' in r.getMessage()
             for r in caplog.records)


def test_no_warning_without_empty_texts(tmp_path, caplog):
  path = write(tmp_path / 'a.txt', 'one\ntwo\n')
  with caplog.at_level(logging.WARNING):
    load(f'text:{path}', label_field='')
  assert not any('empty text' in r.getMessage() for r in caplog.records)


# --- TFDS (mock data: no download; under mock_data, info.splits is empty). ---


@pytest.fixture(scope='module')
def tfds():
  return pytest.importorskip('tensorflow_datasets')


@pytest.mark.parametrize('split', ['train', 'validation'])
def test_tfds_glue_sst2(tfds, split):
  with tfds.testing.mock_data(num_examples=20):
    ex = load('tfds:glue/sst2', split)
  assert len(ex) == 20
  assert ex.label_names == ['negative', 'positive']
  assert set(ex.labels) <= {'negative', 'positive'}
  assert all(isinstance(t, str) for t in ex.texts)
  assert ex.origins[0] == f'tfds:glue/sst2[{split}] example 0'
  assert ex.name == f'tfds:glue/sst2 [{split}]'
  vocab = LabelVocab.from_examples(ex)  # The ClassLabel order is kept.
  assert vocab.names == ['negative', 'positive'] and vocab.kind == 'str'
  assert vocab.encode(ex).tolist() == [ex.label_names.index(l) for l in ex.labels]


def test_tfds_imdb_reviews(tfds):
  with tfds.testing.mock_data(num_examples=20):
    ex = load('tfds:imdb_reviews', text_field='text')
    texts_only = load('tfds:imdb_reviews', text_field='text', label_field='')
  assert len(ex) == 20
  assert ex.label_names == ['neg', 'pos']
  assert set(ex.labels) <= {'neg', 'pos'}
  assert texts_only.labels is None and texts_only.texts == ex.texts


def test_tfds_missing_feature(tfds):
  with tfds.testing.mock_data(num_examples=20):
    raises(['tfds:glue/sst2', "no text feature 'text'", "'sentence'", "'label'", "'idx'"],
           load, 'tfds:glue/sst2', text_field='text')
    raises(['tfds:imdb_reviews', "no label feature 'polarity'", "'text'", "'label'"],
           load, 'tfds:imdb_reviews', text_field='text', label_field='polarity')


def test_tfds_unknown_dataset(tfds):
  raises(['tfds:no_such_dataset_xyz', 'cannot open'], load, 'tfds:no_such_dataset_xyz')
