"""MLM pretraining of the cnn encoder of configs/sst2_cnn.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_cnn.py --workdir=runs/pretrain_cnn
then fine-tune with configs/sst2_cnn.py:pretrained (its docstring holds the SST-2 result).
Result (2026-11-29, seed 0, commit d5fa7cd):
held-out Gutenberg perplexity 55.5 after 3,000 steps (12.3 M tokens), 17.7 minutes on 2 CPU
cores shared with other jobs.

Variant `rtd` (--config=configs/pretrain_cnn.py:rtd): the same encoder, data and steps trained as
ELECTRA's discriminator (replaced-token detection, config.task 'rtd'), with a generator with half
the filters (50 per width) sharing its token embedding; init_from transfers the discriminator's
encoder.
Result (2026-12-02, seed 0, commit 005fac1, 2 AMD EPYC cores with AVX-512, a test suite running
beside it for most of the run): after 3,000 steps (12.3 M tokens), held-out Gutenberg: generator
perplexity 45.0; the discriminator calls 89.2% of tokens right where 89.1% are original (its loss
0.328 against 0.346 for the best constant guess; it finds 1.1% of the replaced tokens). 15.8
minutes (5.2 steps/s alone at the end). Fine-tuned on SST-2 sentences it does no better than MLM
(configs/sentence_families.py).
Variant `imdb` (--config=configs/pretrain_cnn.py:imdb --workdir=runs/pretrain_cnn_imdb): the same
encoder and steps on IMDB's 50k unlabeled movie reviews alone (config_base.movie_review_corpus).
Result (2026-12-02, seed 0, 2 AMD EPYC cores with AVX-512, alone): perplexity 66.5 on the text of
IMDB's labelled training reviews after 3,000 steps (12.3 M tokens), about 4.5 minutes (12 steps/s).
Fine-tuned: configs/sentence_families.py's cnn_*_imdb rows.
Variant `imdb_long` (--config=configs/pretrain_cnn.py:imdb_long
--workdir=runs/pretrain_cnn_imdb_long): `imdb` for 20,000 steps (81.9 M tokens, five passes over
the reviews' 16.4 M).
Result (2026-12-03, seed 0, commit d7b9465, 2 AMD EPYC cores with AVX-512, alone): perplexity 36.5
on the text of IMDB's labelled training reviews after 20,000 steps (69.7 @3000, 54.4 @5000, 42.5
@10000, 37.9 @15000), 25.5 minutes (13 steps/s).
Fine-tuned: configs/sentence_families.py's cnn_*_imdb_long rows (no better than the 3,000 steps).
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
