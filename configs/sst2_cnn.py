"""SST-2 sentiment, cnn encoder: from scratch, or (variant `pretrained`) initialized from MLM
pretraining (configs/pretrain_cnn.py) with the same model and fine-tuning budget.

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_cnn.py \
      --workdir=runs/sst2_cnn
The same data from local TSV files (one override; the command behind the results):
  python -m textcls_jax.main --config=configs/sst2_cnn.py --workdir=runs/sst2_cnn \
      --config.data.source=tsv:../shared/data/sst2
Variant `pretrained`, after its pretraining run:
  python -m textcls_jax.main --config=configs/pretrain_cnn.py --workdir=runs/pretrain_cnn
  python -m textcls_jax.main --config=configs/sst2_cnn.py:pretrained \
      --workdir=runs/sst2_cnn_pretrained --config.data.source=tsv:../shared/data/sst2
Other seeds: --config.seed=N.

Result: results/sst2_cnn/default.json and pretrained.json (SST-2 dev accuracy at the final step,
one figure per seed), tabulated in docs/results/runs.md. Dev also chose these recipes; the held-out
comparison of the twins is configs/sentence_families.py's cnn_sst2 and cnn_sst2_pretrained rows.
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
