"""MLM pretraining of the transformer encoder of configs/sst2_transformer.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py --workdir=runs/pretrain_transformer
then fine-tune with configs/sst2_transformer_pretrained.py.
Result (2026-11-29, seed 0, commit d5fa7cd):
held-out Gutenberg perplexity 93.6 after 3,000 steps (12.3 M tokens; 375 @1000, 107 @2000), 97.3
minutes on 2 CPU cores shared with other jobs. Fine-tuned on SST-2 with
configs/sst2_transformer_pretrained.py: dev 0.811 (mean of seeds 0-3; from scratch 0.798 with the
scratch config, 0.804 with the same max-pooling head).
"""

from textcls_jax import config_base


def get_config():
  # The same encoder as configs/sst2_transformer.py, so that the fine-tuning run can start from it.
  return config_base.pretraining_config(config_base.transformer_model(), num_steps=3000)
