"""SST-2 sentiment, cnn encoder initialized from MLM pretraining (configs/pretrain_cnn.py); the same
model and fine-tuning budget as configs/sst2_cnn.py, which trains it from scratch.

Commands:
  python -m textcls_jax.main --config=configs/pretrain_cnn.py --workdir=runs/pretrain_cnn
  python -m textcls_jax.main --config=configs/sst2_cnn_pretrained.py \
      --workdir=runs/sst2_cnn_pretrained --config.data.source=tsv:../shared/data/sst2
Result (2026-11-29, seed 0, commit d5fa7cd):
SST-2 dev accuracy 0.834 (macro-F1 0.833) at step 4,000 in 5.6 minutes (cores shared), after
configs/pretrain_cnn.py (3,000 steps); from scratch the same model scores 0.822. Dev on the way:
0.796 @500, 0.833 @1000, 0.842 @1500, 0.834 @2000, 0.848 @2500, 0.838 @3000.
Seeds 1 and 2 (--config.seed=N, 2026-11-29, commit b75abbd): 0.842 and 0.833, against 0.817 and
0.833 from scratch; mean of seeds 0-2 0.836 vs 0.824.
"""

import os

from textcls_jax import config_base


def get_config():
  c = config_base.config_file(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           'sst2_cnn.py'))
  c.init_from = 'runs/pretrain_cnn'  # Brings the encoder and its tokenizer.
  return c
