"""SST-2 sentiment, transformer encoder from scratch.

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_transformer.py \
      --workdir=runs/sst2_transformer
The same data from local TSV files (one override):
  python -m textcls_jax.main --config=configs/sst2_transformer.py --workdir=runs/sst2_transformer \
      --config.data.source=tsv:../shared/data/sst2
Result: RESULT_PENDING
"""

from textcls_jax import config_base


def get_config():
  c = config_base.base_config()
  c.model = config_base.transformer_model()
  c.train.num_steps = 1500
  c.optim.learning_rate = 5e-4
  c.optim.warmup_steps = 300
  return c
