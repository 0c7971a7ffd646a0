"""MLM pretraining of the cnn encoder of configs/sst2_cnn.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_cnn.py --workdir=runs/pretrain_cnn
then fine-tune with configs/sst2_cnn.py:pretrained, or configs/sentence_families.py's
cnn_*_pretrained rows.

Variants (--config=configs/pretrain_cnn.py:VARIANT --workdir=runs/pretrain_cnn_VARIANT), each
fine-tuned by configs/sentence_families.py's cnn_*_VARIANT rows:
- rtd: the same encoder, data and steps trained as ELECTRA's discriminator (replaced-token
  detection, config.task 'rtd'), with a generator with half the filters (50 per width) sharing its
  token embedding; init_from transfers the discriminator's encoder.
- imdb: the same encoder and steps on IMDB's 50k unlabeled movie reviews alone
  (config_base.movie_review_corpus); perplexity on the text of IMDB's labelled training reviews.
- imdb_long: `imdb` for 20,000 steps (five passes over the reviews).

Result: results/pretrain_cnn/<variant>.json (default.json for the MLM run), tabulated in
docs/results/runs.md.
"""

from textcls_jax import config_base


VARIANTS = ('', 'rtd', 'imdb', 'imdb_long')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  # The same encoder as configs/sst2_cnn.py, so that the fine-tuning run can start from it.
  # imdb_long: 20,000 steps on the reviews, several passes, about half an hour here (docstring).
  num_steps = 20_000 if variant == 'imdb_long' else 3000
  c = config_base.pretraining_config(config_base.cnn_model(), num_steps=num_steps)
  if variant.startswith('imdb'):
    return config_base.movie_review_corpus(c)
  return config_base.replaced_token_detection(c, 0.5) if variant else c
