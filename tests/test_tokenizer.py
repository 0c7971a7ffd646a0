"""SentencePiece tokenizer: training, special ids, Python vs tf.data tokenization, and bad files."""

import os
import random

import pytest

from textcls_jax.data import tokenizer as tok
from textcls_jax.data.tokenizer import SentencePieceTokenizer as Tokenizer, TokenizerError

VOCAB_SIZE = 80


def corpus(n=300, seed=0):
  """A few hundred short sentences, some with accents and non-Latin words."""
  rng = random.Random(seed)
  words = ('good great fine bad awful poor film movie plot actor scene story very not quite the a '
           'and but it is was café naïve déjà vu über').split()
  return [' '.join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(n)]


@pytest.fixture(scope='module')
def model_path(tmp_path_factory):
  path = tmp_path_factory.mktemp('tok') / 'spm.model'
  assert tok.train_sentencepiece(corpus(), str(path), vocab_size=VOCAB_SIZE, seed=0) == str(path)
  return str(path)


@pytest.fixture(scope='module')
def tokenizer(model_path):
  return Tokenizer(model_path)


def test_special_ids(tokenizer):
  assert (tok.PAD_ID, tok.UNK_ID, tok.CLS_ID, tok.MASK_ID) == (0, 1, 2, 3)
  assert tokenizer.id_to_piece(tok.PAD_ID) == '<pad>'
  assert tokenizer.id_to_piece(tok.UNK_ID) == '<unk>'
  assert tokenizer.id_to_piece(tok.CLS_ID) == '[CLS]'
  assert tokenizer.id_to_piece(tok.MASK_ID) == '[MASK]'
  assert tuple(tokenizer.id_to_piece(i) for i in range(tok.NUM_SPECIAL)) == tok.SPECIAL_PIECES


def test_vocab_size_and_no_bos_eos(tokenizer):
  assert tok.NUM_SPECIAL < tokenizer.vocab_size <= VOCAB_SIZE
  pieces = {tokenizer.id_to_piece(i) for i in range(tokenizer.vocab_size)}
  assert '<s>' not in pieces and '</s>' not in pieces
  ids = tokenizer.encode('good film')
  assert ids and all(tok.NUM_SPECIAL <= i < tokenizer.vocab_size for i in ids)  # No [CLS] added.


def test_encode_empty_and_unknown(tokenizer):
  assert tokenizer.encode('') == []
  assert tok.UNK_ID in tokenizer.encode('\U0001F600')  # An emoji never seen in training.


TEXTS = [
    '',
    'good film',
    'the movie was not very good but the actor is great',
    '  leading and   repeated   spaces  ',
    'tabs\tand\nnewlines',
    'café naïve déjà vu über',
    'NFKC: ﬁne ＦＵＬＬＷＩＤＴＨ ①',  # Ligature, full-width letters, a circled digit.
    '東京 😀 Ελληνικά עברית',  # Scripts and an emoji not in the training corpus.
    'combining e\u0301 and zero\u200bwidth',
    'odd breaks\u2026 \u0085 \u2028 end',
    '[CLS] [MASK] <pad> <unk>',
]


def test_encode_and_tf_tokenize_agree(tokenizer):
  import tensorflow as tf

  ragged = tokenizer.tf_tokenize(tf.constant(TEXTS))
  assert isinstance(ragged, tf.RaggedTensor)
  assert ragged.dtype == tf.int32
  assert ragged.shape[0] == len(TEXTS)
  rows = ragged.to_list()
  for text, row in zip(TEXTS, rows):
    assert row == tokenizer.encode(text), text
  assert rows[0] == []
  # A second call reuses the tokenizer built on the first, inside a tf.function too.
  fn = tf.function(lambda t: tokenizer.tf_tokenize(t))
  assert fn(tf.constant(TEXTS[1:3])).to_list() == rows[1:3]


def test_a_word_model_keeps_the_special_ids_and_makes_a_piece_of_each_word(tmp_path):
  import tensorflow as tf
  path = tok.train_sentencepiece(corpus(), str(tmp_path / 'words.model'), vocab_size=VOCAB_SIZE,
                                 model_type='word')
  words = Tokenizer(path)  # Loading checks the special pieces' ids.
  assert tuple(words.id_to_piece(i) for i in range(tok.NUM_SPECIAL)) == tok.SPECIAL_PIECES
  assert [words.id_to_piece(i) for i in words.encode('good film')] == ['\u2581good', '\u2581film']
  assert 'goodfilm' not in {words.id_to_piece(i) for i in range(words.vocab_size)}
  assert words.encode('goodfilm') == [tok.UNK_ID]  # A word it lacks is unknown, not split.
  assert words.tf_tokenize(tf.constant(TEXTS)).to_list() == [words.encode(t) for t in TEXTS]


def test_training_is_deterministic(tmp_path, model_path):
  again = tok.train_sentencepiece(corpus(), str(tmp_path / 'again.model'), vocab_size=VOCAB_SIZE,
                                  seed=0)
  with open(model_path, 'rb') as a, open(again, 'rb') as b:
    first, second = a.read(), b.read()
  assert first == second
  assert b'corpus.txt' not in first  # The trainer's temporary paths are not recorded.


def test_atomic_write_leaves_no_tmp_file(tmp_path):
  out = tmp_path / 'nested' / 'dir' / 'spm.model'  # Missing folders are made.
  tok.train_sentencepiece(corpus(100, seed=1), str(out), vocab_size=40, seed=1)
  assert sorted(os.listdir(out.parent)) == ['spm.model']
  assert Tokenizer(str(out)).vocab_size <= 40


def test_not_a_sentencepiece_model(tmp_path):
  for name, data in (('text.model', b'this is not a model\n'), ('empty.model', b''),
                     ('binary.model', bytes(range(256)))):
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(TokenizerError, match=str(path)):
      Tokenizer(str(path))


def test_missing_file(tmp_path):
  path = str(tmp_path / 'nope.model')
  with pytest.raises(TokenizerError, match='not found') as info:
    Tokenizer(path)
  assert path in str(info.value)


def test_model_without_the_special_pieces(tmp_path):
  import sentencepiece as spm

  text = tmp_path / 'corpus.txt'
  text.write_text('\n'.join(corpus(100)) + '\n', encoding='utf-8')
  spm.SentencePieceTrainer.train(input=str(text), model_prefix=str(tmp_path / 'plain'),
                                 vocab_size=40, hard_vocab_limit=False, minloglevel=2)
  path = str(tmp_path / 'plain.model')
  with pytest.raises(TokenizerError, match='special pieces') as info:
    Tokenizer(path)
  assert path in str(info.value)


def test_all_empty_training_texts(tmp_path):
  out = tmp_path / 'spm.model'
  with pytest.raises(TokenizerError, match='all empty'):
    tok.train_sentencepiece(['', '   ', '\n\t'], str(out), vocab_size=40)
  assert not out.exists()
  assert os.listdir(tmp_path) == []
