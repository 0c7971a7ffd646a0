"""WordPiece from a published checkpoint's vocab.txt, inside the tf.data graph, giving exactly the ids
of HuggingFace's `BertTokenizer` (transformers 5: the `tokenizers` library's BertNormalizer,
BertPreTokenizer and WordPiece; `BertTokenizerFast` is the same class).

tensorflow-text's `BertTokenizer` / `FastBertTokenizer` do not give HF's ids, so the normalization
and the split into words are written here with TensorFlow string ops, and only the last step,
WordPiece's greedy longest-match-first within a word, is tensorflow-text's
(`FastWordpieceTokenizer` with `no_pretokenization=True`, which matches HF's on every word). Each
difference class found against HF, and how it is handled (tests/test_wordpiece.py holds each, and
compares whole corpora: SST-2, SST-1, MR, TREC, IMDB reviews):

1. Control characters: tf-text turns them into spaces (tensorflow/text#817), HF deletes them
   ("test\\x07bell" is "test", "##bell" in HF). Here: \\t \\n \\r become spaces, then NUL, U+FFFD and
   every character of Unicode category C (Cc, Cf, Co: \\x07, \\x85, U+200B zero-width space, U+00AD
   soft hyphen, private use) is deleted, before anything else, as HF's `clean_text` does.
2. Lower-casing: tf-text's lower_case applies NFKC (fullwidth "Ｗ" becomes "w", "ﬁ" becomes "fi");
   HF lower-cases character by character with no compatibility folding ("Ｗ" stays "ｗ", [UNK]).
   Here: NFD, delete Mn (accents), then `tf.strings.lower` (Unicode, full mappings: "İ" becomes "i"
   with its dot stripped first), in HF's order (accents stripped before lower-casing).
3. Final sigma: `tf.strings.lower` (ICU) writes a word-final "Σ" as "ς"; HF's per-character mapping
   gives "σ". Here: "Σ" is replaced by "σ" before lower-casing.
4. The word-length cap: tf-text counts bytes (100), HF counts characters (a word of more than 100
   characters is one [UNK]; 60 "é" are 120 bytes but a word HF splits). Here: words longer than
   `MAX_CHARS_PER_WORD` characters are replaced by the [UNK] token before WordPiece, whose own byte cap
   is set out of reach.
5. Special tokens written in the text ("[MASK]", "[SEP]", case-sensitive): HF keeps them whole as
   their ids; tf-text splits them into "[", "mask", "]". Here: the text is first split around them
   and they bypass normalization and splitting.
6. CJK ideographs: each is a word of its own, in the ranges of HF's Rust normalizer (its extension
   range starts at U+2B920, the Python tokenizer's at U+2B820); emoji are not punctuation, so
   "😀👍🏽" is one word and one [UNK], as in HF.
7. NUL: tensorflow-text's regex_split ends a string at a NUL byte ("a\x00b" gave "a"); HF deletes
   the character ("ab"). Here: NUL is deleted first, with `tf.strings.regex_replace`.
8. Unassigned code points (Unicode category Cn, e.g. U+0378 and emoji newer than Python's Unicode
   tables): HF's BertTokenizer keeps them (a word of its own, [UNK]); so does this graph (RE2 has no
   \\p{Cn}). transformers' pure-Python `BertTokenizerLegacy` deletes them, and also applies NFC and
   the final-sigma rule: those are differences between HF's two implementations, not ours; on the
   real corpora of the test the two agree.
Known and left: HF matches special tokens on the raw text, this graph after deleting NUL only, so
the two would differ on a special token with a NUL inside it ("[MA\\x00SK]"); and characters whose
Unicode category differs between RE2/ICU's tables and those of the Rust `unicode_categories` crate
(characters assigned in recent Unicode versions). Neither occurs in the corpora of the test.
"""

from __future__ import annotations

import json

from typing import Optional, Sequence

from textcls_jax import failures
from textcls_jax import vocab as special_vocab
from textcls_jax import workdir as wd

# HF's WordPiece: a word of more characters than this is one [UNK] (max_input_chars_per_word).
MAX_CHARS_PER_WORD = 100
SETTINGS = 'wordpiece.json'
VOCAB = 'vocab.txt'
# The special tokens of a BERT vocabulary, by the names SpecialIds gives them.
DEFAULT_TOKENS = {'pad': '[PAD]', 'unk': '[UNK]', 'cls': '[CLS]', 'sep': '[SEP]', 'mask': '[MASK]'}

# Punctuation as HF's BertPreTokenizer has it: ASCII punctuation and Unicode category P.
_PUNCT = r'!-/:-@\[-`{-~\p{P}'
# HF's CJK ideograph ranges (the Rust BertNormalizer's handle_chinese_chars: 2B920, not the Python
# tokenizer's 2B820).
_CJK = (r'\x{4E00}-\x{9FFF}\x{3400}-\x{4DBF}\x{20000}-\x{2A6DF}\x{2A700}-\x{2B73F}'
        r'\x{2B740}-\x{2B81F}\x{2B920}-\x{2CEAF}\x{F900}-\x{FAFF}\x{2F800}-\x{2FA1F}')
# White_Space after cleaning: category Zs (space included), the line and paragraph separators.
_SPACE = r'\p{Zs}\x{2028}\x{2029}'


def _re2_literal(text: str) -> str:
  return ''.join('\\' + c if not c.isalnum() else c for c in text)


class WordPieceError(failures.UserError, ValueError):
  """A vocabulary or settings file that cannot be used."""


class WordPieceTokenizer:
  """A BERT WordPiece vocabulary with HF's normalization, tokenizing inside tf.data.

  Attributes: special (vocab.SpecialIds: [PAD], [UNK], [CLS], [SEP], [MASK] looked up in the
  vocabulary), vocab_size, lower_case, strip_accents, tokenize_chinese_chars.
  """
  kind = 'wordpiece'

  def __init__(self, vocab_lines: Sequence[str], *, lower_case: bool = True,
               strip_accents: Optional[bool] = None, tokenize_chinese_chars: bool = True,
               special_tokens: Optional[dict] = None, source: str = 'vocab.txt'):
    self.tokens = list(vocab_lines)
    self.source = source
    index = {}
    for i, token in enumerate(self.tokens):
      if token in index:
        raise WordPieceError(f'{source}: token {token!r} on lines {index[token] + 1} and {i + 1}')
      index[token] = i
    self.special_tokens = dict(DEFAULT_TOKENS, **(special_tokens or {}))
    missing = [t for t in self.special_tokens.values() if t not in index]
    if missing:
      raise WordPieceError(f'{source}: no {", ".join(missing)} in the vocabulary')
    self.special = special_vocab.SpecialIds(
        **{name: index[token] for name, token in self.special_tokens.items()})
    self.lower_case = bool(lower_case)
    # HF: strip_accents None follows lower_case.
    self.strip_accents = self.lower_case if strip_accents is None else bool(strip_accents)
    self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
    self._wordpiece = None

  # Loading and saving. -------------------------------------------------------------------------

  @classmethod
  def from_vocab_file(cls, path: str, **settings) -> 'WordPieceTokenizer':
    if not wd.exists(path):
      raise WordPieceError(f'{path}: vocabulary file not found')
    # HF reads one token a line, the line's newline removed (nothing else stripped).
    lines = wd.read_text(path).split('\n')
    if lines and lines[-1] == '':
      lines.pop()
    return cls([line.rstrip('\r') for line in lines], source=path, **settings)

  @classmethod
  def from_checkpoint(cls, folder: str) -> 'WordPieceTokenizer':
    """A HuggingFace checkpoint folder's tokenizer: vocab.txt, with do_lower_case, strip_accents,
    tokenize_chinese_chars and the special tokens of its tokenizer_config.json (HF's defaults
    without one)."""
    config_path = wd.join(folder, 'tokenizer_config.json')
    config = wd.read_json(config_path) if wd.exists(config_path) else {}
    specials = {name: config[f'{name}_token'] for name in DEFAULT_TOKENS
                if isinstance(config.get(f'{name}_token'), str)}
    return cls.from_vocab_file(
        wd.join(folder, VOCAB), lower_case=config.get('do_lower_case', True),
        strip_accents=config.get('strip_accents'),
        tokenize_chinese_chars=config.get('tokenize_chinese_chars', True),
        special_tokens=specials)

  def settings(self) -> dict:
    return {'kind': self.kind, 'lower_case': self.lower_case,
            'strip_accents': self.strip_accents,
            'tokenize_chinese_chars': self.tokenize_chinese_chars,
            'special_tokens': self.special_tokens}

  def save(self, folder: str) -> None:
    """Writes vocab.txt and wordpiece.json (the settings) into `folder`."""
    wd.atomic_write_text(wd.join(folder, VOCAB), ''.join(t + '\n' for t in self.tokens))
    wd.write_json(wd.join(folder, SETTINGS), self.settings())

  @classmethod
  def load(cls, folder: str) -> 'WordPieceTokenizer':
    settings = wd.read_json(wd.join(folder, SETTINGS))
    kind = settings.pop('kind', None)
    if kind != cls.kind:
      raise WordPieceError(f'{wd.join(folder, SETTINGS)}: kind {kind!r}, expected {cls.kind!r}')
    return cls.from_vocab_file(wd.join(folder, VOCAB), **settings)

  def fingerprint(self) -> bytes:
    """The bytes that decide every id this tokenizer gives."""
    return json.dumps([self.settings(), self.tokens]).encode('utf-8')

  # Tokenizing. ---------------------------------------------------------------------------------

  @property
  def vocab_size(self) -> int:
    return len(self.tokens)

  def id_to_piece(self, i: int) -> str:
    return self.tokens[i]

  def _normalize(self, texts):
    """HF's BertNormalizer on a tf.string tensor (the CJK spacing is done by the split)."""
    import tensorflow as tf
    import tensorflow_text as tf_text
    x = tf.strings.regex_replace(texts, r'[\t\n\r]', ' ')
    x = tf.strings.regex_replace(x, r'[\x{FFFD}\p{C}]', '')  # NUL is in Cc.
    if self.strip_accents:
      x = tf.strings.regex_replace(tf_text.normalize_utf8(x, 'NFD'), r'\p{Mn}', '')
    if self.lower_case:
      x = tf.strings.lower(tf.strings.regex_replace(x, 'Σ', 'σ'), encoding='utf-8')
    return x

  def tf_tokenize(self, texts):
    """tf.string [N] -> tf.RaggedTensor int32 [N, None]: HF's ids, without [CLS] and [SEP]."""
    import tensorflow as tf
    import tensorflow_text as tf_text
    if self._wordpiece is None:
      with tf.init_scope():  # Made eagerly, so that several tf.data graphs can share it.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=self.tokens, suffix_indicator='##', max_bytes_per_word=4 * MAX_CHARS_PER_WORD,
            unknown_token=self.special_tokens['unk'], no_pretokenization=True,
            support_detokenization=False, token_out_type=tf.int32)
    specials = '|'.join(_re2_literal(t) for t in sorted(set(self.special_tokens.values())))
    # Special tokens in the raw text are kept whole, as HF's added tokens are.
    # NUL goes first: regex_split would end the text there (HF deletes it).
    texts = tf.strings.regex_replace(texts, r'\x00', '')
    segments = tf_text.regex_split(texts, specials, keep_delim_regex_pattern=specials)
    flat = segments.flat_values
    flat = tf.where(tf.strings.regex_full_match(flat, specials), flat, self._normalize(flat))
    keep = specials + '|[' + _PUNCT + (_CJK if self.tokenize_chinese_chars else '') + ']'
    words = tf_text.regex_split(flat, f'[{_SPACE}]+|{keep}', keep_delim_regex_pattern=keep)
    long = tf.strings.length(words.flat_values, unit='UTF8_CHAR') > MAX_CHARS_PER_WORD
    words = words.with_flat_values(
        tf.where(long, self.special_tokens['unk'], words.flat_values))
    ids = self._wordpiece.tokenize(words).merge_dims(1, 2)  # [segments, pieces]
    return tf.RaggedTensor.from_row_splits(ids, segments.row_splits).merge_dims(1, 2)

  def encode_batch(self, texts: list[str]) -> list[list[int]]:
    import numpy as np
    import tensorflow as tf
    if not texts:
      return []
    return self.tf_tokenize(tf.constant(np.asarray(texts, dtype=object))).to_list()

  def encode(self, text: str) -> list[int]:
    """Token ids of one text (no [CLS] or [SEP]), as the tf.data pipeline produces them."""
    return self.encode_batch([text])[0]


def is_saved(folder: str) -> bool:
  return wd.exists(wd.join(folder, SETTINGS))


__all__ = ['WordPieceTokenizer', 'WordPieceError', 'is_saved', 'MAX_CHARS_PER_WORD']

