"""Everything a classification run reads before its first step, made once and kept in the workdir:
the train and dev splits, the label vocabulary (labels.json) and the tokenizer (tokenizer/spm.model)."""

from __future__ import annotations

import dataclasses
import os
import shutil

from absl import logging
import numpy as np

from textcls_jax import workdir as wd
from textcls_jax.data import sources
from textcls_jax.data import tokenizer as tok


@dataclasses.dataclass
class ClassificationData:
  train_texts: list[str]
  train_labels: np.ndarray  # int32 [N]
  dev_texts: list[str]
  dev_labels: np.ndarray  # int32 [M]
  labels: sources.LabelVocab
  tokenizer: tok.Tokenizer


def load_splits(data_cfg) -> tuple[sources.Examples, sources.Examples]:
  """The train and dev splits named by `config.data` (dev carved from train when eval_split='')."""
  read = lambda split: sources.load_split(
      data_cfg.source, split, text_field=data_cfg.text_field, label_field=data_cfg.label_field,
      tfds_data_dir=data_cfg.tfds_data_dir or None, encoding=data_cfg.encoding)
  train = read(data_cfg.train_split)
  if data_cfg.eval_split:
    return train, read(data_cfg.eval_split)
  return sources.carve_dev(train, data_cfg.dev_fraction, data_cfg.split_seed)


def label_vocab(train: sources.Examples, workdir: str) -> sources.LabelVocab:
  """The label vocabulary saved in the workdir, or inferred from train and saved there."""
  path = os.path.join(workdir, wd.LABELS)
  inferred = sources.LabelVocab.from_examples(train)
  if os.path.exists(path):
    saved = sources.LabelVocab.from_json(wd.read_json(path))
    if saved.names != inferred.names:
      raise sources.DataError(
          f'{path} holds labels {saved.names}, but {train.name} has {inferred.names}: this workdir '
          'belongs to another dataset; use a new --workdir')
    return saved
  wd.write_json(path, inferred.to_json())
  return inferred


def tokenizer_for(tok_cfg, texts, workdir: str) -> tok.Tokenizer:
  """The workdir's tokenizer: copied from tok_cfg.model_path, reused, or trained on `texts`."""
  path = os.path.join(workdir, wd.TOKENIZER)
  if not os.path.exists(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if tok_cfg.model_path:
      tok.Tokenizer(tok_cfg.model_path)  # Validate before copying it in.
      shutil.copyfile(tok_cfg.model_path, path + '.tmp')
      os.replace(path + '.tmp', path)
    else:
      tok.train_sentencepiece(texts, path, vocab_size=tok_cfg.vocab_size,
                              max_chars=tok_cfg.max_chars, model_type=tok_cfg.model_type,
                              seed=tok_cfg.seed)
  return tok.Tokenizer(path)


def prepare_classification(config, workdir: str) -> ClassificationData:
  train, dev = load_splits(config.data)
  vocab = label_vocab(train, workdir)
  tokenizer = tokenizer_for(config.tokenizer, train.texts, workdir)
  data = ClassificationData(train.texts, vocab.encode(train), dev.texts, vocab.encode(dev), vocab,
                            tokenizer)
  logging.info('Data: %d train / %d dev examples, %d classes %s, vocab %d', len(data.train_texts),
               len(data.dev_texts), len(vocab), vocab.names, tokenizer.vocab_size)
  return data
