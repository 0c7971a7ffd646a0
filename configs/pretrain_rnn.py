"""MLM pretraining of the rnn encoder of configs/sst2_rnn.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_rnn.py --workdir=runs/pretrain_rnn
then fine-tune with configs/sst2_rnn.py:pretrained (its docstring holds the SST-2 result).
Result (2026-11-29, seed 0, commit d5fa7cd):
held-out Gutenberg perplexity 79.3 after 1,500 steps (6.1 M tokens), 23.6 minutes on 2 CPU
cores shared with other jobs.

Variant `rtd` (--config=configs/pretrain_rnn.py:rtd): the same encoder, data and steps trained as
ELECTRA's discriminator (replaced-token detection, config.task 'rtd'), with a generator with half
the hidden units (128 per direction) sharing its token embedding; init_from transfers the
discriminator's encoder.
Result: not run yet.
Variant `imdb` (--config=configs/pretrain_rnn.py:imdb --workdir=runs/pretrain_rnn_imdb): the same
encoder on IMDB's 50k unlabeled movie reviews alone (config_base.movie_review_corpus), 10,000 steps
(41 M tokens, 2.5 passes over the reviews), a budget that uses half an hour.
Result (2026-12-02, seed 0, commit 9564b96's code, 2 AMD EPYC cores with AVX-512, alone):
perplexity 38.3 on the text of IMDB's labelled training reviews at step 10,000 (133 @1000, 60.2
@3000, 46.4 @5000), 31 minutes (5.2 steps/s). The same variant stopped at 1,500 steps (6.1 M
tokens) reached 91.6 and fine-tuned on SST-2 sentences to test 81.2 ± 0.2, dev 80.7 ± 0.9.
Fine-tuned: configs/sentence_families.py's rnn_*_imdb rows.
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
