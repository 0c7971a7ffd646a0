"""Everything a classification run reads before its first step, made once and kept in the workdir:
the train and dev splits, the label vocabulary (labels.json) and the tokenizer (tokenizer/)."""

from __future__ import annotations

import dataclasses
from typing import Optional

from absl import logging
import numpy as np

from textcls_jax import workdir as wd
from textcls_jax.data import sources
from textcls_jax.data import splits
from textcls_jax.data import tokenizer as tok


@dataclasses.dataclass
class ClassificationData:
  train_texts: list[str]
  train_labels: np.ndarray  # int32 [N]
  dev_texts: list[str]
  dev_labels: np.ndarray  # int32 [M]
  labels: sources.LabelVocab
  tokenizer: tok.Tokenizer
  test_texts: Optional[list[str]] = None  # The held-out test split, when config.data makes one.
  test_labels: Optional[np.ndarray] = None  # int32 [K]
  # Sentence pairs (config.data.pair_field): the second text of each example; None for single
  # texts.
  train_pairs: Optional[list[str]] = None
  dev_pairs: Optional[list[str]] = None
  test_pairs: Optional[list[str]] = None


def read_split(data_cfg, split: str) -> sources.Examples:
  """One split of config.data's source, its integer labels named when the config names them."""
  examples = sources.load_split(
      data_cfg.source, split, text_field=data_cfg.text_field, label_field=data_cfg.label_field,
      tfds_data_dir=data_cfg.tfds_data_dir or None, encoding=data_cfg.encoding,
      header=data_cfg.header, text_join=data_cfg.text_join,
      pair_field=data_cfg.get('pair_field', ''))
  names, named_by = tuple(data_cfg.label_names), 'data.label_names'
  if data_cfg.label_names_file:
    names = sources.read_label_names(data_cfg.label_names_file, data_cfg.encoding)
    named_by = data_cfg.label_names_file
  if names and examples.labels is not None:
    examples = sources.name_labels(examples, names, data_cfg.label_index_base, named_by)
  return examples


def load_splits(data_cfg) -> tuple[sources.Examples, sources.Examples, Optional[sources.Examples]]:
  """The train, dev and test splits named by `config.data`: the test split (None without one) is
  held out of train_split first (a cross-validation fold, or test_fraction of it), then dev is
  eval_split or carved from what is left, so that neither training nor any decision sees it."""
  train = read_split(data_cfg, data_cfg.train_split)
  test = None
  seed = data_cfg.split_seed
  if data_cfg.cv_folds:
    folds = splits.stratified_fold_ids(train.labels, data_cfg.cv_folds, seed)
    k = data_cfg.cv_fold
    test = train.subset(np.flatnonzero(folds == k), f'{train.name} fold {k} of {data_cfg.cv_folds}')
    train = train.subset(np.flatnonzero(folds != k), f'{train.name} minus fold {k}')
  elif data_cfg.test_fraction:
    held = splits.stratified_holdout(train.labels, data_cfg.test_fraction, seed)
    test = train.subset(np.flatnonzero(held), f'{train.name} test {data_cfg.test_fraction:g}')
    train = train.subset(np.flatnonzero(~held), f'{train.name} minus test')
  if data_cfg.eval_split:
    return train, read_split(data_cfg, data_cfg.eval_split), test
  train, dev = sources.carve_dev(train, data_cfg.dev_fraction, seed)
  return train, dev, test


def label_vocab(train: sources.Examples, workdir: str) -> sources.LabelVocab:
  """The label vocabulary saved in the workdir, or the one inferred from train (not yet saved)."""
  path = wd.join(workdir, wd.LABELS)
  inferred = sources.LabelVocab.from_examples(train)
  if wd.exists(path):
    saved = sources.LabelVocab.from_json(wd.read_json(path))
    if saved.names != inferred.names:
      raise sources.DataError(
          f'{path} holds labels {saved.names}, but {train.name} has {inferred.names}: this workdir '
          'belongs to another dataset; use a new --workdir')
    return saved
  return inferred


def tokenizer_for(tok_cfg, texts, workdir: str, given: str) -> tok.Tokenizer:
  """The workdir's tokenizer (its tokenizer/ folder): reused, copied from `given` (init_from's
  tokenizer folder, or tok_cfg.model_path, a SentencePiece model; '' for none), made from
  tok_cfg.vocab_file (kind 'wordpiece'), or trained on `texts` as tok_cfg says."""
  folder = wd.join(workdir, wd.TOKENIZER_DIR)
  if tok.saved_in(folder):
    saved = tok.load(folder)
    if given and tok.from_source(given).fingerprint() != saved.fingerprint():
      raise tok.TokenizerError(f'{folder} differs from {given}: this workdir was made with '
                               'another tokenizer; use a new --workdir')
    return saved
  if given or tok_cfg.get('kind', 'sentencepiece') == 'wordpiece':
    # Read and checked before anything is written to the workdir.
    source = tok.from_source(given) if given else tok.wordpiece_from(tok_cfg.vocab_file)
    source.save(folder)
  else:
    tok.train_sentencepiece(texts, wd.join(workdir, wd.TOKENIZER), vocab_size=tok_cfg.vocab_size,
                            max_chars=tok_cfg.max_chars, model_type=tok_cfg.model_type,
                            seed=tok_cfg.seed, normalization=tok_cfg.normalization)
  return tok.load(folder)


def prepare_classification(config, workdir: str, tokenizer_path: str) -> ClassificationData:
  """tokenizer_path: the SentencePiece model to copy into a workdir that has none ('' trains one);
  see tokenizer_for."""
  # Everything is read and checked before the first file is written to the workdir.
  train, dev, test = load_splits(config.data)
  vocab = label_vocab(train, workdir)
  train_ids, dev_ids = vocab.encode(train), vocab.encode(dev)
  test_ids = vocab.encode(test) if test is not None else None
  # The tokenizer before labels.json: a bad tokenizer file is refused before the first file is
  # written.
  tokenizer = tokenizer_for(config.tokenizer, train.texts, workdir, tokenizer_path)
  labels_path = wd.join(workdir, wd.LABELS)
  if not wd.exists(labels_path):
    wd.write_json(labels_path, vocab.to_json())
  data = ClassificationData(train.texts, train_ids, dev.texts, dev_ids, vocab, tokenizer,
                            test.texts if test is not None else None, test_ids,
                            train.pairs, dev.pairs, test.pairs if test is not None else None)
  logging.info('Data: %d train / %d dev%s examples, %d classes %s, vocab %d',
               len(data.train_texts), len(data.dev_texts),
               f' / {len(test)} test' if test is not None else '', len(vocab), vocab.names,
               tokenizer.vocab_size)
  return data


def _task_texts(data_cfg, specs) -> dict[str, list[str]]:
  """The texts of the 'task:train' and 'task:dev' sources among `specs`: the train and dev splits
  of data.source exactly as a classification run with this data config makes them (its test
  split or cross-validation fold held out first, so that no pretraining reads it)."""
  wanted = [spec for spec in specs if spec in sources.TASK_TEXT_SOURCES]
  if not wanted:
    return {}
  train, dev, _ = load_splits(data_cfg)
  return {spec: {'task:train': train, 'task:dev': dev}[spec].texts for spec in wanted}


@dataclasses.dataclass
class PretrainingData:
  train_tokens: list[np.ndarray]  # One int32 [N_i] stream per source.
  weights: list[float]
  eval_tokens: np.ndarray  # int32 [M]
  tokenizer: tok.Tokenizer


def prepare_pretraining(config, workdir: str, tokenizer_path: str) -> PretrainingData:
  """Tokenizer (copied from tokenizer_path, or trained on the corpus, bounded) and the cached token
  streams of every source."""
  data_cfg = config.data
  specs = list(data_cfg.corpus_sources)
  if not specs:
    raise sources.DataError('data.corpus_sources is empty: name at least one unlabeled source')
  weights = list(data_cfg.corpus_weights) or [1.0] * len(specs)
  if len(weights) != len(specs):
    raise sources.DataError(f'data.corpus_weights has {len(weights)} entries for {len(specs)} '
                            'data.corpus_sources')
  read_args = dict(text_field=data_cfg.text_field, tfds_data_dir=data_cfg.tfds_data_dir or None,
                   encoding=data_cfg.encoding)
  from textcls_jax.data import corpus  # Imported here: classification runs do not need it.
  task_texts = _task_texts(data_cfg, specs + [data_cfg.corpus_eval])
  if (not tok.saved_in(wd.join(workdir, wd.TOKENIZER_DIR)) and not tokenizer_path
      and config.tokenizer.get('kind', 'sentencepiece') == 'sentencepiece'):
    budget = config.tokenizer.max_chars // len(specs)
    sample = [t for spec in specs for t in (
        task_texts[spec] if spec in task_texts else
        corpus.read_texts(spec, max_chars=budget, **read_args))]
  else:
    sample = []
  tokenizer = tokenizer_for(config.tokenizer, sample, workdir, tokenizer_path)
  cache = wd.join(workdir, wd.CORPUS_CACHE)
  # A training source's char limit is part of its cache key; the held-out source has none.
  def tokens_of(spec, **limit):
    if spec in task_texts:  # Small, and a pure function of the config: tokenized each start.
      return corpus.tokenize_to_array(iter(task_texts[spec]), tokenizer)
    return corpus.cached_token_array(spec, tokenizer, cache, **read_args, **limit)
  train_tokens = [tokens_of(spec, max_chars=data_cfg.corpus_max_chars) for spec in specs]
  if data_cfg.corpus_eval:
    eval_tokens = tokens_of(data_cfg.corpus_eval)
  else:  # Hold out the tail of the first source.
    first = train_tokens[0]
    cut = int(len(first) * (1 - data_cfg.dev_fraction))
    train_tokens[0], eval_tokens = first[:cut], first[cut:]
  logging.info('Corpus: %s training tokens from %d source(s), %s held-out tokens, vocab %d',
               f'{sum(len(t) for t in train_tokens):,}', len(specs), f'{len(eval_tokens):,}',
               tokenizer.vocab_size)
  return PretrainingData(train_tokens, weights, eval_tokens, tokenizer)
