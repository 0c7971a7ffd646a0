"""Word vectors for the token embedding of any encoder 256 wide (the CNN, the BiLSTM and the
Transformer of configs/sentence_families.py): word2vec's skip-gram with negative sampling
(config.task 'word2vec', textcls_jax/word2vec.py) on IMDB's 50k unlabeled movie reviews, over the
same SentencePiece pieces as configs/pretrain_FAMILY.py:imdb (the same corpus and tokenizer
settings make the same tokenizer). Only model.embed_dim matters here: init_from this workdir sets
the token embedding of a run whose encoder's embedding has that width, of any family, and leaves
every other parameter fresh. Held-out figure: the share of (piece, context) pairs that beat a noise
piece, each epoch.

Command:
  python -m textcls_jax.main --config=configs/word2vec.py --workdir=runs/word2vec
Variant `books`: the reviews and the Gutenberg books (configs/pretrain_FAMILY.py's default corpus
and tokenizer), each read once an epoch:
  python -m textcls_jax.main --config=configs/word2vec.py:books --workdir=runs/word2vec_books
Fine-tuned: configs/sentence_families.py's FAMILY_DATASET_word2vec and _word2vec_books rows, and
configs/kim_cnn_rand.py's DATASET_word2vec rows.

Result: results/word2vec/<variant>.json (default.json for the reviews' vectors; the whole-word
probe, not adopted, in its notes), tabulated in docs/results/runs.md.
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
