"""A tiny, fast smoke run: a small CNN for 300 steps on SST-2 (TFDS glue/sst2).

Command (offline here, with the prepared TFDS copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/tiny.py \
      --workdir=/tmp/tiny
Local files instead of TFDS:
  python -m textcls_jax.main --config=configs/tiny.py --workdir=/tmp/tiny \
      --config.data.source=tsv:../shared/data/sst2
It checks that everything runs; its accuracy means little.
Result: results/tiny/default.json.
"""

from textcls_jax import config_base


def get_config():
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.model.embed_dim = 32
  c.model.num_filters = 16
  c.tokenizer.vocab_size = 1000
  c.tokenizer.max_chars = 500_000
  c.data.max_len = 32
  c.train.batch_size = 32
  c.train.num_steps = 300
  c.train.log_every_steps = 50
  c.train.eval_every_steps = 100
  c.checkpoint.every_steps = 100
  c.optim.learning_rate = 3e-3
  c.optim.warmup_steps = 20
  return c
