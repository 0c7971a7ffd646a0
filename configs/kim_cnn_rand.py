"""Kim (2014), Table 2, CNN-rand, and Kim's CNN-static column answered with our own word vectors.

Variants: DATASET (mr, subj, cr, mpqa, sst1, sst2, trec; config_base.SENTENCE_BENCHMARKS has
their files and splits) is CNN-rand; DATASET_word2vec starts the token embedding from
configs/word2vec.py's vectors (runs/word2vec), skip-gram on IMDB's unlabeled reviews where Kim's
read news.

Command (one row; the runner makes one workdir per fold and seed, and its table):
  python -m textcls_jax.reproduce --config=configs/kim_cnn_rand.py:mr \
      --workdir=runs/kim_cnn_rand/mr
The whole table, once every row has run:
  python -m textcls_jax.reproduce --rows=runs/kim_cnn_rand/mr,runs/kim_cnn_rand/sst1,... \
      --out=runs/kim_cnn_rand/table.md
A _word2vec row, the vectors first (once):
  python -m textcls_jax.main --config=configs/word2vec.py --workdir=runs/word2vec
  python -m textcls_jax.reproduce --config=configs/kim_cnn_rand.py:mr_word2vec \
      --workdir=runs/kim_cnn_rand/mr_word2vec

Splits. MR, SUBJ, CR and MPQA have none: 10-fold cross-validation, stratified (data.split_seed 0),
each fold's dev split (10%, for early stopping) carved from its nine training folds, and the
held-out fold reported. SST-1 (`sst5`) and SST-2 (`sst2_sentences`, the sentence-level split) keep
their dev split and hold out 10% of train as a test split; TREC (train file only here) holds out
10% as test and carves dev from the rest. Three seeds on those. Dev chooses the checkpoint (the
best epoch); the test split is evaluated once, on it.

Kim's recipe (widths 3, 4, 5 x 100 filters, ReLU, max-pool over time, dropout 0.5, mini-batches of
50, 300-d embeddings learned from random, max-norm 3 on the output layer's weight vectors), except:
AdamW (learning rate 1e-3, warmup 100 steps, cosine decay, weight decay 0.01, clipping at 1) for
Adadelta, the project's one optimizer; SentencePiece unigram pieces (up to 16,000, trained on the
training folds) for Kim's cleaned words, the project's one tokenizer; 6 epochs, or as many as make
900 steps on a small dataset, with early stopping, where Kim ran 25. The _word2vec rows: the
embedding 256 wide (the vectors' width) over the vectors' own pieces, learning at a tenth of the
other weights' rate (finetune.layer_decay 0.1), between Kim's static and non-static channels.

Result: results/kim_cnn_rand/<variant>.json, tabulated in docs/results/reproduction.md.
"""

from textcls_jax import config_base

# config_base.SENTENCE_BENCHMARKS' keys, and each from our word vectors; spelled out for
# tests/conftest.py, which reads them without importing the file.
VARIANTS = ('mr', 'subj', 'cr', 'mpqa', 'sst1', 'sst2', 'trec',
            'mr_word2vec', 'subj_word2vec', 'cr_word2vec', 'mpqa_word2vec', 'sst1_word2vec',
            'sst2_word2vec', 'trec_word2vec')
EPOCHS = 6  # Dev peaked at epoch 3 in 7 of MR's 10 folds with 10 epochs (5daa8e1).
MIN_STEPS = 900  # CR's dev still rose at the last of 6 epochs (366 steps) in 7 of 10 folds.


def get_config(variant: str = 'mr'):
  config_base.check_variant(__file__, variant, VARIANTS)
  dataset, _, start = variant.partition('_')
  c = config_base.base_config()
  c.model = config_base.cnn_model()
  c.model.embed_dim = 300
  config_base.sentence_benchmark(c, dataset, EPOCHS, MIN_STEPS)
  c.optim.learning_rate = 1e-3
  c.optim.warmup_steps = 100
  c.optim.max_norm = 3.0  # Kim's constraint on the output layer's weight vectors.
  c.tokenizer.vocab_size = 16_000
  if start == 'word2vec':  # configs/word2vec.py's vectors start the embedding (docstring).
    c.model.embed_dim = 256
    c.init_from = 'runs/word2vec'
    c.finetune.layer_decay = 0.1
  return c
