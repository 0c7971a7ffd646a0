"""SST-2 sentiment, rnn encoder from scratch.

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_rnn.py \
      --workdir=runs/sst2_rnn
The same data from local TSV files (one override):
  python -m textcls_jax.main --config=configs/sst2_rnn.py --workdir=runs/sst2_rnn \
      --config.data.source=tsv:../shared/data/sst2
Result: RESULT_PENDING
"""

from textcls_jax import config_base


def get_config():
  c = config_base.base_config()
  c.model = config_base.rnn_model()
  c.train.num_steps = 2000
  c.optim.learning_rate = 2e-3
  return c
