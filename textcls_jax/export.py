"""Export a fine-tuned classifier to HuggingFace's format, for transformers and its users.

  python -m textcls_jax.export --workdir=runs/published_minilm --out=minilm_sst2 [--checkpoint=best]

A workdir whose encoder came from a published BERT-architecture checkpoint (init_from) holds
exactly what BertForSequenceClassification computes, so it is written as one: config.json,
model.safetensors (float32), and the WordPiece tokenizer as BertTokenizer reads it (vocab.txt,
tokenizer_config.json with our casing, accents, special tokens, and data.max_len as
model_max_length). Then, in transformers,
  pipeline('text-classification', model='minilm_sst2', top_k=None, truncation=True)
gives the labels and probabilities that `predict` gives (tests/test_export.py holds the two equal);
`truncation=True` because transformers truncates only when asked, where our pipeline always cuts a
text to data.max_len tokens.

The folder appears whole or not at all: it is written beside --out under a temporary name and
renamed into place. Refused in one line, with nothing written: an --out that exists and is not
empty, a workdir not trained to classify, a SentencePiece tokenizer (our own SentencePiece
encoders have no HF tokenizer class or architecture to export to), and a model that BERT's
architecture cannot express (models/hf_bert.py: bert_mismatches names the key).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from typing import Union

from absl import app
from absl import flags

from textcls_jax import failures

MODEL = 'model.safetensors'
HF_CONFIG = 'config.json'
VOCAB = 'vocab.txt'
TOKENIZER_CONFIG = 'tokenizer_config.json'


class ExportError(failures.UserError, ValueError):
  """A workdir or an output folder that cannot be exported to or from (one line)."""


def _check_out(out: str) -> None:
  from textcls_jax import workdir as wd
  if wd.is_remote(out):
    raise ExportError(f'{out}: --out must be a local folder (it is written whole, then renamed '
                      'into place)')
  if os.path.exists(out) and (not os.path.isdir(out) or os.listdir(out)):
    raise ExportError(f'{out} exists and is not an empty folder; choose another --out')


def _check_workdir(workdir: str) -> None:
  """The refusals that the workdir's config.json and tokenizer decide, before any checkpoint is
  read: the tokenizer before the model, since a SentencePiece workdir has no BERT to be."""
  from textcls_jax import workdir as wd
  from textcls_jax.data import tokenizer as tok
  from textcls_jax.models import hf_bert
  saved = wd.read_config(workdir)
  if saved is None:
    raise ExportError(f'{workdir}: not a textcls-jax workdir (no {wd.CONFIG})')
  task = saved.get('task', 'classify')
  if task != 'classify':
    raise ExportError(f'{workdir} was trained for {task!r}, not classification: only a '
                      'classifier exports (as BertForSequenceClassification)')
  try:
    tokenizer = tok.load(wd.join(workdir, wd.TOKENIZER_DIR))
  except tok.TokenizerError as e:
    raise ExportError(str(e)) from None
  if tokenizer.kind != 'wordpiece':
    raise ExportError(
        f'{workdir}: its tokenizer is {tokenizer.kind!r}; only WordPiece exports: our own '
        'SentencePiece encoders have no HF tokenizer class or architecture to export to')
  problems = hf_bert.bert_mismatches(saved.get('model', {}))
  if problems:
    raise ExportError(f'{workdir}: BertForSequenceClassification cannot express this model: '
                      + '; '.join(problems))


def tokenizer_files(tokenizer, max_len: int) -> dict:
  """A WordPiece tokenizer as BertTokenizer reads it: {file name: its text} (vocab.txt and
  tokenizer_config.json). max_len: the tokens a text is cut to ([CLS] and [SEP] included)."""
  import json
  specials = {f'{name}_token': token for name, token in tokenizer.special_tokens.items()}
  settings = dict(tokenizer_class='BertTokenizer', do_lower_case=tokenizer.lower_case,
                  strip_accents=tokenizer.strip_accents,
                  tokenize_chinese_chars=tokenizer.tokenize_chinese_chars,
                  model_max_length=int(max_len), **specials)
  return {VOCAB: ''.join(t + '\n' for t in tokenizer.tokens),
          TOKENIZER_CONFIG: json.dumps(settings, indent=2, sort_keys=True) + '\n'}


def export(workdir: str, out: str, checkpoint: Union[str, int] = 'best') -> tuple:
  """Writes the workdir's classifier at `checkpoint` ('best', 'latest' or a step) to the folder
  `out` in HuggingFace's format; returns (step, [file names written]). Raises ExportError (one
  line) with nothing written."""
  import json

  from safetensors.numpy import save_file

  from textcls_jax import checkpoint as ckpt_lib
  from textcls_jax import predict
  from textcls_jax.models import hf_bert

  if checkpoint not in ('best', 'latest') and not str(checkpoint).isdigit():
    raise ExportError(f"--checkpoint {checkpoint!r}: 'best', 'latest' or a step number")
  _check_out(out)
  _check_workdir(workdir)
  try:
    trained = predict.restore(workdir, checkpoint)
  except (FileNotFoundError, ValueError, ckpt_lib.CheckpointError) as e:
    raise ExportError(str(e)) from None
  keys = trained.config.model.to_dict()
  try:
    tensors = hf_bert.to_hf(trained.params, keys, trained.tokenizer.vocab_size,
                            len(trained.labels))
    config_json = hf_bert.hf_config(keys, trained.tokenizer.vocab_size, trained.labels.names,
                                    trained.tokenizer.special.pad)
  except hf_bert.HFCheckpointError as e:
    raise ExportError(f'{workdir}: {e}') from None
  files = {HF_CONFIG: json.dumps(config_json, indent=2, sort_keys=True) + '\n',
           **tokenizer_files(trained.tokenizer, trained.config.data.max_len)}

  parent = os.path.dirname(os.path.abspath(out))
  os.makedirs(parent, exist_ok=True)
  tmp = tempfile.mkdtemp(dir=parent, prefix=f'.{os.path.basename(os.path.abspath(out))}.')
  try:
    # 'pt': the format transformers asks a safetensors file's metadata to name.
    save_file(tensors, os.path.join(tmp, MODEL), metadata={'format': 'pt'})
    for name, text in files.items():
      with open(os.path.join(tmp, name), 'w', encoding='utf-8') as f:
        f.write(text)
    # mkdtemp's folder and safetensors' file are the user's alone; a model folder is not.
    os.chmod(tmp, 0o755)
    os.chmod(os.path.join(tmp, MODEL), 0o644)
    _check_out(out)  # Again: --out may have appeared while the files were written.
    os.replace(tmp, out)  # Onto nothing, or onto an empty folder: one rename.
  except BaseException:
    shutil.rmtree(tmp, ignore_errors=True)
    raise
  return trained.step, sorted([MODEL, *files])


def _define_flags() -> None:
  """The CLI's flags, defined only when the CLI runs (as predict's: importing `export` next to
  another entry point must not define --workdir twice)."""
  flags.DEFINE_string('workdir', None, 'A trained classification workdir.')
  flags.DEFINE_string('out', None, 'The folder to write (absent or empty).')
  flags.DEFINE_string('checkpoint', 'best', "'best', 'latest' or a step number.")
  flags.DEFINE_bool('verbose', False, "Tracebacks with errors, and the libraries' INFO logging.")
  flags.mark_flags_as_required(['workdir', 'out'])


def main(argv):
  FLAGS = flags.FLAGS
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  from absl import logging
  logging.set_verbosity(logging.INFO if FLAGS.verbose else logging.WARNING)
  from textcls_jax import quiet
  if not FLAGS.verbose:
    quiet.quiet_library_logs()
  with failures.reported(verbose=FLAGS.verbose):
    step, written = export(FLAGS.workdir, FLAGS.out, FLAGS.checkpoint)
  print(f'Exported {FLAGS.workdir} at step {step} as BertForSequenceClassification to '
        f'{FLAGS.out}: {", ".join(written)}')


def run():
  from textcls_jax import quiet
  quiet.quiet_native_logs(verbose='--verbose' in sys.argv, errors=False)
  _define_flags()
  app.run(main)


if __name__ == '__main__':
  run()
