"""Splits made from one labelled file (cross-validation folds, a held-out test split) and the local
formats real datasets use: headerless CSV/TSV with columns by position, joined text columns, class
names for integer labels (AG News' layout), each with its bad-input errors."""

import collections

import numpy as np
import pytest

from textcls_jax import config_base
from textcls_jax.data import prepare
from textcls_jax.data import sources
from textcls_jax.data import splits
from textcls_jax.data.sources import DataError

from test_sources import load, raises, write

LABELS = ['a'] * 50 + ['b'] * 30 + ['c'] * 7


def test_folds_are_stratified_cover_every_example_once_and_are_balanced():
  folds = splits.stratified_fold_ids(LABELS, 10, seed=3)
  assert folds.dtype == np.int32 and sorted(set(folds)) == list(range(10))
  sizes = np.bincount(folds)
  assert sizes.max() - sizes.min() <= 1  # The dealing runs on across classes.
  for label, n in collections.Counter(LABELS).items():
    per_fold = np.bincount(folds[np.array(LABELS) == label], minlength=10)
    assert per_fold.max() - per_fold.min() <= 1, label


def test_folds_depend_only_on_the_labels_and_the_seed():
  a = splits.stratified_fold_ids(LABELS, 5, seed=0)
  assert (a == splits.stratified_fold_ids(list(LABELS), 5, seed=0)).all()
  assert (a != splits.stratified_fold_ids(LABELS, 5, seed=1)).any()
  # Integer and string labels of the same classes deal the same folds.
  ints = [{'a': 0, 'b': 1, 'c': 2}[l] for l in LABELS]
  assert (splits.stratified_fold_ids(ints, 5, 0) == splits.stratified_fold_ids(
      [str(i) for i in ints], 5, 0)).all()


def test_bad_fold_counts():
  with pytest.raises(ValueError, match='at least 2'):
    splits.stratified_fold_ids(LABELS, 1, 0)
  with pytest.raises(ValueError, match='3 examples cannot make 5 folds'):
    splits.stratified_fold_ids(['a', 'b', 'a'], 5, 0)


def test_holdout_takes_the_fraction_of_each_class():
  held = splits.stratified_holdout(LABELS, 0.2, seed=0)
  counts = collections.Counter(l for l, h in zip(LABELS, held) if h)
  assert counts == {'a': 10, 'b': 6, 'c': 1}
  assert (held == splits.stratified_holdout(LABELS, 0.2, seed=0)).all()
  assert (held != splits.stratified_holdout(LABELS, 0.2, seed=1)).any()


def _data_config(**keys):
  c = config_base.base_config()
  c.data.update(keys)
  return c.data


def test_cross_validation_folds_partition_the_file_and_dev_comes_from_the_training_folds(tmp_path):
  rows = [f'text {i}\t{"pos" if i % 3 else "neg"}' for i in range(60)]
  path = write(tmp_path / 'all.tsv', 'sentence\tlabel\n' + '\n'.join(rows) + '\n')
  tests = []
  for k in range(5):
    train, dev, test = prepare.load_splits(_data_config(
        source=f'tsv:{path}', eval_split='', cv_folds=5, cv_fold=k, dev_fraction=0.1))
    assert not set(test.texts) & (set(train.texts) | set(dev.texts))
    assert len(train) + len(dev) + len(test) == 60
    assert collections.Counter(test.labels) == {'pos': 8, 'neg': 4}  # Stratified.
    tests.append(set(test.texts))
  assert set().union(*tests) == {r.split('\t')[0] for r in rows}  # Every example is tested once.
  again = prepare.load_splits(_data_config(source=f'tsv:{path}', eval_split='', cv_folds=5,
                                           cv_fold=2, dev_fraction=0.1))
  assert set(again[2].texts) == tests[2]


def test_a_test_fraction_is_held_out_of_train_and_the_dev_split_stays(tmp_path):
  d = tmp_path / 'd'
  write(d / 'train.tsv', 'sentence\tlabel\n' + ''.join(f't{i}\t{i % 2}\n' for i in range(40)))
  write(d / 'dev.tsv', 'sentence\tlabel\nd0\t0\nd1\t1\n')
  train, dev, test = prepare.load_splits(_data_config(source=f'tsv:{d}', eval_split='dev',
                                                      test_fraction=0.25))
  assert len(test) == 10 and len(train) == 30 and dev.texts == ['d0', 'd1']
  assert collections.Counter(test.labels) == {'0': 5, '1': 5}
  assert not set(test.texts) & set(train.texts)


def test_headerless_csv_with_columns_by_position_and_joined_text(tmp_path):
  path = write(tmp_path / 'ag.csv', '"3","Wall St. Bears","Short-sellers are back."\n'
                                    '"4","New chip","It is ""fast""."\n')
  got = load(f'csv:{path}', text_field='1+2', label_field='0', header=False)
  assert got.texts == ['Wall St. Bears Short-sellers are back.', 'New chip It is "fast".']
  assert got.labels == ['3', '4'] and got.origins == [f'{path}:1', f'{path}:2']
  joined = load(f'csv:{path}', text_field='2+1', label_field='', header=False, text_join=' | ')
  assert joined.texts[0] == 'Short-sellers are back. | Wall St. Bears'


def test_joined_columns_by_name_in_tsv_and_jsonl(tmp_path):
  tsv = write(tmp_path / 'a.tsv', 'title\tbody\tlabel\nT\tB\tx\n')
  assert load(f'tsv:{tsv}', text_field='title+body').texts == ['T B']
  jsonl = write(tmp_path / 'a.jsonl', '{"title": "T", "body": "B", "label": 1}\n')
  assert load(f'jsonl:{jsonl}', text_field='title+body', text_join='. ').texts == ['T. B']


def test_headerless_column_out_of_range_names_file_line_and_width(tmp_path):
  path = write(tmp_path / 'ag.csv', '1,a,b\n2,c,d\n')
  raises([f'{path}:1', 'no text column 5', 'the rows have 3 columns (0 to 2)'],
         load, f'csv:{path}', text_field='1+5', label_field='0', header=False)


def test_headerless_column_by_name_is_refused(tmp_path):
  path = write(tmp_path / 'ag.csv', '1,a,b\n')
  raises([path, "label column 'label'", 'data.header=False', 'by position, from 0'],
         load, f'csv:{path}', text_field='1', label_field='label', header=False)


def test_headerless_row_of_another_width_names_both_lines(tmp_path):
  path = write(tmp_path / 'ag.tsv', '1\ta\tb\n2\tc\n')
  raises([f'{path}:2', '2 fields, but line 1 has 3'],
         load, f'tsv:{path}', text_field='1', label_field='0', header=False)


def test_a_joined_column_that_does_not_exist(tmp_path):
  path = write(tmp_path / 'a.csv', 'title,label\nT,1\n')
  raises([f'{path}:1', "no text column 'body'", "'title', 'label'"],
         load, f'csv:{path}', text_field='title+body')


def test_class_names_from_a_file_for_one_based_labels(tmp_path):
  d = tmp_path / 'ag'
  write(d / 'train.csv', '3,"a","b"\n1,"c","d"\n')
  classes = write(d / 'classes.txt', 'World\nSports\nBusiness\nSci/Tech\n\n')
  train = prepare.read_split(_data_config(
      source=f'csv:{d}', header=False, text_field='1+2', label_field='0',
      label_names_file=classes, label_index_base=1), 'train')
  assert train.labels == ['Business', 'World']
  vocab = sources.LabelVocab.from_examples(train)
  assert vocab.names == ['World', 'Sports', 'Business', 'Sci/Tech']  # The file's order, all four.


def test_class_names_from_the_config(tmp_path):
  path = write(tmp_path / 'train.tsv', 'sentence\tlabel\nx\t0\ny\t1\n')
  train = prepare.read_split(_data_config(source=f'tsv:{path}', label_names=('neg', 'pos')),
                             'train')
  assert train.labels == ['neg', 'pos'] and train.label_names == ['neg', 'pos']


def test_a_label_outside_the_named_classes_names_its_line(tmp_path):
  d = tmp_path / 'ag'
  write(d / 'train.csv', '1,a\n5,b\n')
  classes = write(d / 'classes.txt', 'World\nSports\n')
  config = _data_config(source=f'csv:{d}', header=False, text_field='1', label_field='0',
                        label_names_file=classes, label_index_base=1)
  raises([f'{d}/train.csv:2', 'label 5 is not a class index', f'{classes} names 2 classes, 1 to 2',
          'data.label_index_base=1'], prepare.read_split, config, 'train')


@pytest.mark.parametrize('content,message', [
    ('World\n\nSports\n', ':2: a blank class name'),
    ('World\nSports\nWorld\n', ":3: class name 'World' again (first at line 1)"),
    ('\n\n', 'no class names'),
])
def test_bad_class_name_files(tmp_path, content, message):
  path = write(tmp_path / 'classes.txt', content)
  raises([path, message], sources.read_label_names, path)


def test_the_ag_news_config_trains_from_its_command(tmp_path):
  """configs/ag_news_cnn.py on a small file of AG News' layout: headerless, quoted, 1-based."""
  import subprocess
  import sys
  from conftest import REPO
  d = tmp_path / 'ag_news_csv'
  topics = {1: 'election minister war', 2: 'match goal team', 3: 'shares profit market',
            4: 'chip software space'}
  rng = np.random.default_rng(0)
  rows = []
  for i in range(200):
    k = int(rng.integers(1, 5))
    rows.append(f'"{k}","Title {i} {topics[k].split()[i % 3]}","Some ""news"" about {topics[k]}"')
  write(d / 'train.csv', '\n'.join(rows) + '\n')
  write(d / 'classes.txt', 'World\nSports\nBusiness\nSci/Tech\n')
  workdir = tmp_path / 'run'
  result = subprocess.run(
      [sys.executable, '-m', 'textcls_jax.main', f'--config={REPO}/configs/ag_news_cnn.py',
       f'--workdir={workdir}', f'--config.data.source=csv:{d}/{{split}}.csv',
       f'--config.data.label_names_file={d}/classes.txt', '--config.tokenizer.vocab_size=60',
       '--config.data.dev_fraction=0.2', '--config.train.num_steps=30',
       '--config.train.batch_size=16'], cwd=REPO, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert "4 classes ['World', 'Sports', 'Business', 'Sci/Tech']" in result.stderr
  assert (workdir / 'plots' / 'confusion.png').exists()
