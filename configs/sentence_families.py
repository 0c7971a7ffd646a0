"""Each encoder family on four of Kim's (2014) datasets, from scratch and from each pretraining,
judged on data no decision looks at (the held-out folds of MR; the test split held out of TREC,
SST-1 and SST-2 sentences).

Variants FAMILY_DATASET[_START]: FAMILY cnn, rnn or transformer; DATASET mr, trec, sst1 or sst2
(config_base.SENTENCE_BENCHMARKS has their files and splits); START where the encoder starts:
- none: from scratch;
- pretrained: configs/pretrain_FAMILY.py's MLM run (reviews and books), runs/pretrain_FAMILY;
- rtd, imdb, imdb_long, rtd_imdb, rtd_imdb_long (any VARIANT of configs/pretrain_FAMILY.py): that
  variant's run in runs/pretrain_FAMILY_VARIANT;
- imdb_tapt: configs/tapt.py:FAMILY_DATASET_imdb's run in runs/tapt/FAMILY_DATASET_imdb (on MR a
  run per fold, .../foldK, and each fold starts from its own);
- word2vec, word2vec_books: the token embedding alone, from configs/word2vec.py's vectors
  (runs/word2vec, runs/word2vec_books); the CNN's and BiLSTM's embedding then learns at a tenth of
  the rate (finetune.layer_decay 0.1), every other parameter starts fresh.
Each family's model and learning rates are those of its configs/sst2_FAMILY.py (the Transformer
twins both take the pretrained one's architecture, and a Transformer that starts from a pretraining
run learns at 3e-4, as configs/sst2_transformer.py:pretrained); a twin pair differs in where the
encoder starts and the tokenizer the pretraining run brings, and has the same fine-tuning budget.
MR runs folds 0-2 of its 10 (reproduce.folds), the others their 3 seeds.

Commands (one row each; a pretrained row first needs its pretraining workdir):
  python -m textcls_jax.main --config=configs/pretrain_rnn.py --workdir=runs/pretrain_rnn
  python -m textcls_jax.reproduce --config=configs/sentence_families.py:rnn_mr \
      --workdir=runs/sentence_families/rnn_mr
  python -m textcls_jax.reproduce --config=configs/sentence_families.py:rnn_mr_pretrained \
      --workdir=runs/sentence_families/rnn_mr_pretrained

Result: results/sentence_families/<variant>.json (a row that has not run has none), tabulated in
docs/results/reproduction.md, and against each family's scratch twin in
docs/results/pretraining.md.
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
    'cnn_mr_rtd', 'cnn_trec_rtd', 'cnn_sst1_rtd', 'cnn_sst2_rtd',
    'rnn_mr_rtd', 'rnn_trec_rtd', 'rnn_sst1_rtd', 'rnn_sst2_rtd',
    'transformer_mr_rtd', 'transformer_trec_rtd', 'transformer_sst1_rtd', 'transformer_sst2_rtd',
    'cnn_mr_imdb', 'cnn_trec_imdb', 'cnn_sst1_imdb', 'cnn_sst2_imdb',
    'rnn_mr_imdb', 'rnn_trec_imdb', 'rnn_sst1_imdb', 'rnn_sst2_imdb',
    'transformer_mr_imdb', 'transformer_trec_imdb', 'transformer_sst1_imdb', 'transformer_sst2_imdb',
    'cnn_mr_imdb_long', 'cnn_trec_imdb_long', 'cnn_sst1_imdb_long', 'cnn_sst2_imdb_long',
    'transformer_mr_rtd_imdb', 'transformer_trec_rtd_imdb', 'transformer_sst1_rtd_imdb',
    'transformer_sst2_rtd_imdb',
    'cnn_trec_imdb_tapt', 'cnn_sst1_imdb_tapt', 'cnn_sst2_imdb_tapt',
    'rnn_trec_imdb_tapt', 'rnn_sst1_imdb_tapt', 'rnn_sst2_imdb_tapt',
    'transformer_trec_imdb_tapt', 'transformer_sst1_imdb_tapt', 'transformer_sst2_imdb_tapt',
    'cnn_mr_imdb_tapt', 'rnn_mr_imdb_tapt', 'transformer_mr_imdb_tapt',
    'transformer_mr_imdb_long', 'transformer_trec_imdb_long', 'transformer_sst1_imdb_long',
    'transformer_sst2_imdb_long',
    'transformer_mr_rtd_imdb_long', 'transformer_trec_rtd_imdb_long',
    'transformer_sst1_rtd_imdb_long', 'transformer_sst2_rtd_imdb_long',
    'cnn_mr_word2vec', 'cnn_trec_word2vec', 'cnn_sst1_word2vec', 'cnn_sst2_word2vec',
    'rnn_mr_word2vec', 'rnn_trec_word2vec', 'rnn_sst1_word2vec', 'rnn_sst2_word2vec',
    'transformer_mr_word2vec', 'transformer_trec_word2vec', 'transformer_sst1_word2vec',
    'transformer_sst2_word2vec',
    'cnn_mr_word2vec_books', 'cnn_trec_word2vec_books', 'cnn_sst1_word2vec_books',
    'cnn_sst2_word2vec_books',
    'rnn_mr_word2vec_books', 'rnn_trec_word2vec_books', 'rnn_sst1_word2vec_books',
    'rnn_sst2_word2vec_books',
    'transformer_mr_word2vec_books', 'transformer_trec_word2vec_books',
    'transformer_sst1_word2vec_books', 'transformer_sst2_word2vec_books',
)  # Spelled out for tests/conftest.py, which reads them without importing the file.
# Epochs of fine-tuning (dev picks the epoch): the slower families get fewer, and pretrained
# encoders peak early.
EPOCHS = {'cnn': 10, 'rnn': 6, 'transformer': 5}


def get_config(variant: str = 'cnn_mr'):
  config_base.check_variant(__file__, variant, VARIANTS)
  # start: [] (scratch), ['pretrained'] or the pretraining variant's words, e.g. ['rtd', 'imdb'].
  family, dataset, *start = variant.split('_')
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
  if start[:1] == ['word2vec']:
    # configs/word2vec.py's vectors (runs/word2vec), or its :books variant's (runs/word2vec_books),
    # start the token embedding alone.
    c.init_from = 'runs/' + '_'.join(start)
    if family != 'transformer':
      # The embedding learns at a tenth of the rate, near Kim's CNN-static (SST-2 dev, docstring).
      c.finetune.layer_decay = 0.1
    return c
  if start:  # The MLM run of configs/pretrain_FAMILY.py, or the run of one of its variants.
    c.init_from = f'runs/pretrain_{family}' + ('' if start == ['pretrained'] else
                                                '_' + '_'.join(start))
    if start[-1] == 'tapt':  # configs/tapt.py's run on this dataset's own training text.
      c.init_from = f'runs/tapt/{family}_{dataset}_' + '_'.join(start[:-1])
      if c.data.cv_folds:  # Each fold's own run: its training text is another corpus.
        c.init_from += '/fold' + config_base.FOLD_FIELD
    if family == 'transformer':
      c.optim.learning_rate = 3e-4  # As configs/sst2_transformer.py:pretrained.
  return c
