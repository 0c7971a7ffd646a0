"""The tokenizer object: one interface, two kinds, saved in and loaded from a workdir folder.

A tokenizer carries its own special ids (`special`, a `vocab.SpecialIds`) and tokenizes inside
tf.data (`tf_tokenize`: tf.string [N] -> tf.RaggedTensor int32 [N, None], the pieces without
[CLS]/[SEP]). The models, masking, the objectives and the pipeline take the ids from the tokenizer
in use, never from module constants. The kinds:

- 'sentencepiece': a SentencePiece model that we train (or the user gives), ids
  <pad> 0, <unk> 1, [CLS] 2, [MASK] 3, no [SEP]; an input is `[CLS] pieces`. Saved as spm.model.
- 'wordpiece': a published BERT checkpoint's vocab.txt with HF BertTokenizer's normalization
  (`data/wordpiece.py`), ids [PAD] 0, [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103 for BERT's
  vocabularies; an input is `[CLS] pieces [SEP]`. Saved as vocab.txt and wordpiece.json.

Every SentencePiece model trained by the project has SentencePiece's special ids
(`vocab.SENTENCEPIECE`) and no BOS/EOS pieces; a model given by the user is checked for the same
layout.
"""

from __future__ import annotations

import os
import tempfile
from typing import Optional, Protocol, Sequence

import numpy as np

from absl import logging

from textcls_jax import failures
from textcls_jax import vocab
from textcls_jax import workdir as wd
from textcls_jax.data import wordpiece

# SentencePiece's own layout (textcls_jax.vocab): read by its training and checks only.
PAD_ID, UNK_ID, CLS_ID, MASK_ID = vocab.PAD_ID, vocab.UNK_ID, vocab.CLS_ID, vocab.MASK_ID
NUM_SPECIAL, SPECIAL_PIECES = vocab.NUM_SPECIAL, vocab.SPECIAL_PIECES
SENTENCEPIECE_MODEL = 'spm.model'  # The file of a saved SentencePiece tokenizer in its folder.
KINDS = ('sentencepiece', 'wordpiece')


class TokenizerError(failures.UserError, ValueError):
  """A tokenizer file that cannot be used."""


class Tokenizer(Protocol):
  """What every tokenizer kind offers."""
  kind: str
  special: vocab.SpecialIds

  @property
  def vocab_size(self) -> int: ...

  def tf_tokenize(self, texts): ...

  def encode(self, text: str) -> list[int]: ...

  def encode_batch(self, texts: list[str]) -> list[list[int]]: ...

  def id_to_piece(self, i: int) -> str: ...

  def fingerprint(self) -> bytes: ...

  def save(self, folder: str) -> None: ...


# SentencePiece's trainer skips input lines longer than this many bytes (its default
# max_sentence_length), so longer texts are cut into lines of at most this size.
_MAX_SENTENCE_BYTES = 4192


def _sentence_lines(text: str, max_bytes: int = _MAX_SENTENCE_BYTES) -> list[str]:
  """A whitespace-folded text as lines of at most `max_bytes` UTF-8 bytes, cut between words (and
  inside a word only where one word is longer than a line)."""
  if len(text.encode('utf-8')) <= max_bytes:
    return [text]
  step = max_bytes // 4  # Characters: one takes at most 4 bytes in UTF-8.
  lines, line, size = [], [], -1
  for word in text.split(' '):
    for part in (word[i:i + step] for i in range(0, len(word), step)):
      n = len(part.encode('utf-8'))
      if line and size + 1 + n > max_bytes:
        lines.append(' '.join(line))
        line, size = [], -1
      line.append(part)
      size += 1 + n
  return lines + [' '.join(line)]


def train_sentencepiece(texts: Sequence[str], output_path: str, *, vocab_size: int,
                        max_chars: int = 10_000_000, model_type: str = 'unigram',
                        character_coverage: float = 0.9995, seed: int = 0,
                        normalization: str = 'nmt_nfkc') -> str:
  """Trains a SentencePiece model on at most `max_chars` characters of `texts`.

  The texts are taken in an order shuffled by `seed` (so a bounded sample is not just the head of
  the file), which makes the model a deterministic function of (texts, seed, sizes).

  The model is written atomically to `output_path` (a temporary file is renamed into place), so
  an interrupted run never leaves a half-written tokenizer behind.
  `normalization` is SentencePiece's normalization rule; 'nmt_nfkc_cf' also folds case (the rule
  is stored in the model, so every later encoding, in Python or in tf.data, applies it).
  Returns `output_path`.
  """
  import sentencepiece as spm  # Imported here: only training needs the Python trainer.

  with tempfile.TemporaryDirectory() as tmp:
    corpus = os.path.join(tmp, 'corpus.txt')
    chars = 0
    lines = 0
    with open(corpus, 'w', encoding='utf-8') as f:
      for i in np.random.default_rng(seed).permutation(len(texts)):
        text = texts[i]
        # SentencePiece reads one sentence a line: fold internal newlines.
        text = ' '.join(text.split())
        if not text:
          continue
        # A text longer than a SentencePiece line goes in as several lines: written as one, it
        # would be skipped by the trainer after using up the max_chars budget (a single 1 MB text
        # first in the sample left the trainer with no sentences at all).
        f.writelines(line + '\n' for line in _sentence_lines(text))
        chars += len(text)
        lines += 1
        if chars >= max_chars:
          break
    if lines == 0:
      raise TokenizerError('cannot train a SentencePiece model: the training texts are all empty')
    prefix = os.path.join(tmp, 'spm')
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=vocab_size, model_type=model_type,
        character_coverage=character_coverage, normalization_rule_name=normalization,
        pad_id=PAD_ID, unk_id=UNK_ID, bos_id=-1,
        eos_id=-1, user_defined_symbols=list(SPECIAL_PIECES[CLS_ID:]),
        # A small corpus cannot fill a large vocabulary; take what it has instead of failing.
        hard_vocab_limit=False, input_sentence_size=0, shuffle_input_sentence=False,
        num_threads=os.cpu_count() or 1, minloglevel=2)
    # The model records its trainer's input and output paths, which lie in the random temporary
    # folder: clear them, or the same (texts, seed, sizes) would give different bytes every run.
    from sentencepiece import sentencepiece_model_pb2
    with open(prefix + '.model', 'rb') as src:
      proto = sentencepiece_model_pb2.ModelProto.FromString(src.read())
    proto.trainer_spec.ClearField('input')
    proto.trainer_spec.ClearField('model_prefix')
    if model_type == 'word':
      # The word trainer also makes a word of each user symbol ('▁[CLS]' after '[CLS]'), which
      # would push the special pieces off their fixed ids: drop those words.
      words = {'\u2581' + piece for piece in SPECIAL_PIECES}
      kept = [piece for piece in proto.pieces if piece.piece not in words]
      del proto.pieces[:]
      proto.pieces.extend(kept)
    wd.atomic_write_bytes(output_path, proto.SerializeToString())  # Local or a URL.
  logging.info('Trained a SentencePiece model (%s, vocab %d) on %d texts, %d characters: %s',
               model_type, vocab_size, lines, chars, output_path)
  return output_path


class SentencePieceTokenizer:
  """A loaded SentencePiece model, usable from Python and inside tf.data graphs."""
  kind = 'sentencepiece'
  special = vocab.SENTENCEPIECE

  def __init__(self, model_path: str):
    import sentencepiece as spm

    self.path = model_path
    if not wd.exists(model_path):
      raise TokenizerError(f'{model_path}: tokenizer file not found')
    self.model_proto = wd.read_bytes(model_path)
    self._sp = spm.SentencePieceProcessor()
    try:
      self._sp.LoadFromSerializedProto(self.model_proto)
    except Exception as e:  # sentencepiece raises RuntimeError/OSError with opaque text.
      raise TokenizerError(f'{model_path}: not a SentencePiece model ({e})') from None
    pieces = tuple(self._sp.IdToPiece(i) for i in range(min(NUM_SPECIAL, self._sp.GetPieceSize())))
    if pieces != SPECIAL_PIECES:
      raise TokenizerError(
          f'{model_path}: special pieces are {pieces}, expected {SPECIAL_PIECES} '
          '(train it with textcls_jax.data.tokenizer.train_sentencepiece)')
    self._tf_tokenizer = None

  @property
  def vocab_size(self) -> int:
    return self._sp.GetPieceSize()

  def fingerprint(self) -> bytes:
    """The bytes that decide every id this tokenizer gives: the model file."""
    return self.model_proto

  def save(self, folder: str) -> None:
    wd.atomic_write_bytes(wd.join(folder, SENTENCEPIECE_MODEL), self.model_proto)

  def encode(self, text: str) -> list[int]:
    """Token ids of one text (no [CLS]), as the tf.data pipeline produces them."""
    return self._sp.EncodeAsIds(text)

  def encode_batch(self, texts: list[str]) -> list[list[int]]:
    """Token ids of many texts, encoded on all cores."""
    return self._sp.Encode(texts, num_threads=os.cpu_count() or 1)

  def id_to_piece(self, i: int) -> str:
    return self._sp.IdToPiece(i)

  def tf_tokenize(self, texts):
    """tf.string [N] -> tf.RaggedTensor int32 [N, None] of token ids (no [CLS])."""
    if self._tf_tokenizer is None:
      import tensorflow as tf
      import tensorflow_text as tf_text  # Heavy import: only when a pipeline is built.
      with tf.init_scope():  # Made eagerly, so that several tf.data graphs can share it.
        self._tf_tokenizer = tf_text.SentencepieceTokenizer(model=self.model_proto,
                                                            out_type=tf.int32)
    return self._tf_tokenizer.tokenize(texts)


def _wordpiece(make, *args):
  try:
    return make(*args)
  except wordpiece.WordPieceError as e:
    raise TokenizerError(str(e)) from None


def wordpiece_from(path: str) -> wordpiece.WordPieceTokenizer:
  """A WordPiece tokenizer from a HuggingFace checkpoint folder (its vocab.txt, with the settings of
  its tokenizer_config.json: do_lower_case, strip_accents, the special tokens) or from a vocab.txt
  file (HF's defaults: lower-cased, accents stripped)."""
  if wd.exists(wd.join(path, wordpiece.VOCAB)):
    return _wordpiece(wordpiece.WordPieceTokenizer.from_checkpoint, path)
  try:
    return _wordpiece(wordpiece.WordPieceTokenizer.from_vocab_file, path)
  except (OSError, UnicodeDecodeError) as e:
    raise TokenizerError(f'{path}: not a WordPiece vocabulary (a vocab.txt, or a checkpoint folder '
                         f'holding one): {e}') from None


def from_source(path: str) -> Tokenizer:
  """A tokenizer to start a workdir from: a saved tokenizer folder (another workdir's tokenizer/),
  a HuggingFace checkpoint folder (its WordPiece vocab.txt), or a SentencePiece model file."""
  if saved_in(path):
    return load(path)
  if wd.exists(wd.join(path, wordpiece.VOCAB)):
    return wordpiece_from(path)
  return SentencePieceTokenizer(path)


def saved_in(folder: str) -> bool:
  """Whether `folder` holds a saved tokenizer of either kind."""
  return wd.exists(wd.join(folder, SENTENCEPIECE_MODEL)) or wordpiece.is_saved(folder)


def load(folder: str) -> Tokenizer:
  """The tokenizer saved in `folder` (a workdir's tokenizer/): spm.model, or WordPiece's files."""
  if wd.exists(wd.join(folder, SENTENCEPIECE_MODEL)):
    return SentencePieceTokenizer(wd.join(folder, SENTENCEPIECE_MODEL))
  if wordpiece.is_saved(folder):
    return _wordpiece(wordpiece.WordPieceTokenizer.load, folder)
  raise TokenizerError(f'{folder}: no tokenizer saved there ({SENTENCEPIECE_MODEL}, or '
                       f'{wordpiece.VOCAB} with {wordpiece.SETTINGS})')
