"""Task-adaptive pretraining (Gururangan et al., 2020; ULMFiT's second stage): a pretrained
encoder's MLM continued on the training texts of the dataset it is about to be fine-tuned on,
labels unread.

Variant FAMILY_DATASET_START continues runs/pretrain_FAMILY_START
(configs/pretrain_FAMILY.py:START, encoder and MLM head) on the texts of DATASET's training split
exactly as configs/sentence_families.py:FAMILY_DATASET makes it (data.corpus_sources 'task:train':
the held-out test split is never read, and dev is read only for perplexity, 'task:dev'), with
MLM's masking, 1,000 steps of 64 windows of 64 tokens (about 23 passes over SST-2 sentences'
training text, ULMFiT and Gururangan's many epochs) at a third of the pretraining's learning rate.
The fine-tuning row FAMILY_DATASET_START_tapt of configs/sentence_families.py starts from it. On
MR, a cross-validation dataset, each fold's training text is another corpus: one run per fold
(data.cv_fold) in runs/tapt/FAMILY_mr_START/foldK, and the fine-tuning row starts each fold from
its own run.

Commands:
  python -m textcls_jax.main --config=configs/tapt.py:rnn_sst2_imdb \
      --workdir=runs/tapt/rnn_sst2_imdb
  python -m textcls_jax.reproduce --config=configs/sentence_families.py:rnn_sst2_imdb_tapt \
      --workdir=runs/sentence_families/rnn_sst2_imdb_tapt
MR: one run for each fold K that configs/sentence_families.py runs (0, 1 and 2), then the row:
  python -m textcls_jax.main --config=configs/tapt.py:transformer_mr_imdb --config.data.cv_fold=K \
      --workdir=runs/tapt/transformer_mr_imdb/foldK

Result: results/tapt/<variant>.json (perplexity on the dev text), tabulated in
docs/results/runs.md; the fine-tuned rows in results/sentence_families/*_imdb_tapt.json.
"""

from textcls_jax import config_base

VARIANTS = ('cnn_trec_imdb', 'cnn_sst1_imdb', 'cnn_sst2_imdb', 'cnn_mr_imdb',
            'rnn_trec_imdb', 'rnn_sst1_imdb', 'rnn_sst2_imdb', 'rnn_mr_imdb',
            'transformer_trec_imdb', 'transformer_sst1_imdb', 'transformer_sst2_imdb',
            'transformer_mr_imdb',
            )  # Spelled out for tests/conftest.py, which reads them without importing the file.
NUM_STEPS = 1000


def get_config(variant: str = 'rnn_sst2_imdb'):
  config_base.check_variant(__file__, variant, VARIANTS)
  family, dataset, *start = variant.split('_')
  model = getattr(config_base, f'{family}_model')()
  if family == 'transformer':  # configs/pretrain_transformer.py's encoder.
    model.embed_norm = True
  c = config_base.pretraining_config(model, num_steps=NUM_STEPS)
  # The labelled data and its splits as the fine-tuning row makes them; training stays MLM's.
  train, checkpoint, evaluation = c.train.to_dict(), c.checkpoint.to_dict(), c.eval.to_dict()
  config_base.sentence_benchmark(c, dataset, epochs=1)
  c.train.update(train)
  c.checkpoint.update(checkpoint)
  c.eval.update(evaluation)
  c.data.corpus_sources = ('task:train',)
  c.data.corpus_weights = (1.0,)
  c.data.corpus_eval = 'task:dev'
  c.train.eval_every_steps = 250
  c.checkpoint.every_steps = 250
  c.optim.learning_rate = 3e-4
  c.optim.warmup_steps = 100
  c.init_from = f'runs/pretrain_{family}_' + '_'.join(start)
  return c
