"""SST-2 sentiment, transformer encoder: from scratch, or (variant `pretrained`) initialized from
MLM pretraining (configs/pretrain_transformer.py) with the same fine-tuning budget (1,500 steps of
64).

Command (TFDS glue/sst2, offline here with the prepared copy):
  TFDS_DATA_DIR=../shared/tfds python -m textcls_jax.main --config=configs/sst2_transformer.py \
      --workdir=runs/sst2_transformer
The same data from local TSV files (one override; the command behind the results):
  python -m textcls_jax.main --config=configs/sst2_transformer.py --workdir=runs/sst2_transformer \
      --config.data.source=tsv:../shared/data/sst2

Variant `pretrained`: three changes to the model and recipe. A LayerNorm on the summed embeddings
(model.embed_norm, as pretrained; it lets the MLM learn faster), max pooling over the token states
instead of [CLS] (the [CLS] state is never a masked-token prediction while pretraining, so the MLM
trains it least; the CNN and the RNN max-pool too), and a lower peak learning rate (3e-4 instead of
5e-4), which keeps more of the pretrained encoder.
Commands:
  python -m textcls_jax.main --config=configs/pretrain_transformer.py \
      --workdir=runs/pretrain_transformer
  python -m textcls_jax.main --config=configs/sst2_transformer.py:pretrained \
      --workdir=runs/sst2_transformer_pretrained --config.data.source=tsv:../shared/data/sst2
Other seeds: --config.seed=N.

Result: results/sst2_transformer/default.json and pretrained.json (SST-2 dev accuracy at the final
step, one figure per seed; the from-scratch probes with the pretrained variant's head are in
pretrained.json's notes), tabulated in docs/results/runs.md. Dev also chose these recipes; the
held-out comparison is configs/sentence_families.py's transformer_sst2 and _pretrained rows.
"""

from textcls_jax import config_base

VARIANTS = ('', 'pretrained')


def get_config(variant: str = ''):
  config_base.check_variant(__file__, variant, VARIANTS)
  c = config_base.base_config()
  c.model = config_base.transformer_model()
  c.train.num_steps = 1500
  c.optim.learning_rate = 5e-4
  c.optim.warmup_steps = 300
  if variant == 'pretrained':
    c.init_from = 'runs/pretrain_transformer'  # Brings the encoder and its tokenizer.
    c.model.embed_norm = True  # As pretrained (configs/pretrain_transformer.py).
    c.model.pooling = 'max'
    c.optim.learning_rate = 3e-4
  return c
