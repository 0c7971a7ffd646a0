"""SST-2 sentiment, rnn encoder from scratch.

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_rnn.py \
      --workdir=runs/sst2_rnn
The same data from local TSV files (one override):
  python -m textcls_jax.main --config=configs/sst2_rnn.py --workdir=runs/sst2_rnn \
      --config.data.source=tsv:../shared/data/sst2
Result (the local-TSV command, seed 0, 2026-11-28):
SST-2 dev accuracy 0.843 (macro-F1 0.843) at the final step 2,000, in 5.4 minutes
(321 s wall, tokenizer training included) on 2 CPU cores, about 470 examples/s, while a test run
shared the cores. Dev accuracy on the way: 0.810 @500, 0.834 @1000, 0.835 @1500. (The same model
run for 4,000 steps peaked at 0.839 and ended at 0.829: it overfits.)
Re-run 2026-12-01 on another machine (2 AMD EPYC cores, shared with the test suite), the same code
and batches: 0.838 (runs are deterministic on one machine only).
"""

from textcls_jax import config_base


def get_config():
  c = config_base.base_config()
  c.model = config_base.rnn_model()
  c.train.num_steps = 2000
  c.optim.learning_rate = 2e-3
  return c
