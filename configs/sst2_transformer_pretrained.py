"""SST-2 sentiment, transformer encoder initialized from MLM pretraining (configs/pretrain_transformer.py); the same
model and fine-tuning budget as configs/sst2_transformer.py, which trains it from scratch.

Commands:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py --workdir=runs/pretrain_transformer
  python -m textcls_jax.main --config=configs/sst2_transformer_pretrained.py \
      --workdir=runs/sst2_transformer_pretrained --config.data.source=tsv:../shared/data/sst2
Result (2026-11-28, seed 0):
SST-2 dev accuracy 0.805 at step 1,500 in 13.7 minutes (cores shared), after
configs/pretrain_transformer.py (only 400 steps); from scratch the same model scores 0.804.
Pretraining this short does not help yet.
"""

import os

from textcls_jax import config_base


def get_config():
  c = config_base.config_file(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           'sst2_transformer.py'))
  c.init_from = 'runs/pretrain_transformer'  # Brings the encoder and its tokenizer.
  return c
