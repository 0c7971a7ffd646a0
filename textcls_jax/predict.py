"""Classify texts with a trained workdir.

  python -m textcls_jax.predict --workdir=runs/sst2_rnn --input=sentences.txt [--output=out.jsonl]
  echo "a gorgeous , witty film" | python -m textcls_jax.predict --workdir=runs/sst2_rnn

Input is one text a line (`--format=text`, the default), or a TSV/CSV/JSONL file with `--format` and
`--text_field`. Output is JSONL, one object a line:
  {"text": ..., "label": ..., "probabilities": {label: p, ...}}
Standard error gets one summary line (texts, time, texts/s, the checkpoint) and any warning or
error; --verbose adds the libraries' INFO logging (TensorFlow's, JAX's, Orbax's).
From Python:
  predictor = Predictor.from_workdir('runs/sst2_rnn')
  predictor.predict(['a gorgeous , witty film'])
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, NamedTuple, Sequence, Union

from absl import app
from absl import flags

from textcls_jax import failures


def probabilities(apply_fn, compiler_options: dict | None = None):
  """The compiled forward pass: (params, tokens int32 [B, T], token_types int32 [B, T] for
  sentence pairs or None) -> probabilities float32 [B, C].

  compiler_options: the model's (xla_options.for_step)."""
  import jax
  def forward(params, tokens, token_types=None):
    pairs = {} if token_types is None else {'token_types': token_types}
    return jax.nn.softmax(apply_fn({'params': params}, tokens, **pairs))
  return jax.jit(forward, compiler_options=compiler_options or None)


class Trained(NamedTuple):
  """A trained classifier as a workdir holds it."""
  config: Any  # ml_collections.ConfigDict: the workdir's config.json.
  tokenizer: Any  # data/tokenizer.py's, loaded from the workdir's tokenizer/.
  labels: Any  # data/sources.py's LabelVocab: labels.json.
  model: Any  # The Classifier (flax module) that the config builds (without adapters).
  params: dict  # Its parameters at `step`: {'encoder': {...}, 'head': {...}}, adapters merged.
  step: int


def restore(workdir: str, checkpoint: Union[str, int] = 'best') -> Trained:
  """A classification workdir's config, tokenizer, labels, model and the parameters of one
  checkpoint: 'best' (by the config's checkpoint.best_metric), 'latest', or a step number. Turns
  on the config's compilation cache first, as a run does.

  Raises NotServableError for a folder that is not a workdir, has no such checkpoint, or was not
  trained to classify; checkpoint.CheckpointError for a checkpoint that cannot be restored."""
  import ml_collections

  from textcls_jax import checkpoint as ckpt_lib
  from textcls_jax import compile_cache
  from textcls_jax import models
  from textcls_jax import train_state
  from textcls_jax import workdir as wd
  from textcls_jax.data import sources
  from textcls_jax.data import tokenizer as tok
  from textcls_jax.models import lora

  saved = wd.read_config(workdir)
  if saved is None:
    raise NotServableError(f'{workdir} is not a textcls-jax workdir (it has no {wd.CONFIG}): give '
                           'the --workdir a training run wrote')
  config = ml_collections.ConfigDict(saved)
  compile_cache.enable(config.get('compilation_cache', ''))
  tokenizer = tok.load(wd.join(workdir, wd.TOKENIZER_DIR))
  labels = sources.LabelVocab.from_json(wd.read_json(wd.join(workdir, wd.LABELS)))
  if config.get('task', 'classify') != 'classify':
    raise NotServableError(
        f'{workdir} was trained for {config.task!r} (pretraining), not classification: fine-tune '
        f'a classifier from it (init_from={workdir}) and predict with that workdir')
  model, init_inputs = models.build_for_task(config, tokenizer.vocab_size, len(labels),
                                             pad_id=tokenizer.special.pad)
  checkpoints = ckpt_lib.Checkpointer(wd.join(workdir, wd.CHECKPOINTS),
                                      best_metric=config.checkpoint.best_metric,
                                      best_mode=config.checkpoint.best_mode, read_only=True)
  try:
    if checkpoint == 'best':
      step = checkpoints.best_step()
    elif checkpoint == 'latest':
      step = checkpoints.latest_step()
    else:
      step = int(checkpoint) if str(checkpoint).isdigit() else None
    steps = checkpoints.all_steps()
    if step is None or step not in steps:
      raise NotServableError(
          f'{workdir} has no checkpoint {checkpoint} (it has {steps or "none yet"}): '
          + ('train it first' if not steps else "give --checkpoint='best', 'latest' or one of "
             'those steps'))
    item, _ = checkpoints.restore(
        step, train_state.abstract_checkpoint_item(config, model, init_inputs))
  finally:
    checkpoints.close()
  params = train_state.params_of(item)
  adapters = lora.from_config(config.get('finetune'))
  if adapters:  # Folded into the kernels: the plain encoder computes the same, and as fast.
    params = lora.merge(params, adapters)
    model, _ = models.build_for_task(config, tokenizer.vocab_size, len(labels),
                                     pad_id=tokenizer.special.pad, adapters=False)
  return Trained(config, tokenizer, labels, model, params, step)


class NotServableError(failures.UserError, ValueError):
  """A folder `restore` cannot serve: not a workdir, not trained to classify, or no such
  checkpoint."""


class Predictor:
  """A trained classifier loaded from a workdir: its config, tokenizer, labels and a checkpoint."""

  def __init__(self, config, tokenizer, labels, apply_fn, params, step: int):
    self.config, self.tokenizer, self.labels = config, tokenizer, labels
    self.step = step
    from textcls_jax import xla_options
    self._apply = probabilities(apply_fn, xla_options.for_step(config.model.name,
                                                                            training=False))
    self._params = params

  @classmethod
  def from_workdir(cls, workdir: str, checkpoint: Union[str, int] = 'best') -> 'Predictor':
    """checkpoint: 'best' (by the config's checkpoint.best_metric), 'latest', or a step number."""
    trained = restore(workdir, checkpoint)
    return cls(trained.config, trained.tokenizer, trained.labels, trained.model.apply,
               trained.params, trained.step)

  @property
  def pair_field(self) -> str:
    """The second text's field of a workdir trained on sentence pairs; '' for single texts."""
    return self.config.data.get('pair_field', '')

  def predict(self, texts: Sequence[str], batch_size: int = 256,
              pairs: Sequence[str] | None = None) -> list[dict]:
    """Texts -> one dict per text, in the input's order: label, and probabilities by label name.
    pairs: the second text of each example, for a workdir trained on sentence pairs (and only
    for one: ValueError otherwise).

    The texts are batched in order of length, so that a batch pads to the bucket of texts like
    its own and the forward pass compiles once per length bucket (and once per run, with the
    persistent compilation cache).
    """
    import numpy as np

    from textcls_jax.data import pipeline

    if (pairs is None) != (not self.pair_field):
      raise ValueError(
          f'this workdir classifies sentence pairs (data.pair_field={self.pair_field!r}): give '
          'the second texts too' if self.pair_field else
          'this workdir classifies single texts, not sentence pairs')
    if pairs is not None and len(pairs) != len(texts):
      raise ValueError(f'{len(texts)} texts but {len(pairs)} second texts')
    if not texts:
      return []
    lengths = [len(t) + (len(pairs[i]) if pairs is not None else 0) for i, t in enumerate(texts)]
    order = np.argsort(lengths, kind='stable')
    ds = pipeline.classification_dataset(
        [texts[i] for i in order], np.zeros(len(texts), np.int32), self.tokenizer,
        batch_size=batch_size, max_len=self.config.data.max_len,
        length_buckets=self.config.data.length_buckets, train=False,
        pairs=[pairs[i] for i in order] if pairs is not None else None)
    probs = []
    for batch in ds.as_numpy_iterator():
      p = np.asarray(self._apply(self._params, batch['tokens'], batch.get('token_types')))
      probs.append(p[batch['weight'] > 0])
    in_length_order = np.concatenate(probs)
    probs = np.empty_like(in_length_order)
    probs[order] = in_length_order
    return [{'label': self.labels.decode(int(p.argmax())),
             'probabilities': {name: round(float(x), 6) for name, x in zip(self.labels.names, p)}}
            for p in probs]


def _define_flags() -> None:
  """The CLI's flags, defined only when the CLI runs: importing `Predictor` next to
  `textcls_jax.main` (which defines --workdir too) must not raise DuplicateFlagError."""
  flags.DEFINE_string('workdir', None, 'A trained workdir.')
  flags.DEFINE_string('input', '-', "Input file ('-' reads standard input).")
  flags.DEFINE_string('output', '-', "Output JSONL file ('-' writes standard output).")
  flags.DEFINE_enum('format', 'text', ['text', 'tsv', 'csv', 'jsonl'], 'Input format.')
  flags.DEFINE_string('text_field', 'text', 'Text column/field for tsv/csv/jsonl.')
  flags.DEFINE_string('pair_field', '', "A sentence-pair workdir's second text column/field for "
                      "tsv/csv/jsonl ('': the field it was trained with, data.pair_field).")
  flags.DEFINE_string('checkpoint', 'best', "'best', 'latest' or a step number.")
  flags.DEFINE_integer('batch_size', 256, 'Texts per batch.')
  flags.DEFINE_bool('verbose', False, "Tracebacks with errors, and the libraries' INFO logging.")
  flags.mark_flag_as_required('workdir')


def _read_texts(path: str, fmt: str, text_field: str, pair_field: str = ''):
  """The input's texts, and with pair_field their second texts (else None)."""
  from textcls_jax.data import sources
  if pair_field and (path == '-' or fmt == 'text'):
    raise sources.DataError('this workdir classifies sentence pairs: give them as --format=tsv, '
                            'csv or jsonl with --text_field and --pair_field, in an --input file')
  if path == '-':
    return [line.rstrip('\r\n') for line in sys.stdin], None
  rows = [text for text, _, _ in sources.read_local_file(
      fmt, path, text_field if fmt != 'text' else '', '', pair_field=pair_field)]
  if pair_field:
    return [a for a, _ in rows], [b for _, b in rows]
  return rows, None


def main(argv):
  FLAGS = flags.FLAGS
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  from absl import logging
  logging.set_verbosity(logging.INFO if FLAGS.verbose else logging.WARNING)
  began = time.perf_counter()
  from textcls_jax import quiet
  quiet.import_tensorflow(verbose=FLAGS.verbose)  # TensorFlow sees no GPU from here on.
  if not FLAGS.verbose:
    quiet.quiet_library_logs()
  with failures.reported(verbose=FLAGS.verbose):
    _classify(FLAGS, began)


def _classify(FLAGS, began: float) -> None:
  from textcls_jax.data.sources import DataError
  predictor = Predictor.from_workdir(FLAGS.workdir, FLAGS.checkpoint)
  loaded = time.perf_counter()
  pair_field = FLAGS.pair_field or predictor.pair_field if predictor.pair_field else ''
  if FLAGS.pair_field and not predictor.pair_field:
    raise DataError(f'--pair_field: {FLAGS.workdir} classifies single texts, not pairs')
  texts, pairs = _read_texts(FLAGS.input, FLAGS.format, FLAGS.text_field, pair_field)
  read = time.perf_counter()
  results = predictor.predict(texts, FLAGS.batch_size, pairs=pairs)
  classified = time.perf_counter()
  lines = ''.join(json.dumps({'text': text, **({'pair': pairs[i]} if pairs is not None else {}),
                              **result}, ensure_ascii=False) + '\n'
                  for i, (text, result) in enumerate(zip(texts, results)))
  if FLAGS.output == '-':
    sys.stdout.write(lines)
  else:
    from textcls_jax import workdir as wd
    wd.atomic_write_text(FLAGS.output, lines)  # A local path or a URL.
  n, seconds = len(texts), classified - read
  print(f'Classified {n:,} text{"" if n == 1 else "s"} in {seconds:.2f} s '
        f'({n / max(seconds, 1e-9):,.0f} texts/s; {loaded - began:.1f} s to load {FLAGS.workdir} '
        f'at step {predictor.step})', file=sys.stderr)


def run():
  from textcls_jax import quiet
  quiet.quiet_native_logs(verbose='--verbose' in sys.argv, errors=False)
  _define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
