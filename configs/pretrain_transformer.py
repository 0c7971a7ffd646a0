"""MLM pretraining of the transformer encoder of configs/sst2_transformer.py on unlabeled English text:
IMDB's 50k unlabeled reviews and Gutenberg books, mixed half and half; held-out Gutenberg books for
perplexity.

Command:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py --workdir=runs/pretrain_transformer
then fine-tune with configs/sst2_transformer_pretrained.py.
Result: RESULT_PENDING
"""

from textcls_jax import config_base


def get_config():
  # The same encoder as configs/sst2_transformer.py, so that the fine-tuning run can start from it.
  return config_base.pretraining_config(config_base.transformer_model(), num_steps=400)
