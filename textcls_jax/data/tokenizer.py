"""SentencePiece tokenizer: training, loading, and tokenization inside tf.data.

Every SentencePiece model trained by the project has the special ids of `textcls_jax.vocab` and no
BOS/EOS pieces; a model given by the user is checked for the same layout.
"""

from __future__ import annotations

import os
import tempfile
from typing import Sequence

import numpy as np

from absl import logging

from textcls_jax import workdir as wd
from textcls_jax import vocab

# The ids of textcls_jax.vocab, under the names data code reads them by (tok.PAD_ID, ...).
PAD_ID, UNK_ID, CLS_ID, MASK_ID = vocab.PAD_ID, vocab.UNK_ID, vocab.CLS_ID, vocab.MASK_ID
NUM_SPECIAL, SPECIAL_PIECES = vocab.NUM_SPECIAL, vocab.SPECIAL_PIECES


class TokenizerError(ValueError):
  """A tokenizer file that cannot be used."""


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


class Tokenizer:
  """A loaded SentencePiece model, usable from Python and inside tf.data graphs."""

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
