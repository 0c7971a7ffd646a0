"""What differs between the objectives, gathered in one place: data, model, objective, metrics.

`build_experiment(config, workdir)` reads the data (making the tokenizer, labels and token caches in
the workdir on first use) and returns an `Experiment` that the training loop runs without knowing
which objective it is.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Iterable, Iterator, Optional

from textcls_jax import config_checks
from textcls_jax import masking
from textcls_jax import models
from textcls_jax import tasks
from textcls_jax import vocab
from textcls_jax.data import pipeline
from textcls_jax.data import prepare


@dataclasses.dataclass
class Experiment:
  model: object  # A Flax module.
  init_inputs: tuple  # Example inputs for model.init.
  objective: Callable  # (apply_fn, params, batch, rng, train) -> (loss, metric sums)
  summarize: Callable  # metric sums -> figures
  train_batches: Callable[[int], Iterator[dict]]  # start_step -> this host's batches
  eval_batches: Callable[[], Iterable[dict]]
  label_names: Optional[list] = None
  # The held-out test split (config.data.cv_folds or test_fraction), evaluated once at the end.
  test_batches: Optional[Callable[[], Iterable[dict]]] = None


def build_experiment(config, workdir: str, *, train_batch: int, eval_batch: int, num_hosts: int = 1,
                     host_id: int = 0, tokenizer_path: str) -> Experiment:
  """train_batch, eval_batch: this host's share of the global batches. tokenizer_path: the
  SentencePiece model a new workdir copies ('' trains one), as start.Checked.tokenizer_path says."""
  if config.task not in config_checks.TASKS:
    raise ValueError(f'unknown task {config.task!r}; choose from {", ".join(config_checks.TASKS)}')
  args = (config, workdir, tokenizer_path, train_batch, eval_batch, num_hosts, host_id)
  return _classification(*args) if config.task == 'classify' else _pretraining(*args)


def _classification(config, workdir, tokenizer_path, train_batch, eval_batch, num_hosts,
                    host_id) -> Experiment:
  data = prepare.prepare_classification(config, workdir, tokenizer_path)
  data_cfg = config.data
  model, init_inputs = models.build_for_task(config, data.tokenizer.vocab_size, len(data.labels),
                                             pad_id=data.tokenizer.special.pad)
  batch_args = dict(max_len=data_cfg.max_len, length_buckets=data_cfg.length_buckets,
                    num_hosts=num_hosts, host_id=host_id)
  def train_batches(start_step):
    return pipeline.classification_dataset(
        data.train_texts, data.train_labels, data.tokenizer, batch_size=train_batch,
        train=True, seed=config.seed, start_step=start_step,
        sort_window=data_cfg.sort_window_batches, pairs=data.train_pairs,
        **batch_args).as_numpy_iterator()
  evaluation = lambda texts, labels, pairs: pipeline.classification_dataset(
      texts, labels, data.tokenizer, batch_size=eval_batch, train=False, pairs=pairs,
      **batch_args).as_numpy_iterator
  return Experiment(
      model=model, init_inputs=init_inputs, objective=tasks.classification_objective,
      summarize=tasks.summarize_classification, train_batches=train_batches,
      eval_batches=evaluation(data.dev_texts, data.dev_labels, data.dev_pairs),
      label_names=data.labels.names,
      test_batches=(evaluation(data.test_texts, data.test_labels, data.test_pairs)
                    if data.test_texts is not None else None))


def pretraining_objective(config, vocab_size: int, max_predictions: int,
                          special: vocab.SpecialIds) -> tuple:
  """(objective, summarize) of config.task 'mlm' or 'rtd', masking with config.mlm's keys and
  scoring max_predictions positions a sequence; vocab_size and special: the tokenizer's."""
  masks = dict(vocab_size=vocab_size, special=special, rate=config.mlm.rate,
               mask_fraction=config.mlm.mask_fraction,
               random_fraction=config.mlm.random_fraction, max_predictions=max_predictions)
  if config.task == 'mlm':
    return functools.partial(tasks.mlm_objective, **masks), tasks.summarize_mlm
  return (functools.partial(tasks.rtd_objective, **masks,
                            discriminator_weight=config.rtd.discriminator_weight,
                            temperature=config.rtd.temperature), tasks.summarize_rtd)


def _pretraining(config, workdir, tokenizer_path, train_batch, eval_batch, num_hosts,
         host_id) -> Experiment:
  from textcls_jax.data import corpus
  data = prepare.prepare_pretraining(config, workdir, tokenizer_path)
  seq_len = config.data.seq_len
  vocab_size = data.tokenizer.vocab_size
  special = data.tokenizer.special
  model, init_inputs = models.build_for_task(config, vocab_size, pad_id=special.pad)
  objective, summarize = pretraining_objective(
      config, vocab_size, masking.num_predictions(seq_len, config.mlm.rate), special)
  def train_batches(start_step):
    return corpus.mlm_train_batches(
        data.train_tokens, data.weights, seq_len=seq_len, batch_size=train_batch,
        seed=config.seed, start_step=start_step, num_hosts=num_hosts, host_id=host_id)
  eval_batches = corpus.mlm_eval_batches(
      data.eval_tokens, seq_len=seq_len, batch_size=eval_batch,
      max_batches=config.eval.max_batches, num_hosts=num_hosts, host_id=host_id)
  return Experiment(
      model=model, init_inputs=init_inputs, objective=objective, summarize=summarize,
      train_batches=train_batches, eval_batches=lambda: eval_batches)
