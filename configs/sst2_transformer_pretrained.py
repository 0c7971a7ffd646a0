"""SST-2 sentiment, transformer encoder initialized from MLM pretraining (configs/pretrain_transformer.py); the same
model and fine-tuning budget as configs/sst2_transformer.py, which trains it from scratch.

Commands:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py --workdir=runs/pretrain_transformer
  python -m textcls_jax.main --config=configs/sst2_transformer_pretrained.py \
      --workdir=runs/sst2_transformer_pretrained --config.data.source=tsv:../shared/data/sst2
Result (2026-11-29, seed 0, commit d5fa7cd):
SST-2 dev accuracy 0.809 (macro-F1 0.808) at step 1,500 in 17.1 minutes (cores shared), after
configs/pretrain_transformer.py (3,000 steps, perplexity 93.6); from scratch the same model scores
0.804. Dev on the way: 0.786 @500, 0.798 @1000. Half a point: neither mean pooling, a lower learning
rate, layer-wise decay nor 2,000 more pretraining steps did better (README.md, "Pretraining, then
fine-tuning").
"""

import os

from textcls_jax import config_base


def get_config():
  c = config_base.config_file(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                           'sst2_transformer.py'))
  c.init_from = 'runs/pretrain_transformer'  # Brings the encoder and its tokenizer.
  return c
