"""Each encoder family on four of Kim's (2014) datasets, from scratch and fine-tuned from its MLM
pretraining, judged on data no decision looks at (the held-out folds of MR; the test split held out
of TREC, SST-1 and SST-2 sentences).

Variants FAMILY_DATASET and FAMILY_DATASET_pretrained: FAMILY cnn, rnn or transformer, DATASET mr,
trec, sst1 or sst2 (config_base.SENTENCE_BENCHMARKS has their files and splits). Each family's
model and learning rates are those of its configs/sst2_FAMILY.py (the Transformer twins both take
the pretrained one's architecture); a twin pair differs in where the encoder starts, the tokenizer
the pretraining run brings and, as there, the Transformer's learning rate, and has the same
fine-tuning budget. MR runs folds 0-2 of its 10 (reproduce.folds), the others their 3 seeds.

Commands (one row each; a pretrained row first needs its pretraining workdir):
  python -m textcls_jax.main --config=configs/pretrain_rnn.py --workdir=runs/pretrain_rnn
  python -m textcls_jax.reproduce --config=configs/sentence_families.py:rnn_mr \
      --workdir=runs/sentence_families/rnn_mr
  python -m textcls_jax.reproduce --config=configs/sentence_families.py:rnn_mr_pretrained \
      --workdir=runs/sentence_families/rnn_mr_pretrained

Results: not run yet.
"""

from textcls_jax import config_base

FAMILIES = ('cnn', 'rnn', 'transformer')
DATASETS = ('mr', 'trec', 'sst1', 'sst2')
VARIANTS = (
    'cnn_mr', 'cnn_trec', 'cnn_sst1', 'cnn_sst2',
    'cnn_mr_pretrained', 'cnn_trec_pretrained', 'cnn_sst1_pretrained', 'cnn_sst2_pretrained',
    'rnn_mr', 'rnn_trec', 'rnn_sst1', 'rnn_sst2',
    'rnn_mr_pretrained', 'rnn_trec_pretrained', 'rnn_sst1_pretrained', 'rnn_sst2_pretrained',
    'transformer_mr', 'transformer_trec', 'transformer_sst1', 'transformer_sst2',
    'transformer_mr_pretrained', 'transformer_trec_pretrained', 'transformer_sst1_pretrained',
    'transformer_sst2_pretrained',
)  # Spelled out for tests/conftest.py, which reads them without importing the file.
# Epochs of fine-tuning (dev picks the epoch): the slower families get fewer, and pretrained
# encoders peak early.
EPOCHS = {'cnn': 10, 'rnn': 6, 'transformer': 5}


def get_config(variant: str = 'cnn_mr'):
  config_base.check_variant(__file__, variant, VARIANTS)
  family, dataset, *pretrained = variant.split('_')
  c = config_base.base_config()
  c.model = getattr(config_base, f'{family}_model')()
  config_base.sentence_benchmark(c, dataset, EPOCHS[family])
  c.reproduce.folds = (0, 1, 2) if c.data.cv_folds else ()
  c.optim.warmup_steps = 100
  c.optim.learning_rate = {'cnn': 1e-3, 'rnn': 2e-3, 'transformer': 5e-4}[family]
  if family == 'transformer':
    # The pretrained encoder's architecture (configs/pretrain_transformer.py), in both twins.
    c.model.embed_norm = True
    c.model.pooling = 'max'
  if pretrained:
    c.init_from = f'runs/pretrain_{family}'  # Brings the encoder and its tokenizer.
    if family == 'transformer':
      c.optim.learning_rate = 3e-4  # As configs/sst2_transformer.py:pretrained.
  return c
