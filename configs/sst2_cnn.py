"""SST-2 sentiment, cnn encoder: from scratch, or (variant `pretrained`) initialized from MLM
pretraining (configs/pretrain_cnn.py) with the same model and fine-tuning budget.

From scratch.
Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_cnn.py \
      --workdir=runs/sst2_cnn
The same data from local TSV files (one override):
  python -m textcls_jax.main --config=configs/sst2_cnn.py --workdir=runs/sst2_cnn \
      --config.data.source=tsv:../shared/data/sst2
Result (the local-TSV command, seed 0, 2026-11-28):
SST-2 dev accuracy 0.822 (macro-F1 0.822) at the final step 4,000, in 4.9 minutes (294 s wall,
tokenizer training included) on 2 CPU cores shared with a pretraining job; alone on the cores the
same config ran in 2.6 minutes (about 2,300 examples/s). Dev accuracy on the way: 0.789 @500,
0.825 @1000, 0.830 @1500, 0.828 @2000: it overfits after ~1,500 steps.
Seeds 1 and 2 (--config.seed=N, 2026-11-29, commit b75abbd): 0.817 and 0.833; mean of seeds 0-2
0.824.
Re-run 2026-12-01 (the local-TSV command, seed 0, 2 AMD EPYC cores, alone): 0.8245 at step 4,000 in
2 min 37 s; first step 3.0 s with an empty compilation cache, 0.9 s with a warm one.
First step at commit 61479ef (the same command with --config.train.num_steps=30, three fresh
workdirs, one cache folder, alone): 1.55 s with an empty cache, then 0.19 and 0.13 s (the steps
kept on disk, textcls_jax/step_cache.py).

Variant `pretrained`.
Commands:
  python -m textcls_jax.main --config=configs/pretrain_cnn.py --workdir=runs/pretrain_cnn
  python -m textcls_jax.main --config=configs/sst2_cnn.py:pretrained \
      --workdir=runs/sst2_cnn_pretrained --config.data.source=tsv:../shared/data/sst2
Result (2026-11-29, seed 0, commit d5fa7cd):
SST-2 dev accuracy 0.834 (macro-F1 0.833) at step 4,000 in 5.6 minutes (cores shared), after
configs/pretrain_cnn.py (3,000 steps). Dev on the way: 0.796 @500, 0.833 @1000, 0.842 @1500,
0.834 @2000, 0.848 @2500, 0.838 @3000.
Seeds 1 and 2 (--config.seed=N, 2026-11-29, commit b75abbd): 0.842 and 0.833; mean of seeds 0-2
0.836, against 0.824 from scratch.
"""

from textcls_jax import config_base

VARIANTS = ('', 'pretrained')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.train.num_steps = 4000
  c.optim.learning_rate = 1e-3
  if variant == 'pretrained':
    c.init_from = 'runs/pretrain_cnn'  # Brings the encoder and its tokenizer.
  return c
