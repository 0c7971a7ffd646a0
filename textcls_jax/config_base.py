"""The keys every experiment config has, with their defaults. `configs/*.py` start from here."""

from __future__ import annotations

import importlib.util
import os

import ml_collections


def config_file(spec: str) -> ml_collections.ConfigDict:
  """get_config() of a config file, `PATH` or `PATH:ARG` (then get_config(ARG)), as --config reads
  it: the one loader, also used by a config that starts from another (e.g. a fine-tuning run from
  the from-scratch config of the same model)."""
  path, _, arg = spec.partition(':')
  loader = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
  if loader is None:
    raise FileNotFoundError(f'config file {path} not found')
  module = importlib.util.module_from_spec(loader)
  loader.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


class VariantError(ValueError):
  """--config=PATH:VARIANT names a variant that the config does not define."""


def check_variant(config_path: str, variant: str, variants: tuple[str, ...]) -> None:
  """Refuses a `--config=PATH:VARIANT` that the config does not define, naming the ones it does.

  A config derives a variant of itself big_vision-style, in its own get_config(variant): the
  derived run stays beside the run it derives from, and nothing is loaded by file path.
  """
  if variant not in variants:
    known = ', '.join(repr(v) for v in variants)
    name = os.path.join(os.path.basename(os.path.dirname(config_path)), os.path.basename(config_path))
    raise VariantError(f'{name}: no variant {variant!r}; it has {known} (PATH:VARIANT)')


# The pretraining objectives: a masked language model, and ELECTRA's replaced-token detection.
PRETRAINING_TASKS = ('mlm', 'rtd')
# Word vectors for the encoder's token embedding (textcls_jax/word2vec.py, gensim's word2vec).
WORD_VECTORS_TASK = 'word2vec'
# The tasks that read an unlabeled corpus (data.corpus_sources).
CORPUS_TASKS = PRETRAINING_TASKS + (WORD_VECTORS_TASK,)
# In init_from: the fold of the run, filled in by textcls_jax.reproduce (a workdir per fold, for a
# pretraining that read only that fold's training text).
FOLD_FIELD = '{fold}'


def base_config() -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict()
  c.seed = 0
  # 'classify', or a pretraining objective: 'mlm' (masked language model) or 'rtd' (ELECTRA's
  # replaced-token detection: a small MLM generator proposes tokens, the encoder spots them), or
  # 'word2vec' (skip-gram word vectors for the token embedding alone).
  c.task = 'classify'
  c.init_from = ''  # A pretraining workdir: its encoder and tokenizer start this run.
  # JAX's persistent compilation cache: a folder, 'off', or '' for $TEXTCLS_JAX_COMPILATION_CACHE,
  # else ~/.cache/textcls-jax/jax (textcls_jax/compile_cache.py).
  c.compilation_cache = ''

  c.data = ml_collections.ConfigDict()
  c.data.source = 'tfds:glue/sst2'  # KIND:LOCATION, see textcls_jax/data/sources.py.
  c.data.train_split = 'train'
  c.data.eval_split = 'validation'  # '' carves a dev split from train (dev_fraction, split_seed).
  c.data.text_field = 'sentence'  # 'title+description' joins columns (or JSON fields) ...
  c.data.text_join = ' '  # ... with this between them.
  c.data.label_field = 'label'
  # CSV/TSV: the first row names the columns; False: no header row, columns named by position
  # from 0 (text_field='1+2', label_field='0').
  c.data.header = True
  # Integer labels' class names, in index order, given here or in a file of one name a line (AG
  # News' classes.txt); label_index_base is the label of the first name (AG News: 1).
  c.data.label_names = ()
  c.data.label_names_file = ''
  c.data.label_index_base = 0
  c.data.tfds_data_dir = ''  # '' uses TFDS_DATA_DIR or TFDS's default.
  c.data.encoding = 'utf-8'
  c.data.dev_fraction = 0.1
  c.data.split_seed = 0  # Seeds every split carved here: dev, test and cross-validation folds.
  # A test split no decision looks at, evaluated once, at the end, on the checkpoint dev chose:
  # cv_folds=k >= 2 deals train_split into k folds (stratified by label) and holds out fold
  # cv_fold; or test_fraction > 0 holds out that share of train_split (stratified). The dev split
  # (eval_split, or carved from what is left) still makes every decision.
  c.data.cv_folds = 0
  c.data.cv_fold = 0
  c.data.test_fraction = 0.0
  c.data.max_len = 64  # Tokens, [CLS] included; longer texts are truncated.
  c.data.length_buckets = (8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512)
  c.data.sort_window_batches = 16  # Batch texts of like length together (1: plain shuffle).

  # Pretraining (task 'mlm' or 'rtd'): unlabeled sources 'KIND:LOCATION[@split]', mixed by weight;
  # 'task:train' / 'task:dev' read the texts of data.source's own splits (its test split never).
  c.data.corpus_sources = ()
  c.data.corpus_weights = ()  # () weighs the sources equally.
  c.data.corpus_eval = ''  # Held-out text ('task:dev' too); '' holds out dev_fraction of the
  # first source's tail.
  c.data.corpus_max_chars = 0  # Per source; 0 reads all of it.
  c.data.seq_len = 128

  c.mlm = ml_collections.ConfigDict()
  c.mlm.rate = 0.15
  c.mlm.mask_fraction = 0.8  # Of the picked tokens: replaced by [MASK] ...
  c.mlm.random_fraction = 0.1  # ... by a random token; the rest stay as they are.

  # Task 'rtd' masks with the mlm keys above (ELECTRA: rate 0.15, mask_fraction 0.85, random 0).
  c.rtd = ml_collections.ConfigDict()
  c.rtd.generator_size = 0.25  # The generator's width (Transformer: depth, MLP) x this.
  # ELECTRA's lambda: loss = generator CE (mean over masked positions) + this x discriminator
  # BCE (mean over tokens). Computed over the batch's masked positions as its one count, the
  # token term weighing rate x this, which is exact when the batch masks `rate` of its tokens.
  c.rtd.discriminator_weight = 50.0
  c.rtd.temperature = 1.0  # Of the generator's samples.

  # Task 'word2vec' (textcls_jax/word2vec.py): skip-gram with negative sampling over the corpus's
  # pieces, as wide as the model's token embedding; each source read once an epoch.
  c.word2vec = ml_collections.ConfigDict()
  c.word2vec.window = 5  # Context pieces each side (word2vec samples a window up to this).
  c.word2vec.negatives = 5  # Noise pieces per pair, drawn from the unigram counts ^ 0.75.
  c.word2vec.sample = 1e-4  # Frequent pieces are skipped, as word2vec's `sample` says.
  c.word2vec.epochs = 5
  c.word2vec.learning_rate = 0.025  # SGD's, decayed linearly to 1e-4 of it.
  c.word2vec.threads = 1  # 1 makes the vectors reproducible; more are faster and are not.

  c.finetune = ml_collections.ConfigDict()
  c.finetune.freeze_encoder_steps = 0  # Train only the new head for this many steps.
  c.finetune.layer_decay = 1.0  # Transformer: learning rate x layer_decay^(depth from the top).

  c.tokenizer = ml_collections.ConfigDict()
  c.tokenizer.model_path = ''  # '' trains one on the training texts and saves it in the workdir.
  c.tokenizer.vocab_size = 8000
  c.tokenizer.max_chars = 20_000_000
  c.tokenizer.model_type = 'unigram'  # SentencePiece's: 'unigram', 'bpe', 'word' or 'char'.
  c.tokenizer.seed = 0
  c.tokenizer.normalization = 'nmt_nfkc'  # 'nmt_nfkc_cf' also folds case.

  c.optim = ml_collections.ConfigDict()
  c.optim.learning_rate = 1e-3
  c.optim.schedule = 'cosine'
  c.optim.warmup_steps = 200
  c.optim.weight_decay = 0.01
  c.optim.b1 = 0.9
  c.optim.b2 = 0.999
  c.optim.eps = 1e-8
  c.optim.grad_clip_norm = 1.0
  c.optim.no_decay_regex = r'(bias|scale|pos_embed)$'  # Paths 'encoder/block_0/ln_attn/scale'.
  # > 0: after each update, the columns of the kernels matching max_norm_regex are rescaled to an
  # L2 norm of at most this (Kim 2014 constrains the output layer's weight vectors to 3).
  c.optim.max_norm = 0.0
  c.optim.max_norm_regex = r'^head/out/kernel$'

  c.parallel = ml_collections.ConfigDict()
  c.parallel.mode = 'jit'  # 'jit' over a device mesh, or 'pmap'; both data-parallel.

  c.train = ml_collections.ConfigDict()
  c.train.batch_size = 64  # Global: split over all devices of all hosts.
  c.train.num_steps = 2000
  c.train.log_every_steps = 100
  c.train.eval_every_steps = 500
  # A NaN/Inf loss or gradient is never applied; then 'stop' (an error naming the step) or 'skip'
  # (go on, counting skipped steps in the log and metrics).
  c.train.on_nonfinite = 'stop'
  # Micro-batches per update: each device's rows are split into this many, run one after another
  # and their gradients summed (a large batch on a small device).
  c.train.grad_accum_steps = 1
  c.train.plots = True  # At the end: WORKDIR/plots/curves.png and confusion.png (textcls_jax/plot.py).

  c.eval = ml_collections.ConfigDict()
  c.eval.batch_size = 256  # Global, like train.batch_size.
  c.eval.max_batches = 50  # MLM: held-out windows evaluated (batches of eval.batch_size).

  c.reproduce = ml_collections.ConfigDict()
  c.reproduce.seeds = (0,)  # python -m textcls_jax.reproduce: a run per seed (and per CV fold).
  # Published or baseline figures the row is read against, shown beside it in the runner's tables
  # (e.g. 'Kim CNN-rand 76.1; TF-IDF + LR 78.0'); text only, nothing checks a run against it.
  c.reproduce.reference = ''
  # With data.cv_folds: the folds the runner runs (() = all). A row that cannot afford all of them
  # runs some, and its table says how many.
  c.reproduce.folds = ()

  c.checkpoint = ml_collections.ConfigDict()
  c.checkpoint.every_steps = 500
  c.checkpoint.max_to_keep = 2
  c.checkpoint.best_metric = 'accuracy'  # A dev figure; '' keeps only the latest.
  c.checkpoint.best_mode = 'max'
  # A latest checkpoint that fails its checksum or cannot be read: 'fallback' to the newest good one
  # (with a warning; the bad one is moved aside), or 'error'.
  c.checkpoint.on_corrupt = 'fallback'
  return c


def rnn_model() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name='rnn', embed_dim=256, hidden_dim=256, num_layers=1, cell='lstm', bidirectional=True,
      dropout=0.3, pooling='max', dtype='float32', head_hidden_dim=0, head_dropout=0.3))


def cnn_model() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name='cnn', embed_dim=256, filter_widths=(3, 4, 5), num_filters=100, num_layers=1,
      dropout=0.5, pooling='max', dtype='float32', head_hidden_dim=0, head_dropout=0.5))


def transformer_model() -> ml_collections.ConfigDict:
  return ml_collections.ConfigDict(dict(
      name='transformer', hidden_dim=256, num_layers=4, num_heads=4, mlp_dim=1024, max_len=128,
      dropout=0.1, attention_dropout=0.1, pooling='cls', embed_norm=False, dtype='float32',
      head_hidden_dim=0, head_dropout=0.1))


def pretraining_config(model: ml_collections.ConfigDict, num_steps: int,
                       data_dir: str = '../shared/data') -> ml_collections.ConfigDict:
  """MLM pretraining on IMDB's unlabeled reviews and Gutenberg books, half and half, with held-out
  Gutenberg books for perplexity; case-folded SentencePiece (SST-2 text is lowercased)."""
  c = base_config()
  c.task = 'mlm'
  c.model = model
  c.data.corpus_sources = (f'jsonl:{data_dir}/imdb/unsup.jsonl.gz',
                           f'text:{data_dir}/gutenberg_en/train.txt.gz')
  c.data.corpus_weights = (0.5, 0.5)
  c.data.corpus_eval = f'text:{data_dir}/gutenberg_en/valid.txt.gz'
  c.data.text_field = 'text'
  c.data.seq_len = 64  # SST-2 sentences are short; 64 tokens hold several of them.
  c.tokenizer.normalization = 'nmt_nfkc_cf'
  c.train.batch_size = 64
  c.train.num_steps = num_steps
  c.train.log_every_steps = 100
  c.train.eval_every_steps = 1000
  c.eval.batch_size = 64
  c.eval.max_batches = 20
  c.checkpoint.every_steps = 500
  c.checkpoint.best_metric = 'loss'
  c.checkpoint.best_mode = 'min'
  c.optim.learning_rate = 1e-3
  c.optim.warmup_steps = num_steps // 10
  return c


def movie_review_corpus(c: ml_collections.ConfigDict,
                        data_dir: str = '../shared/data') -> ml_collections.ConfigDict:
  """Points a pretraining config at in-domain text for SST, MR and the other review datasets:
  IMDB's 50k unlabeled movie reviews alone, with held-out perplexity on the text of IMDB's 25k
  labelled training reviews (their labels unread; the two sets are disjoint)."""
  c.data.corpus_sources = (f'jsonl:{data_dir}/imdb/unsup.jsonl.gz',)
  c.data.corpus_weights = (1.0,)
  c.data.corpus_eval = f'jsonl:{data_dir}/imdb/train.jsonl.gz'
  return c


def word_vectors(c: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
  """Turns a pretraining config into word2vec (task 'word2vec') on the same corpus and tokenizer:
  skip-gram vectors for its encoder's token embedding alone, written once at the end (no
  checkpoints to rank)."""
  c.task = WORD_VECTORS_TASK
  c.checkpoint.best_metric = ''
  return c


def replaced_token_detection(c: ml_collections.ConfigDict,
                             generator_size: float) -> ml_collections.ConfigDict:
  """Turns a pretraining config into ELECTRA's objective (task 'rtd') with its masking: 15% of
  the tokens picked, 85% of those shown to the generator as [MASK] and the rest as themselves."""
  c.task = 'rtd'
  c.mlm.mask_fraction = 0.85
  c.mlm.random_fraction = 0.0
  c.rtd.generator_size = generator_size
  return c


# The sentence-classification benchmarks of Kim (2014), Table 2, as the files in ../shared/data
# hold them: (source under data_dir, text field, label field, eval split ('' carves dev from
# train), cross-validation folds (0: a fixed split, with 10% of train held out as the test split),
# steps per epoch at a batch of 50, the published and baseline figures the row is read against).
SENTENCE_BENCHMARKS = {
    'mr': ('tsv:{}/mr/mr.tsv', 'text', 'label', '', 10, 173,
           'Kim CNN-rand 76.1, CNN-static 81.0; TF-IDF + LR 78.0'),
    'subj': ('tsv:{}/subj/subj.tsv', 'text', 'label', '', 10, 162,
             'Kim CNN-rand 89.6, CNN-static 93.0; TF-IDF + LR 90.6'),
    'cr': ('tsv:{}/cr/cr.tsv', 'text', 'label', '', 10, 61,
           'Kim CNN-rand 79.8, CNN-static 84.7; TF-IDF + LR 80.4'),
    'mpqa': ('tsv:{}/mpqa/mpqa.tsv', 'text', 'label', '', 10, 172,
             'Kim CNN-rand 83.4, CNN-static 89.6; TF-IDF + LR 85.7'),
    'sst1': ('tsv:{}/sst5', 'text', 'label', 'dev', 0, 154,
             'Kim CNN-rand 45.0, CNN-static 45.5 (SST test)'),
    'sst2': ('tsv:{}/sst2_sentences', 'text', 'label', 'dev', 0, 125,
             'Kim CNN-rand 82.7, CNN-static 86.8 (SST test)'),
    'trec': ('tsv:{}/trec/trec_train.tsv', 'text', 'coarse', '', 0, 88,
             'Kim CNN-rand 91.2, CNN-static 92.8 (TREC test)'),
}


def sentence_benchmark(c: ml_collections.ConfigDict, name: str, epochs: int, min_steps: int = 0,
                       data_dir: str = '../shared/data') -> ml_collections.ConfigDict:
  """Points c at one of SENTENCE_BENCHMARKS with its splits (10-fold CV on MR, SUBJ, CR and MPQA; a
  held-out 10% test split and 3 seeds on the others) and trains `epochs` epochs at a batch of 50
  (more on a small dataset, to reach min_steps), evaluating and saving each epoch so that dev
  chooses the checkpoint (early stopping)."""
  source, text_field, label_field, eval_split, folds, epoch, reference = SENTENCE_BENCHMARKS[name]
  c.data.source = source.format(data_dir)
  c.data.text_field = text_field
  c.data.label_field = label_field
  c.data.eval_split = eval_split
  c.data.cv_folds = folds
  c.data.test_fraction = 0.0 if folds else 0.1
  c.data.max_len = 64
  c.reproduce.seeds = (0,) if folds else (0, 1, 2)
  c.reproduce.reference = reference
  c.train.batch_size = 50
  c.train.num_steps = max(epochs, -(-min_steps // epoch)) * epoch
  c.train.log_every_steps = epoch
  c.train.eval_every_steps = epoch
  c.checkpoint.every_steps = epoch
  c.eval.batch_size = 250
  return c
