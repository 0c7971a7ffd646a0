"""SST-2 sentiment, rnn encoder: from scratch, or (variant `pretrained`) initialized from MLM
pretraining (configs/pretrain_rnn.py) with the same model and fine-tuning budget.

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_rnn.py \
      --workdir=runs/sst2_rnn
The same data from local TSV files (one override; the command behind the results):
  python -m textcls_jax.main --config=configs/sst2_rnn.py --workdir=runs/sst2_rnn \
      --config.data.source=tsv:../shared/data/sst2
Variant `pretrained`, after its pretraining run:
  python -m textcls_jax.main --config=configs/pretrain_rnn.py --workdir=runs/pretrain_rnn
  python -m textcls_jax.main --config=configs/sst2_rnn.py:pretrained \
      --workdir=runs/sst2_rnn_pretrained --config.data.source=tsv:../shared/data/sst2
Other seeds: --config.seed=N.

Result: results/sst2_rnn/default.json and pretrained.json (SST-2 dev accuracy at the final step,
one figure per seed), tabulated in docs/results/runs.md. Dev also chose these recipes; the held-out
comparison of the twins is configs/sentence_families.py's rnn_sst2 and rnn_sst2_pretrained rows.
"""

from textcls_jax import config_base

VARIANTS = ('', 'pretrained')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  c = config_base.base_config()
  c.model = config_base.rnn_model()
  c.train.num_steps = 2000
  c.optim.learning_rate = 2e-3
  if variant == 'pretrained':
    c.init_from = 'runs/pretrain_rnn'  # Brings the encoder and its tokenizer.
  return c
