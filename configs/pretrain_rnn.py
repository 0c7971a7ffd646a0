"""MLM pretraining of the rnn encoder of configs/sst2_rnn.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_rnn.py --workdir=runs/pretrain_rnn
then fine-tune with configs/sst2_rnn.py:pretrained, or configs/sentence_families.py's
rnn_*_pretrained rows.

Variants (--config=configs/pretrain_rnn.py:VARIANT --workdir=runs/pretrain_rnn_VARIANT), each
fine-tuned by configs/sentence_families.py's rnn_*_VARIANT rows:
- rtd: the same encoder, data and steps trained as ELECTRA's discriminator (replaced-token
  detection, config.task 'rtd'), with a generator with half the hidden units (128 per direction)
  sharing its token embedding; init_from transfers the discriminator's encoder. Not run yet.
- imdb: the same encoder on IMDB's 50k unlabeled movie reviews alone
  (config_base.movie_review_corpus), 10,000 steps (2.5 passes over the reviews); perplexity on the
  text of IMDB's labelled training reviews.

Result: results/pretrain_rnn/<variant>.json (default.json for the MLM run), tabulated in
docs/results/runs.md.
"""

from textcls_jax import config_base


VARIANTS = ('', 'rtd', 'imdb')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  # The same encoder as configs/sst2_rnn.py, so that the fine-tuning run can start from it.
  # imdb: several passes over the reviews (docstring).
  num_steps = 10_000 if variant == 'imdb' else 1500
  c = config_base.pretraining_config(config_base.rnn_model(), num_steps=num_steps)
  if variant == 'imdb':
    return config_base.movie_review_corpus(c)
  return config_base.replaced_token_detection(c, 0.5) if variant else c
