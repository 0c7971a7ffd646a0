"""Word vectors for the token embedding of any encoder 256 wide (the CNN, the BiLSTM and the
Transformer of configs/sentence_families.py): word2vec's skip-gram with negative sampling
(config.task 'word2vec', textcls_jax/word2vec.py) on IMDB's 50k unlabeled movie reviews, over the
same SentencePiece pieces as configs/pretrain_FAMILY.py:imdb (the same corpus and tokenizer
settings make the same tokenizer). Only model.embed_dim matters here: init_from this workdir sets
the token embedding of a run whose encoder's embedding has that width, of any family, and leaves
every other parameter fresh.

Command:
  python -m textcls_jax.main --config=configs/word2vec.py --workdir=runs/word2vec
Result (2026-12-03, commit d1d3d0c's vectors, 2 AMD EPYC cores with AVX-512, one gensim
thread): 16.35 M training pieces a pass, 5 passes, 3.4 minutes alone (6.3 beside two trainings);
held-out share of (piece, context) pairs that beat a noise piece, on the text of IMDB's labelled
training reviews: 0.500 untrained, 0.658 after the first pass, 0.691 after the fifth (b143e55's
held-out pairs, the rerun below). Run again into a new workdir (the tokenizer copied, the token
cache too): the same word_vectors.npz, byte for byte. Neighbours of 'awful': terrible, horrible,
atrocious, horrid, abysmal. Fine-tuned: configs/sentence_families.py's FAMILY_DATASET_word2vec rows
and configs/kim_cnn_rand.py's DATASET_word2vec rows.

Variant `books` (--config=configs/word2vec.py:books --workdir=runs/word2vec_books): the reviews and
the Gutenberg books (configs/pretrain_FAMILY.py's default corpus and tokenizer), each read once an
epoch.
Result (2026-12-03, same code and machine, beside two trainings): 44.98 M pieces a pass (16.35 M
of reviews, 28.6 M of books), 5 passes, 11.8 minutes; held-out pairs of the held-out books: 0.669
after the first pass, 0.713 after the fifth. Fine-tuned: the FAMILY_DATASET_word2vec_books rows.

Probed and not adopted: whole words, as Kim's vectors are (2026-12-03, commit c9eac0f, alone):
  python -m textcls_jax.main --config=configs/word2vec.py --workdir=runs/word2vec_words \
      --config.tokenizer.model_type=word --config.tokenizer.vocab_size=30000
11.6 M words a pass, 5 passes, 3.8 minutes; 29,995 words. Fine-tuned as
configs/kim_cnn_rand.py:mr_word2vec with --config.init_from=runs/word2vec_words (10 folds, 8.3
minutes, the embedding four times larger): MR test 79.1 ± 0.9, dev 79.8 ± 0.8, against the row
from these pieces (configs/kim_cnn_rand.py's mr_word2vec, re-run the same hour). Dev prefers the
pieces.
"""

from textcls_jax import config_base

VARIANTS = ('', 'books')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  # Only the model's embedding width (256) matters to the vectors (docstring).
  c = config_base.pretraining_config(config_base.cnn_model(), num_steps=1)
  if variant != 'books':
    c = config_base.movie_review_corpus(c)
  return config_base.word_vectors(c)
