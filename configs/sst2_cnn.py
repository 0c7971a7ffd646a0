"""SST-2 sentiment, cnn encoder from scratch.

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_cnn.py \
      --workdir=runs/sst2_cnn
The same data from local TSV files (one override):
  python -m textcls_jax.main --config=configs/sst2_cnn.py --workdir=runs/sst2_cnn \
      --config.data.source=tsv:../shared/data/sst2
Result (the local-TSV command, seed 0, 2026-11-28):
SST-2 dev accuracy 0.830 (macro-F1 0.830) at the final step 4,000, in 2.6 minutes
(157 s wall, tokenizer training included) on 2 CPU cores, about 2,300 examples/s.
Dev accuracy on the way: 0.794 @500, 0.831 @1000, 0.833 @1500, 0.830 @2000 (it overfits after ~1,500).
"""

from textcls_jax import config_base


def get_config():
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.train.num_steps = 4000
  c.optim.learning_rate = 1e-3
  return c
